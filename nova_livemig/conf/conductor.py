"""Options of the ``[conductor]`` group: the live model and plan execution."""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('conductor', title='Conductor options',
                     help='How the conductor keeps the live cluster model '
                          'and executes plans.')

OPTS = [
    cfg.StrOpt('host', default=None, sample_default='<hostname>',
               help='Name of this conductor, used as the publisher of its '
                    'notifications and as the holder of the periodic '
                    'lease. Default: the host name.'),
    cfg.IntOpt('report_max_age_s', default=120, min=1,
               help='Seconds after which an agent\'s last HostReport is '
                    'stale; the host then counts as down (its VMs stay '
                    'in the model, it receives no migrations).\n\n'
                    'Related options:\n\n* the agent\'s report interval '
                    'must be well below this.\n'),
    cfg.StrOpt('publish_path',
               default='/var/lib/nova-livemig/snapshot.json',
               help='Snapshot v1 JSON file the conductor writes (atomically) '
                    'from the live model for the Nova weigher; empty '
                    'disables publishing.\n\nRelated options:\n\n'
                    '* ``[nova_livemig] snapshot_path`` of nova-scheduler '
                    'must name the same file.\n'),
    cfg.StrOpt('topology_file', default=None,
               help='Snapshot v1 JSON file whose ``network`` section '
                    '(switches and links) describes the cluster\'s network. '
                    'Unset: every host hangs off one switch with a link of '
                    '``default_link_gbit_s``.'),
    cfg.FloatOpt('default_link_gbit_s', default=10.0, min=0.001,
                 help='Link speed of a host not described by '
                      '``topology_file``.'),
    cfg.StrOpt('executor', default='nova',
               help='Executor plugin (namespace nova_livemig.executors) '
                    'that carries out migration steps. The default asks '
                    'Nova, which keeps its placement allocations, port '
                    'bindings and migration records true; the conductor '
                    'refuses to start until the ``[nova]`` keystone '
                    'options say how to reach Nova.\n\n'
                    'Possible values:\n\n'
                    '* ``nova``: live migrations through the Nova compute '
                    'API (a cloud with Nova)\n'
                    '* ``agent``: nova-livemig agents migrate through '
                    'libvirt themselves, behind Nova\'s back (only where '
                    'no Nova manages the VMs: tests, demos, plain '
                    'libvirt hosts)\n'
                    '* ``noop``: completes every step moving nothing '
                    '(tests)\n\n'
                    'Related options:\n\n'
                    '* ``[nova] auth_type`` and the options of that '
                    'keystoneauth1 plugin (``auth_url``, ``username``, '
                    '``password``, ``project_name``, '
                    '``user_domain_name``, ``project_domain_name`` for '
                    '``password``): needed by ``nova``\n'),
    cfg.FloatOpt('deadline_factor', default=3.0, min=1.0,
                 help='A step\'s deadline is its predicted duration times '
                      'this factor plus ``deadline_margin_s``; the agent '
                      'aborts a migration not done by then.'),
    cfg.FloatOpt('deadline_margin_s', default=30.0, min=0.0,
                 help='Seconds added to every step deadline.'),
    cfg.IntOpt('max_attempts', default=3, min=1,
               help='Attempts per VM within one plan: a step that fails '
                    '(destination gone, timeout, abort) is re-planned to '
                    'another destination until this many have been made; '
                    'the VM then stays where it is.'),
    cfg.FloatOpt('job_poll_interval_s', default=10.0, min=0.1,
                 help='Seconds without news from a running step after '
                      'which the conductor asks its agent (get_job); this '
                      'recovers results lost while the message bus was '
                      'down, and re-attaches steps after a restart.'),
    cfg.FloatOpt('tick_s', default=0.5, min=0.01,
                 help='Seconds between two passes of the plan runner when '
                      'nothing wakes it.'),
    cfg.IntOpt('plan_retention_days', default=0, min=0,
               help='Days a finished plan (``completed``, ``failed``, '
                    '``aborted`` or ``dry-run``) is kept after it '
                    'finished; the conductor deletes older ones, with '
                    'their steps, every ``plan_purge_interval_s``. Plans '
                    'that are ``planned``, ``executing`` or ``aborting`` '
                    'are never deleted.\n\n'
                    'Possible values:\n\n'
                    '* 0: keep every plan (the default); ``nova-livemig '
                    'plan purge --older-than-days N`` deletes on '
                    'demand\n'
                    '* a positive number of days\n\n'
                    'Related options:\n\n'
                    '* ``plan_purge_interval_s``\n'),
    cfg.IntOpt('plan_purge_interval_s', default=3600, min=60,
               help='Seconds between two deletions of the plans older '
                    'than ``plan_retention_days``.\n\n'
                    'Related options:\n\n'
                    '* ``plan_retention_days``: 0 turns the deletion '
                    'off\n'),
    cfg.IntOpt('refit_interval_s', default=86400, min=0,
               help='Seconds after which the conductor refits the cost '
                    'model to the migration history when migrations '
                    'finished since its last fit, and writes the fit to '
                    '``[planner] calibration_file`` (atomically), then '
                    'plans with it. It also re-reads that file when '
                    'someone else replaces it.\n\n'
                    'Possible values:\n\n'
                    '* 0: never refit (a replaced file is still read)\n'
                    '* a positive number of seconds\n\n'
                    'Related options:\n\n'
                    '* ``[planner] calibration_file``: unset, nothing is '
                    'refitted\n* ``refit_after_records``\n'),
    cfg.IntOpt('refit_after_records', default=50, min=1,
               help='Migrations finished since the last fit that make '
                    'the conductor refit at once, without waiting for '
                    '``refit_interval_s``.'),
    cfg.IntOpt('refit_max_records', default=5000, min=10, max=1000000,
               help='The newest migration records a refit reads; older '
                    'ones no longer describe the cloud (links, QEMU, '
                    'guests change).'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
