"""Building the WSGI application, for uwsgi (:mod:`nova_livemig.api.wsgi`),
the development server (``nova-livemig-api``) and in-process tests.

The middleware, outermost first: JSON errors, the request id
(``X-OpenStack-Request-ID``), the version documents (no token), the
authentication of ``[api] auth_strategy``, the request context, the
router. The handlers find in the WSGI environment the configuration
(``livemig.conf``), the policy enforcer (``livemig.enforcer``) and the
conductor client (``livemig.conductor``).
"""

from oslo_middleware import request_id

from nova_livemig.api import auth
from nova_livemig.api import conductor as conductor_mod
from nova_livemig.api import errors
from nova_livemig.api import policy
from nova_livemig.api import router


class _Environ:
    """WSGI middleware: puts fixed objects into every request's environ."""

    def __init__(self, app, **values):
        self.app = app
        self.values = values

    def __call__(self, environ, start_response):
        environ.update(self.values)
        return self.app(environ, start_response)


class _Public:
    """WSGI middleware: the version documents bypass authentication."""

    def __init__(self, app, public_app):
        self.app = app
        self.public_app = public_app

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '') or '/'
        if environ.get('REQUEST_METHOD') == 'GET' and (
                path.rstrip('/') or '/') in router.PUBLIC:
            return self.public_app(environ, start_response)
        return self.app(environ, start_response)


def make_app(conf, conductor_api):
    """The API as a WSGI application.

    :param conf: a :class:`oslo_config.cfg.ConfigOpts` with every option
        group registered and parsed
    :param conductor_api: a
        :class:`~nova_livemig.conductor.rpcapi.ConductorAPI` (its transport
        is the API service's)
    """
    routes_app = router.Router()
    app = auth.Context(routes_app)
    app = auth.authenticated(app, conf)
    app = _Public(app, routes_app)
    app = _Environ(app, **{
        'livemig.conf': conf,
        'livemig.enforcer': policy.make_enforcer(conf),
        'livemig.conductor': conductor_mod.Conductor(conductor_api)})
    app = request_id.RequestId(app)
    return errors.JsonErrors(app)


def conductor_api(conf, transport=None):
    """The conductor client of the API service, on ``transport`` or the
    one ``transport_url`` names."""
    from nova_livemig import rpc
    from nova_livemig.conductor import rpcapi
    transport = transport or rpc.get_transport(conf)
    return rpcapi.ConductorAPI(transport, timeout=conf.api.rpc_timeout_s)
