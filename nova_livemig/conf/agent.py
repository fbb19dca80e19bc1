"""Options of the ``[agent]`` group: the compute-side agent."""

import socket

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('agent', title='Agent options',
                     help='The nova-livemig agent that runs on every '
                          'compute host: it reports measurements to the '
                          'conductor and carries out live migrations.')

OPTS = [
    cfg.StrOpt('host', default=socket.gethostname(),
               sample_default='<hostname>',
               help='Name of this compute host, as in the snapshot and in '
                    'Nova; the agent\'s RPC server listens on it.\n\n'
                    'Possible values:\n\n* The Nova compute host name.\n'),
    cfg.StrOpt('driver', default='libvirt',
               help='Compute driver plugin (namespace '
                    'nova_livemig.drivers).\n\nPossible values:\n\n'
                    '* ``libvirt``: QEMU through libvirt (needs '
                    'libvirt-python)\n'
                    '* ``fake``: a simulated host (tests, demos)\n\n'
                    'Related options:\n\n* ``[libvirt]``\n'
                    '* ``[fake_driver]``\n'),
    cfg.FloatOpt('report_interval_s', default=30.0, min=0.1,
                 help='Seconds between two measurement reports to the '
                      'conductor.\n\nRelated options:\n\n'
                      '* ``[conductor] report_max_age_s`` must be well '
                      'above this.\n'),
    cfg.FloatOpt('progress_interval_s', default=2.0, min=0.01,
                 help='Seconds between two progress reports of a running '
                      'migration.'),
    cfg.FloatOpt('monitor_interval_s', default=0.5, min=0.001,
                 help='Seconds between two looks at a running migration '
                      'job (deadline, post-copy switch, completion).\n\n'
                      'Related options:\n\n* ``progress_interval_s``\n'),
    cfg.FloatOpt('postcopy_stall_s', default=5.0, min=0.5,
                 help='Seconds a migration in post-copy may move no byte '
                      'before the agent takes its link for broken and '
                      'pauses the post-copy (libvirt '
                      '``VIR_DOMAIN_ABORT_JOB_POSTCOPY``) so that it can '
                      'be resumed once the link is back. A dropped link '
                      'raises no error by itself: TCP keeps retransmitting '
                      'for minutes.\n\n'
                      'Related options:\n\n'
                      '* ``postcopy_recover_timeout_s``\n'),
    cfg.FloatOpt('postcopy_recover_timeout_s', default=300.0, min=1.0,
                 help='Seconds a paused post-copy (its link broken) may '
                      'wait for the path to the destination to come back; '
                      'meanwhile the agent probes the destination\'s '
                      'libvirtd and resumes the migration '
                      '(``VIR_MIGRATE_POSTCOPY_RESUME``, libvirt >= 8.5) '
                      'as soon as it can. Past it the step ends failed '
                      'with the VM paused on the destination and its '
                      'memory split between the two hosts, named in the '
                      'error; the VM is not re-planned: the operator '
                      'restores the link and resumes the migration, or '
                      'the VM is lost.\n\n'
                      'Possible values:\n\n'
                      '* the longest link outage worth a stalled guest '
                      '(the guest on the destination waits for its '
                      'missing pages all that time)\n\n'
                      'Related options:\n\n* ``postcopy_stall_s``\n'),
    cfg.IntOpt('job_history', default=1000, min=1,
               help='Finished migrations whose results the agent keeps '
                    'for ``get_job`` (a restarted conductor re-attaches '
                    'through it); the oldest are forgotten first.'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
