"""The ``nova`` executor: carry out planned moves through Nova's compute API.

Nova does the migration (and its placement bookkeeping); this executor only
asks: ``os-migrateLive`` to the planned host, ``force_complete`` when a
migration must finish now, and the migration list to follow it. It speaks
compute API microversion 2.80 (``block_migration: auto`` needs 2.25, the
``instance_uuid`` filter of ``/os-migrations`` 2.59, and 2.68 removed
``force``).
"""

import requests

from nova_livemig import exception

MICROVERSION = '2.80'


class NovaExecutor:
    """A small client of the compute API.

    :param endpoint: compute API root, e.g. ``http://ctl:8774/v2.1``; with a
        session, None means the session's catalog entry for ``compute``
    :param token: a keystone token, when no session is given
    :param session: a :class:`keystoneauth1.session.Session` (or adapter)
        that authenticates each request itself
    :param headers: extra headers for every request
    :param timeout_s: per-request timeout, without a session
    """

    def __init__(self, endpoint=None, token=None, session=None, headers=None,
                 timeout_s=60):
        if session is None and not endpoint:
            raise exception.InvalidInput(
                'endpoint', endpoint, 'the compute API URL when no keystone '
                'session is given')
        self.endpoint = endpoint.rstrip('/') if endpoint else None
        self.session = session
        self.headers = {'OpenStack-API-Version': f'compute {MICROVERSION}',
                        'X-OpenStack-Nova-API-Version': MICROVERSION}
        if token:
            self.headers['X-Auth-Token'] = token
        self.headers.update(headers or {})
        self.timeout_s = timeout_s

    def _request(self, method, path, body=None):
        if self.session is not None:
            kwargs = {'endpoint_filter': {'service_type': 'compute'}}
            if self.endpoint:
                kwargs['endpoint_override'] = self.endpoint
            resp = self.session.request(path, method, json=body,
                                        headers=self.headers,
                                        raise_exc=False, **kwargs)
        else:
            resp = requests.request(method, self.endpoint + path, json=body,
                                    headers=self.headers,
                                    timeout=self.timeout_s)
        if resp.status_code >= 400:
            raise exception.MigrationFailed(
                f'{method} {path}: nova answered HTTP {resp.status_code}: '
                f'{resp.text[:500]}')
        return resp.json() if resp.content else None

    def live_migrate(self, vm_id, host, block_migration='auto'):
        """Start a live migration of server ``vm_id`` to ``host``
        (None lets nova's scheduler choose)."""
        self._request('POST', f'/servers/{vm_id}/action', {
            'os-migrateLive': {'host': host,
                               'block_migration': block_migration}})

    def force_complete(self, vm_id, migration_id):
        """Make a running live migration finish now (nova pauses the guest
        or switches to post-copy, as its config says)."""
        self._request('POST',
                      f'/servers/{vm_id}/migrations/{migration_id}/action',
                      {'force_complete': None})

    def list_migrations(self, vm_id):
        """Every migration of server ``vm_id``, newest first, as nova's
        ``/os-migrations`` returns them (dicts with ``id``, ``status``,
        ``source_compute``, ``dest_compute``, ``migration_type``...)."""
        return self._request(
            'GET', f'/os-migrations?instance_uuid={vm_id}')['migrations']
