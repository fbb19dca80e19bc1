"""``nova``: steps carried out by Nova through its compute API.

In a Nova cloud the conductor must not move VMs behind Nova's back:
placement allocations, port bindings and migration records would go
stale. This executor therefore only *asks* Nova, which migrates and keeps
its books:

* :meth:`NovaExecutor.start`: ``os-migrateLive`` to the planned host with
  ``block_migration: auto``. Nova's scheduler still validates the host
  (filters, placement); a refusal (HTTP 400 or 409) is raised as
  :class:`~nova_livemig.exception.StepRefused`, any other HTTP error as
  :class:`~nova_livemig.exception.MigrationFailed`.
* :meth:`NovaExecutor.job`: Nova's view as a JobStatus primitive: a live
  migration of the server in progress is ``running`` (progress from its
  ``memory_*_bytes``); none, and the server's host is the destination, is
  ``completed``; the server still on its source after a migration Nova
  marked ``failed`` or ``error`` is ``failed``, ``cancelled`` is
  ``aborted``.
* When the step's algorithm switches to post-copy (``postcopy`` at once,
  ``hybrid`` after the first pass over memory, any algorithm once
  ``postcopy_after_s`` has elapsed) :meth:`~NovaExecutor.job` asks for
  ``force_complete``, once per step. Nova switches the migration to
  post-copy when the source compute permits it (``[libvirt]
  live_migration_permit_post_copy = True``) and otherwise *pauses* the
  guest until the copy ends. The conductor asks ``job`` every
  ``[conductor] job_poll_interval_s`` while a step runs, so the switch
  comes up to that much later than planned.
* :meth:`NovaExecutor.abort`: ``DELETE`` of the migration in progress
  (Nova refuses once it runs in post-copy).

Bandwidth and downtime of the step are not passed to Nova, which takes
them from its own ``[libvirt]`` options. With an RPC transport (the
conductor passes one) and ``[nova] tune_via_agent``, :meth:`start` then
casts ``tune_migration`` to the nova-livemig agent of the source host,
which sets them on the libvirt job nova-compute runs and reports its
progress; the cast is best effort and :meth:`job` stays the authority.
The executor speaks compute API microversion
2.80 (``block_migration: auto`` needs 2.25, the ``instance_uuid`` filter of
``/os-migrations`` 2.59, and 2.68 removed ``force``); the account needs
Nova's admin policy. See ``doc/nova-executor.md``.
"""

import datetime

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import loading as ks_loading
from oslo_log import log as logging
import requests

from nova_livemig import exception
from nova_livemig import executors
from nova_livemig.agent import rpcapi

LOG = logging.getLogger(__name__)

MICROVERSION = '2.80'

#: statuses of a live migration Nova has not finished; Nova lists only
#: ``queued``..``post-migrating`` under ``/servers/{id}/migrations``
IN_PROGRESS = ('accepted', 'queued', 'preparing', 'running',
               'post-migrating', 'running (post-copy)')
FAILED = ('failed', 'error')
CANCELLED = ('cancelled',)


class NovaClient:
    """A small client of the compute API.

    :param endpoint: compute API root, e.g. ``http://ctl:8774/v2.1``; with a
        session, None means the session's catalog entry for ``compute``
    :param token: a keystone token, when no session is given
    :param session: a :class:`keystoneauth1.session.Session` (or adapter)
        that authenticates each request itself
    :param headers: extra headers for every request
    :param timeout_s: per-request timeout, without a session
    :param interface: catalog interface (``public``...), with a session
    :param region_name: catalog region, with a session
    """

    def __init__(self, endpoint=None, token=None, session=None, headers=None,
                 timeout_s=60, interface=None, region_name=None):
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
        self.endpoint_filter = {'service_type': 'compute'}
        if interface:
            self.endpoint_filter['interface'] = interface
        if region_name:
            self.endpoint_filter['region_name'] = region_name

    def _request(self, method, path, body=None):
        try:
            if self.session is not None:
                kwargs = {'endpoint_filter': self.endpoint_filter}
                if self.endpoint:
                    kwargs['endpoint_override'] = self.endpoint
                resp = self.session.request(path, method, json=body,
                                            headers=self.headers,
                                            raise_exc=False, **kwargs)
            else:
                resp = requests.request(method, self.endpoint + path,
                                        json=body, headers=self.headers,
                                        timeout=self.timeout_s)
        except (ks_exceptions.ClientException,
                requests.RequestException) as exc:
            raise exception.MigrationFailed(
                f'{method} {path}: nova could not be reached: {exc}') from exc
        if resp.status_code >= 400:
            err = exception.MigrationFailed(
                f'{method} {path}: nova answered HTTP {resp.status_code}: '
                f'{resp.text[:500]}')
            err.status_code = resp.status_code
            raise err
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

    def abort_migration(self, vm_id, migration_id):
        """Abort a live migration in progress."""
        self._request('DELETE',
                      f'/servers/{vm_id}/migrations/{migration_id}')

    def server(self, vm_id):
        """The server ``vm_id`` (with ``OS-EXT-SRV-ATTR:host`` for an
        admin)."""
        return self._request('GET', f'/servers/{vm_id}')['server']

    def migrations_in_progress(self, vm_id):
        """The live migrations of server ``vm_id`` nova lists as in
        progress, with their ``memory_*_bytes``."""
        return self._request(
            'GET', f'/servers/{vm_id}/migrations')['migrations']

    def list_migrations(self, vm_id):
        """Every migration of server ``vm_id``, newest first, as nova's
        ``/os-migrations`` returns them (dicts with ``id``, ``status``,
        ``source_compute``, ``dest_compute``, ``migration_type``...)."""
        return self._request(
            'GET', f'/os-migrations?instance_uuid={vm_id}')['migrations']


def _load_session(conf):
    """A keystoneauth1 session from the ``[nova]`` options."""
    group = 'nova'
    try:
        auth = ks_loading.load_auth_from_conf_options(conf, group)
    except ks_exceptions.NoMatchingPlugin as exc:
        raise exception.InvalidInput(
            f'[{group}] auth_type', conf[group].auth_type,
            'the name of an installed keystoneauth1 plugin, e.g. '
            'password') from exc
    except ks_exceptions.MissingRequiredOptions as exc:
        names = ', '.join(o.dest for o in exc.options)
        raise exception.InvalidInput(
            f'[{group}] {names}', None,
            f'a value (auth_type {conf[group].auth_type} needs it)') from exc
    if auth is None:
        raise exception.InvalidInput(
            f'[{group}] auth_type', None,
            'a keystoneauth1 plugin with its options, e.g. password with '
            'auth_url, username, password, project_name, user_domain_name '
            'and project_domain_name, for an account with nova\'s admin '
            'role')
    return ks_loading.load_session_from_conf_options(conf, group, auth=auth)


def _timestamp(value):
    """Seconds since the epoch of one of nova's UTC timestamps, or None."""
    if not value:
        return None
    when = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def _bytes(value):
    return value if isinstance(value, int) and value >= 0 else 0


#: HTTP statuses of ``os-migrateLive`` that mean nothing started and the
#: same request would be refused again (bad request, conflict)
REFUSALS = (400, 409)


class NovaExecutor(executors.Executor):
    """Live migrations through Nova's compute API (see the module).

    :param conf: the conductor's ConfigOpts, with the ``[nova]`` group
    :param transport: the RPC transport to the agents, for
        ``tune_migration`` (None: nothing is cast)
    :param session: a keystoneauth1 session to use instead of one built
        from ``[nova]`` (tests)
    :param clock: ``clock()`` -> seconds since the epoch
    :raises InvalidInput: when ``[nova]`` does not say how to authenticate
    """

    name = 'nova'
    job_is_authority = True
    unmeasured_stats = ('downtime_ms', 'iterations')

    def __init__(self, conf, transport=None, session=None, clock=None):
        super().__init__(conf, transport)
        group = conf.nova
        if session is None:
            session = _load_session(conf)
        self.client = NovaClient(endpoint=group.endpoint_override,
                                 session=session, interface=group.interface,
                                 region_name=group.region_name)
        self.clock = clock or (lambda: datetime.datetime.now(
            datetime.timezone.utc).timestamp())
        #: step id -> newest migration id of its VM before the step started
        self._before = {}
        #: step ids whose migration was forced to complete
        self._forced = set()
        #: step id -> last memory_processed_bytes seen
        self._processed = {}
        #: step ids whose migration was seen running in post-copy
        self._postcopy = set()
        #: step id -> seconds into its migration when force_complete was
        #: accepted
        self._forced_at_s = {}
        #: casts tune_migration to the source's agent, or None
        self.agent_api = None
        if transport is not None and group.tune_via_agent:
            self.agent_api = rpcapi.AgentAPI(transport)

    # The Executor API ------------------------------------------------------

    def start(self, step, fence=None):
        """:raises StepRefused: when nova refuses ``os-migrateLive``
        with HTTP 400 or 409 (no valid host, the server is busy): nothing
        started; the conductor re-plans, it never sends the same step
        again"""
        vm = step['vm']
        ids = [m['id'] for m in self.client.list_migrations(vm)]
        self._before[step['step_id']] = max(ids, default=0)
        try:
            self.client.live_migrate(vm, step['destination'])
        except exception.MigrationFailed as err:
            if getattr(err, 'status_code', None) in REFUSALS:
                raise exception.StepRefused(str(err)) from err
            raise
        if self.agent_api is not None:
            self._tune_via_agent(step)

    def abort(self, step):
        """:raises MigrationFailed: when nova has no migration of the VM in
        progress, or refuses (HTTP 400 once it runs in post-copy)"""
        running = self._in_progress(step)
        if running is None:
            raise exception.MigrationFailed(
                f'abort of step {step["step_id"]}: nova lists no live '
                f'migration of server {step["vm"]} in progress (it has '
                'ended, or not started yet)')
        self.client.abort_migration(step['vm'], running['id'])

    def job(self, step):
        vm = step['vm']
        running = self._in_progress(step)
        if running is not None:
            if self._switch_due(step, running):
                self._force_complete(step, running)
            return self._status(step, 'running',
                                progress=self._progress(step, running))
        server = self.client.server(vm)
        host = server.get('OS-EXT-SRV-ATTR:host')
        if not host:
            raise exception.MigrationFailed(
                f'GET /servers/{vm}: nova did not say where the server '
                'runs (OS-EXT-SRV-ATTR:host): the [nova] account needs '
                'nova\'s admin role')
        last = self._last_migration(step)
        if ((last is not None and last['status'] in IN_PROGRESS)
                or server.get('OS-EXT-STS:task_state') == 'migrating'):
            # accepted (scheduling), or in post-copy: nova lists neither
            # under /servers/{id}/migrations
            if last is not None and last['status'] == 'running (post-copy)':
                self._postcopy.add(step['step_id'])
                return self._status(step, 'running', progress=self._progress(
                    step, last, phase='postcopy'))
            return self._status(step, 'running')
        if host == step['destination']:
            return self._result(step, 'completed', host, last, None)
        if last is None:
            return self._status(step, 'unknown')
        where = (f'nova migration {last["id"]} '
                 f'({last.get("source_compute")} -> '
                 f'{last.get("dest_compute")})')
        if last['status'] in CANCELLED:
            return self._result(step, 'aborted', host, last,
                                f'{where} was cancelled; server on {host}')
        fault = (server.get('fault') or {}).get('message')
        error = (f'{where} ended {last["status"]}; server on {host}'
                 + (f': {fault}' if fault else ''))
        return self._result(step, 'failed', host, last, error)

    # Helpers ---------------------------------------------------------------

    def _tune_via_agent(self, step):
        """Ask the source's agent to tune nova's migration; a failure is
        logged only (nova migrates anyway, with its own settings)."""
        try:
            self.agent_api.tune_migration({}, step['source'], step)
        except Exception as err:  # noqa: BLE001 - the migration runs
            LOG.warning('step %s: could not ask the agent of %s to tune '
                        'the migration of %s: %s', step['step_id'],
                        step['source'], step['vm'], err)

    def _mine(self, step, migration):
        """True for a live migration started after the step was (all of
        them when this executor did not start it: a restarted conductor)."""
        return (migration.get('migration_type', 'live-migration')
                == 'live-migration'
                and migration['id'] > self._before.get(step['step_id'], 0))

    def _in_progress(self, step):
        mine = [m for m in self.client.migrations_in_progress(step['vm'])
                if self._mine(step, m)]
        return max(mine, key=lambda m: m['id'], default=None)

    def _last_migration(self, step):
        mine = [m for m in self.client.list_migrations(step['vm'])
                if self._mine(step, m)]
        return max(mine, key=lambda m: m['id'], default=None)

    def _elapsed_s(self, migration):
        created = _timestamp(migration.get('created_at'))
        return 0.0 if created is None else max(0.0, self.clock() - created)

    def _switch_due(self, step, migration):
        """True when the step's algorithm switches to post-copy now."""
        if step['step_id'] in self._forced or migration['status'] != 'running':
            return False  # nova forces only a migration in 'running'
        after = step.get('postcopy_after_s')
        if step['algorithm'] == 'postcopy' or (
                after is not None and self._elapsed_s(migration) >= after):
            return True
        total = _bytes(migration.get('memory_total_bytes'))
        return (step['algorithm'] == 'hybrid' and total > 0
                and _bytes(migration.get('memory_processed_bytes')) >= total)

    def _force_complete(self, step, migration):
        try:
            self.client.force_complete(step['vm'], migration['id'])
        except exception.MigrationFailed as err:
            # asked again on the next poll
            LOG.warning('step %s: force-complete refused: %s',
                        step['step_id'], err)
            return
        self._forced.add(step['step_id'])
        self._forced_at_s[step['step_id']] = round(
            self._elapsed_s(migration), 3)
        LOG.info('step %s: asked nova to force-complete migration %s of %s '
                 '(post-copy if the compute permits it, else the guest is '
                 'paused)', step['step_id'], migration['id'], step['vm'])

    def _progress(self, step, migration, phase='precopy'):
        processed = _bytes(migration.get('memory_processed_bytes'))
        if phase == 'postcopy':
            processed = max(processed,
                            self._processed.get(step['step_id'], 0))
        self._processed[step['step_id']] = processed
        return {'step_id': step['step_id'], 'vm': step['vm'],
                'elapsed_s': self._elapsed_s(migration),
                'processed_bytes': processed,
                'remaining_bytes': _bytes(
                    migration.get('memory_remaining_bytes')),
                'total_bytes': _bytes(migration.get('memory_total_bytes')),
                # nova reports neither the dirty rate nor the iteration
                'dirty_rate_mib_s': 0.0, 'iteration': 0, 'phase': phase}

    def _result(self, step, state, host, migration, error):
        total_s = 0.0
        if migration is not None:
            start = _timestamp(migration.get('created_at'))
            end = _timestamp(migration.get('updated_at'))
            if start is not None and end is not None:
                total_s = max(0.0, end - start)
        postcopy = step['step_id'] in self._postcopy
        stats = {'total_s': total_s,
                 # nova does not report the downtime nor the iterations
                 # (unmeasured_stats) nor the page counts
                 'downtime_ms': 0.0,
                 'bytes': self._processed.get(step['step_id'], 0),
                 'iterations': 0,
                 'postcopy': postcopy,
                 'normal_bytes': None, 'zero_pages': None,
                 # when force_complete was accepted (the switch follows)
                 'postcopy_started_s': (self._forced_at_s.get(
                     step['step_id']) if postcopy else None)}
        result = {'step_id': step['step_id'], 'vm': step['vm'],
                  'state': state, 'host': host, 'stats': stats,
                  'error': error}
        return self._status(step, state, result=result)

    @staticmethod
    def _status(step, state, progress=None, result=None):
        return {'step_id': step['step_id'], 'vm': step['vm'],
                'state': state, 'progress': progress, 'result': result}
