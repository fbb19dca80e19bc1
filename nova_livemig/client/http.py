"""The client's HTTP plumbing: a keystoneauth1 adapter for the
``livemig`` service type, and the API's JSON errors as
:class:`ClientError`."""

from keystoneauth1 import adapter

#: the service type of the API in the Keystone catalog
SERVICE_TYPE = 'livemig'
API_VERSION = 'v1'


class ClientError(Exception):
    """The API refused a request.

    :ivar status: the HTTP status code
    :ivar message: the API's message (names the field, the value and
        what is allowed)
    """

    def __init__(self, status, message):
        super().__init__(f'{message} (HTTP {status})')
        self.status = status
        self.message = message


def _error(resp):
    try:
        message = resp.json()['error']['message']
    except (ValueError, KeyError, TypeError):
        message = resp.text[:500] or resp.reason
    return ClientError(resp.status_code, message)


class Http:
    """Requests to ``/v1/...`` through a keystoneauth1 adapter."""

    def __init__(self, adapter_):
        self.adapter = adapter_

    def request(self, method, path, body=None, params=None):
        """:returns: the decoded JSON body, or None (204)
        :raises ClientError: on an error status"""
        kwargs = {'raise_exc': False,
                  'headers': {'Accept': 'application/json'}}
        if body is not None:
            kwargs['json'] = body
        if params:
            kwargs['params'] = {k: v for k, v in params.items()
                                if v is not None}
        resp = self.adapter.request(f'/{API_VERSION}{path}', method,
                                    **kwargs)
        if resp.status_code >= 400:
            raise _error(resp)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()


class Client:
    """The nova-livemig API v1.

    :param session: a :class:`keystoneauth1.session.Session`
    :param endpoint_override: the API's URL, instead of the catalog's
    :param interface: the catalog interface (public, internal, admin)
    :param region_name: the catalog region
    """

    def __init__(self, session, endpoint_override=None, interface=None,
                 region_name=None):
        from nova_livemig.client import cluster
        from nova_livemig.client import plans
        http = Http(adapter.Adapter(
            session, service_type=SERVICE_TYPE, interface=interface,
            region_name=region_name, endpoint_override=endpoint_override))
        self.plans = plans.Plans(http)
        self.history = cluster.History(http)
        self.calibration = cluster.Calibration(http)
        self.snapshot = cluster.Snapshot(http)
        self.periodic = cluster.Periodic(http)
        self.whatif = cluster.WhatIf(http)
