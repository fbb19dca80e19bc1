"""Options of the ``[conductor]`` group: the live model and plan execution."""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('conductor', title='Conductor options',
                     help='How the conductor keeps the live cluster model '
                          'and executes plans.')

OPTS = [
    cfg.StrOpt('host', default=None, sample_default='<hostname>',
               help='Name of this conductor, used as the publisher of its '
                    'notifications and as the holder of the conductor and '
                    'periodic leases; each conductor sharing a database '
                    'needs its own. Default: the host name.'),
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
    cfg.FloatOpt('step_start_window_s', default=20.0, min=1.0,
                 help='Seconds a step may take to reach its agent: the '
                      'agent refuses a step that arrives later (a cast '
                      'that waited in the message broker while the agent '
                      'was down), and the conductor gives up a step its '
                      'agent does not know only once this (plus '
                      '``max_clock_skew_s``) has passed, so a step it '
                      'gave up never runs.\n\nRelated options:\n\n* '
                      '``max_clock_skew_s``: the agents\' clocks must be '
                      'within it of the conductor\'s (NTP).\n'),
    cfg.FloatOpt('max_clock_skew_s', default=5.0, min=0.0,
                 help='Seconds the agents\' clocks may be off the '
                      'conductor\'s; added to ``step_start_window_s`` '
                      'before a step its agent does not know is given '
                      'up.'),
    cfg.FloatOpt('pending_max_wait_s', default=1800.0, min=1.0,
                 help='Seconds a step may stay pending after its planned '
                      'start (counted from when this conductor began '
                      'running the plan); then it expires, its VM stays '
                      'where it is and the plan can end (a source agent '
                      'that never '
                      'comes back, a destination that never has room).'),
    cfg.IntOpt('send_workers', default=8, min=0, max=256,
               help='Threads that hand started steps to the executor, '
                    'off the plan runner\'s thread: a cast waits for the '
                    'broker to confirm it, a step of the ``nova`` '
                    'executor for Nova\'s API, and thousands of them in '
                    'one pass would hold every plan. 0 sends them in the '
                    'pass.'),
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
    cfg.FloatOpt('lease_duration_s', default=30.0, min=2.0, max=3600.0,
                 help='Seconds the active conductor\'s lease holds without '
                      'a renewal. Of the conductors sharing a database, '
                      'only the holder of this lease runs plans, fires '
                      'the scheduled policies, refits and serves RPC; the '
                      'others wait. The holder stops all of that once its '
                      'lease runs out unrenewed, and a standby takes over '
                      'once the lease has expired: a failover takes at '
                      'most this long plus ``lease_renew_interval_s``.'
                      '\n\nRelated options:\n\n'
                      '* ``lease_renew_interval_s``: at most half of this\n'
                      '* ``host``: each conductor needs its own; a '
                      'conductor takes back at once a lease held under its '
                      'own name (its previous run)\n'
                      '* the conductors\' clocks must agree (NTP) to well '
                      'within this\n'),
    cfg.FloatOpt('lease_renew_interval_s', default=5.0, min=0.1,
                 max=1800.0,
                 help='Seconds between two renewals of the active '
                      'conductor\'s lease, and between two looks at it by '
                      'a standby conductor.\n\nRelated options:\n\n'
                      '* ``lease_duration_s``: at least twice this\n'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
