"""Options of the ``[api]`` group: the REST API service
(``nova-livemig-api``)."""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('api', title='REST API',
                     help='The nova-livemig REST API (nova-livemig-api). '
                          'Keystone authentication is configured in the '
                          'standard [keystone_authtoken] section; the '
                          'policy in [oslo_policy].')

#: the largest request body any option allows (a what-if snapshot of a
#: large cluster)
MAX_BODY_BYTES = 64 * 1024 * 1024

OPTS = [
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the development server '
                            '(nova-livemig-api) listens on; under uwsgi '
                            'the uwsgi configuration decides.\n\n'
                            'Related options:\n\n* port\n'),
    cfg.PortOpt('port', default=9599,
                help='TCP port of the development server.\n\n'
                     'Related options:\n\n* host\n'),
    cfg.StrOpt('auth_strategy', default='keystone',
               choices=[('keystone', 'tokens checked by keystonemiddleware '
                                     '([keystone_authtoken])'),
                        ('noauth', 'no authentication: the token names '
                                   'the role (admin or reader); for tests '
                                   'and development only')],
               help='How requests are authenticated.\n\nPossible values:'
                    '\n\n* keystone: the default; every request needs a '
                    'Keystone token\n* noauth: never in production\n'),
    cfg.IntOpt('max_body_bytes', default=16 * 1024 * 1024, min=1024,
               max=MAX_BODY_BYTES,
               help='The largest request body accepted, in bytes; a '
                    'larger one is refused with 413 before it is read. '
                    'A what-if request carries a whole snapshot.\n'),
    cfg.IntOpt('rpc_timeout_s', default=60, min=1, max=3600,
               help='Seconds a call to the conductor waits for its '
                    'answer; then the request fails with 503.\n'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
