"""Options of the ``[nova_livemig]`` group of nova.conf: the Nova scheduler
weigher (:mod:`nova_livemig.weigher`).

These options live in nova-scheduler's configuration, not in
nova-livemig's, so the group is not in :data:`nova_livemig.conf.MODULES`;
its own ``oslo.config.opts`` entry point (``nova_livemig.weigher``,
:func:`nova_livemig.conf.opts.list_weigher_opts`) feeds
``etc/nova-livemig/nova.conf.weigher-sample``. Nothing here imports nova.
"""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('nova_livemig', title='nova-livemig scheduler weigher',
                     help='The migration cost weigher, enabled by adding '
                          '``nova_livemig.weigher.MigrationCostWeigher`` to '
                          '``[filter_scheduler] weight_classes``. It reads '
                          'the snapshot the nova-livemig conductor '
                          'publishes: every nova-scheduler host must be '
                          'able to read that file (shared storage, or a '
                          'copy kept fresh on each scheduler host).')

OPTS = [
    cfg.StrOpt('snapshot_path',
               default='/var/lib/nova-livemig/snapshot.json',
               help='Snapshot v1 JSON file the nova-livemig conductor '
                    'publishes, as this nova-scheduler host sees it; its '
                    'host names are nova compute host names. A missing or '
                    'unreadable file makes the weigher neutral.\n\n'
                    'Possible values:\n\n'
                    '* a path on a filesystem shared with the conductor\n'
                    '* a path where a copy of the conductor\'s file is '
                    'kept: written to a temporary name and renamed over '
                    'this one, with the conductor\'s modification time '
                    '(``rsync -a`` does both)\n\n'
                    'Related options:\n\n'
                    '* ``[conductor] publish_path`` of nova-livemig: the '
                    'file the conductor writes\n'
                    '* ``snapshot_max_age_s``\n'),
    cfg.StrOpt('calibration_path',
                help='The calibration the nova-livemig conductor plans '
                     'with (its ``[planner] calibration_file``, written by '
                     '``nova-livemig calibrate`` or the conductor\'s '
                     'refit), as this nova-scheduler host sees it; read '
                     'again when it changes. The weigher then predicts with '
                     'the same fitted constants and the same algorithms as '
                     'the planner. Unset, missing or invalid: the default '
                     'constants.\n\n'
                     'Related options:\n\n'
                     '* ``[planner] calibration_file`` of nova-livemig\n'),
    cfg.IntOpt('snapshot_max_age_s', default=600, min=1,
               help='Seconds after its last modification that the '
                    'snapshot is stale; a stale snapshot makes the weigher '
                    'neutral (0 for every host), so a conductor that '
                    'stopped publishing, or a copy that stopped arriving, '
                    'stops steering nova.\n\n'
                    'Possible values:\n\n'
                    '* more than the agents\' ``[agent] '
                    'report_interval_s`` (the conductor rewrites the file '
                    'when reports arrive, at most once a second) plus the '
                    'longest a healthy copy lags behind\n\n'
                    'Related options:\n\n'
                    '* ``snapshot_path``\n'),
    cfg.FloatOpt('migration_cost_weight_multiplier', default=1.0,
                 help='Multiplier of the migration cost weigher; a '
                      '``migration_cost_weight_multiplier`` key in host '
                      'aggregate metadata overrides it.\n\n'
                      'Possible values:\n\n'
                      '* a positive number: prefer the hosts an instance '
                      'migrates to quickest\n'
                      '* 0: the weigher has no effect\n'
                      '* a negative number: prefer the slowest moves\n'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
