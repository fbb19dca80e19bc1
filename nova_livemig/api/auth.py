"""Who is asking: keystonemiddleware in production, a no-auth stand-in
for development and tests, and the request context built from either.

With ``[api] auth_strategy = keystone`` (the default) every request but
the version documents passes keystonemiddleware's ``AuthProtocol``,
configured by the standard ``[keystone_authtoken]`` section of the
service's own configuration. With ``noauth`` the ``X-Auth-Token`` header
names the persona: ``admin`` (roles admin, member, reader) or ``reader``;
anything else is a 401.
"""


from nova_livemig.api import errors

#: the roles of each no-auth token, as Keystone's implied roles give them
NOAUTH_ROLES = {'admin': 'admin,member,reader', 'reader': 'reader'}
NOAUTH_PROJECT = 'noauth-project'


class NoAuth:
    """WSGI middleware: the token is the persona (tests, development)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        token = environ.get('HTTP_X_AUTH_TOKEN')
        roles = NOAUTH_ROLES.get(token)
        if roles is None:
            resp = errors.response(
                401, 'X-Auth-Token: allowed: admin or reader (noauth)',
                {'WWW-Authenticate': 'Keystone uri="noauth"'})
            return resp(environ, start_response)
        environ.update({
            'HTTP_X_IDENTITY_STATUS': 'Confirmed',
            'HTTP_X_ROLES': roles, 'HTTP_X_USER_ID': token,
            'HTTP_X_USER_NAME': token, 'HTTP_X_PROJECT_ID': NOAUTH_PROJECT,
            'HTTP_X_PROJECT_NAME': NOAUTH_PROJECT})
        return self.app(environ, start_response)


def keystone(app, conf):
    """keystonemiddleware's ``AuthProtocol`` around ``app``, reading
    ``[keystone_authtoken]`` of ``conf`` (never the global CONF)."""
    from keystonemiddleware import auth_token
    return auth_token.AuthProtocol(app, {'oslo_config_config': conf})


def authenticated(app, conf):
    """``app`` behind the authentication ``[api] auth_strategy`` says."""
    if conf.api.auth_strategy == 'noauth':
        return NoAuth(app)
    return keystone(app, conf)


class Context:
    """WSGI middleware: the request's
    :class:`oslo_context.context.RequestContext` (user, project, roles,
    request id, from the headers keystonemiddleware set) in
    ``environ['livemig.context']``; a request without a confirmed
    identity is a 401."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        from oslo_context import context
        if environ.get('HTTP_X_IDENTITY_STATUS') != 'Confirmed':
            resp = errors.response(401, 'authentication required')
            return resp(environ, start_response)
        environ['livemig.context'] = context.RequestContext.from_environ(
            environ)
        return self.app(environ, start_response)


def context_of(req):
    """The context of a :class:`webob.Request` (set by :class:`Context`)."""
    return req.environ['livemig.context']


