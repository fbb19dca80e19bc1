"""Options of the ``[libvirt]`` group: the libvirt compute driver."""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('libvirt', title='Libvirt driver options',
                     help='The ``libvirt`` compute driver of the agent: '
                          'it measures the host and its guests and runs '
                          'peer-to-peer live migrations through libvirtd.')

OPTS = [
    cfg.StrOpt('connection_uri', default='qemu:///system',
               help='Libvirt URI of the hypervisor this agent manages.\n\n'
                    'Possible values:\n\n'
                    '* ``qemu:///system``: the local libvirtd\n'
                    '* any libvirt URI (tests point agents at remote '
                    'libvirtds)\n'),
    cfg.StrOpt('migration_uri_scheme', default='qemu+tls://%s/system',
               help='Template of the libvirt URI by which a source '
                    'libvirtd reaches this host\'s libvirtd during a '
                    'peer-to-peer migration; ``%s`` is replaced by '
                    '``migration_inbound_addr``. The default encrypts and '
                    'authenticates the control connection with TLS.\n\n'
                    'Possible values:\n\n'
                    '* ``qemu+tls://%s/system`` (default, production)\n'
                    '* ``qemu+tcp://%s/system``: no encryption and, with '
                    '``auth_tcp = "none"``, no authentication; only for '
                    'isolated test networks\n\n'
                    'Related options:\n\n* ``migration_inbound_addr``\n'
                    '* ``live_migration_with_native_tls``\n'),
    cfg.StrOpt('migration_inbound_addr', default=None,
               sample_default='<[agent] host>',
               help='Address or name of this host for incoming '
                    'migrations; default the ``[agent] host`` name.\n\n'
                    'Related options:\n\n* ``migration_uri_scheme``\n'),
    cfg.BoolOpt('live_migration_with_native_tls', default=True,
                help='Encrypt the migration stream with QEMU\'s native TLS '
                     '(``VIR_MIGRATE_TLS``; QEMU needs its x509 '
                     'certificates, ``migrate_tls_x509_cert_dir`` in '
                     'qemu.conf). Works with post-copy.\n\n'
                     'Related options:\n\n'
                     '* ``live_migration_tunnelled`` (exclusive)\n'),
    cfg.BoolOpt('live_migration_tunnelled', default=False,
                help='Send the migration stream through the libvirtd '
                     'connection (``VIR_MIGRATE_TUNNELLED``), encrypted by '
                     'its TLS. Excludes post-copy (``postcopy`` and '
                     '``hybrid`` steps then fail) and native TLS.\n\n'
                     'Related options:\n\n'
                     '* ``live_migration_with_native_tls``\n'),
    cfg.StrOpt('vm_id', default='uuid', choices=[
                   ('uuid', 'the domain UUID (Nova instance UUID)'),
                   ('name', 'the domain name')],
               help='What identifies a VM in snapshots and steps.'),
    # at most 31: with the long window, every VM's samples stay within
    # the 32 a report may carry (nova_livemig.dirtyrate.MAX_SAMPLES)
    cfg.IntOpt('dirty_rate_windows', default=3, min=1, max=31,
               help='Short windows over which the dirty rate of each guest '
                    'is measured; the driver reports their mean and their '
                    'spread (one standard deviation). libvirt\'s page '
                    'sampling is noisy (about 25 % on one 1 s window).\n\n'
                    'Related options:\n\n* ``dirty_rate_window_s``\n'
                    '* ``dirty_rate_long_window_s``\n'),
    cfg.IntOpt('dirty_rate_window_s', default=1, min=1, max=60,
               help='Seconds of one short dirty-rate window. Keep it below '
                    'working set / dirty rate: page sampling cannot see a '
                    'page written twice in a window, so longer windows '
                    'under-read busy guests.\n\n'
                    'Related options:\n\n* ``dirty_rate_long_window_s``\n'),
    cfg.IntOpt('dirty_rate_long_window_s', default=3, min=0, max=60,
               help='Seconds of one more dirty-rate window, measured after '
                    'the short ones. Page sampling counts distinct pages, '
                    'so a guest rewriting a small working set reads the '
                    'same count on every window long enough to touch all '
                    'of it: comparing a long window with the short ones '
                    'shows where the distinct-page rate saturates, hence '
                    'the writable working set and the true write rate '
                    '(the planner reads them from every window the driver '
                    'reports). It adds this many seconds to every '
                    'measurement; 60 is QEMU\'s longest window.\n\n'
                    'Possible values:\n\n'
                    '* 0: no long window (the working set stays unknown '
                    'and the planner takes all memory as writable)\n'
                    '* a length above ``dirty_rate_window_s``: it sees '
                    'working sets the guest rewrites in less than about '
                    'three times this\n\n'
                    'Related options:\n\n* ``dirty_rate_window_s``\n'),
    cfg.ListOpt('compression_methods', default=['xbzrle'],
                help='Methods of the ``compress`` algorithm '
                     '(``VIR_MIGRATE_PARAM_COMPRESSION``).\n\n'
                     'Related options:\n\n* ``parallel_connections``\n'),
    cfg.IntOpt('parallel_connections', default=0, min=0,
               help='Multifd connections of the ``compress`` algorithm; 0 '
                    'for one stream.'),
    cfg.FloatOpt('stats_wait_s', default=2.0, min=0.0,
                 help='How long to wait, after a migration call returns, '
                      'for the job-completed event that carries its '
                      'statistics.'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
