"""Options of the ``[periodic]`` group: policies run on a schedule."""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('periodic', title='Scheduled policies',
                     help='Policies the conductor plans (and executes) on a '
                          'cron schedule. Only one conductor at a time runs '
                          'them: it holds a lease in the database.')

OPTS = [
    cfg.BoolOpt('enabled', default=False,
                help='Run the scheduled policies at all.'),
    cfg.MultiStrOpt('schedule', default=[],
                    help='One scheduled policy per line: ``POLICY | CRON`` '
                         'or ``POLICY | CRON | MODE``.\n\nPossible values:'
                         '\n\n* POLICY: a policy plugin name (consolidate, '
                         'balance, drain)\n* CRON: a five-field cron '
                         'expression, in UTC\n* MODE: ``execute`` (the '
                         'default), ``dry-run`` (record the plan without '
                         'executing it) or ``disabled``\n\nExample: '
                         '``consolidate | 0 3 * * * | dry-run``\n'),
    cfg.BoolOpt('dry_run', default=False,
                help='Record every scheduled plan without executing it, '
                     'whatever the MODE of its schedule line.'),
    cfg.IntOpt('lease_s', default=60, min=5,
               help='Seconds a conductor holds the periodic lease without '
                    'renewing it; another conductor takes over after '
                    'that.'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
