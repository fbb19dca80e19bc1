"""Options of the ``[fake_driver]`` group: the simulated compute host."""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('fake_driver', title='Fake driver options',
                     help='The ``fake`` compute driver simulates a host. '
                          'Agents on one machine share their hosts\' state '
                          'through ``state_dir``, so a completed migration '
                          'moves the VM to the destination agent.')

OPTS = [
    cfg.StrOpt('state_dir', default='/var/lib/nova-livemig/fake',
               help='Directory holding one JSON file per simulated host, '
                    'shared by every fake agent on this machine.\n\n'
                    'Related options:\n\n* ``snapshot_file``\n'),
    cfg.StrOpt('snapshot_file', default=None,
               help='Snapshot v1 JSON file from which a host\'s state '
                    'file is created when it does not exist yet: its '
                    'entry named ``[agent] host`` and the VMs on it.'),
    cfg.FloatOpt('time_scale', default=1.0, min=0.0,
                 help='A migration takes the cost model\'s predicted '
                      'duration times this factor; 0 makes migrations '
                      'instant.'),
    cfg.FloatOpt('noise', default=0.1, min=0.0, max=1.0,
                 help='Relative standard deviation of the simulated '
                      'durations and downtimes around the prediction.'),
    cfg.IntOpt('seed', default=0,
               help='Seed of the simulated noise; one step always gets '
                    'the same noise for one seed.'),
    cfg.ListOpt('fail_vms', default=[],
                help='VM ids whose migrations fail (failure injection).\n\n'
                     'Related options:\n\n* ``fail_at_fraction``\n'),
    cfg.FloatOpt('fail_at_fraction', default=0.5, min=0.0, max=1.0,
                 help='Fraction of its duration at which a migration of a '
                      'VM in ``fail_vms`` fails.'),
    cfg.ListOpt('down_hosts', default=[],
                help='Destination hosts treated as down: migrations to '
                     'them fail (failure injection). A host whose state '
                     'file says ``"state": "down"`` counts as down too.'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
