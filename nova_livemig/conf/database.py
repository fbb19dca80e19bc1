"""Options of the ``[database]`` group: where plans and steps are kept."""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('database', title='Database options',
                     help='The SQL database of the conductor.')

OPTS = [
    cfg.StrOpt('connection',
               default='sqlite:////var/lib/nova-livemig/livemig.sqlite',
               secret=True,
               help='SQLAlchemy URL of the database.\n\nPossible values:\n\n'
                    '* ``sqlite:////path/to/file.sqlite`` (the default, '
                    'one conductor)\n'
                    '* ``mysql+pymysql://user:pass@host/livemig``\n'
                    '* ``postgresql+psycopg2://user:pass@host/livemig``\n'),
    cfg.BoolOpt('auto_sync', default=True,
                help='Apply pending schema migrations when the conductor '
                     'starts. When False, run ``nova-livemig-conductor '
                     '--db-sync`` first; the conductor refuses to start on '
                     'an outdated schema.'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
