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
    cfg.StrOpt('live_migration_scheme', default='tls', choices=[
                   ('tls', 'TLS: encrypted, the destination\'s certificate '
                           'checked against the CA'),
                   ('tcp', 'plain TCP: no encryption and, with libvirtd\'s '
                           '``auth_tcp = "none"``, no authentication; only '
                           'for isolated test networks'),
                   ('ssh', 'SSH as the agent\'s user, with its keys and '
                           'known hosts')],
               help='Transport by which this host\'s libvirtd reaches the '
                    'destination\'s libvirtd in a peer-to-peer migration: '
                    'the agent connects to ``qemu+SCHEME://ADDRESS/system``, '
                    'ADDRESS being the destination\'s '
                    '``migration_inbound_addr`` (or its host name). The '
                    'agent builds this URI itself: no URI, transport or '
                    'query string is taken from a message, and the address '
                    'must be a host name or an IP address. ``tcp`` and '
                    '``ssh`` are used only when set here.\n\n'
                    'Related options:\n\n* ``migration_inbound_addr``\n'
                    '* ``live_migration_with_native_tls``\n'),
    cfg.StrOpt('migration_uri_scheme', default=None,
               deprecated_for_removal=True,
               deprecated_reason='The agent builds the migration URI from '
                                 '``live_migration_scheme``; a URI template '
                                 'could name any transport.',
               help='Removed: the agent refuses to start while it is set. '
                    'Set ``live_migration_scheme`` instead '
                    '(``qemu+tls://%s/system``: ``tls``, '
                    '``qemu+tcp://%s/system``: ``tcp``).'),
    cfg.StrOpt('migration_inbound_addr', default=None,
               sample_default='<[agent] host>',
               help='Host name or IP address of this host for incoming '
                    'migrations, reported to the conductor; the source\'s '
                    'libvirtd connects to it and, as in nova, QEMU\'s '
                    'migration stream goes to ``tcp://ADDRESS``. Unset: '
                    'the source uses the ``[agent] host`` name and libvirt '
                    'picks the stream\'s address (``migration_host`` in '
                    'qemu.conf). With TLS, the certificates must name this '
                    'address.\n\n'
                    'Possible values:\n\n'
                    '* a host name (letters, digits, ``-``, ``_`` and '
                    '``.``, at most 253 characters) or an IPv4 or IPv6 '
                    'address; no URI, port or user\n\n'
                    'Related options:\n\n* ``live_migration_scheme``\n'),
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
    # at most 31: with as many short windows and the long one, every
    # VM's samples stay within the 64 a report may carry
    # (nova_livemig.dirtyrate.MAX_SAMPLES)
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
    cfg.IntOpt('dirty_rate_short_window_ms', default=0, min=0, max=999,
               help='Milliseconds of ``dirty_rate_windows`` more windows, '
                    'measured first, through QEMU\'s ``calc-dirty-rate`` '
                    'with ``calc-time-unit: millisecond`` (QEMU 8.2 or '
                    'later), which libvirt\'s API does not offer: the '
                    'driver sends it to the QEMU monitor itself, and '
                    'libvirt marks each guest measured so as tainted '
                    '(``custom-monitor``) in its log. A guest that '
                    'rewrites its working set in less than a second reads '
                    'the same on every 1 s window whatever its rate; a '
                    'shorter window tells a guest writing 80 MiB/s from '
                    'one writing 160 MiB/s over 64 MiB (doc/calibration.md) '
                    'and so whether pre-copy can converge.\n\n'
                    'Possible values:\n\n'
                    '* 0: no short window (the default)\n'
                    '* 250: what the testbed measurements used\n\n'
                    'Related options:\n\n'
                    '* ``dirty_rate_sample_pages``\n'),
    cfg.IntOpt('dirty_rate_sample_pages', default=8192, min=1, max=100000,
               help='Pages per GiB of guest memory a short window '
                    '(``dirty_rate_short_window_ms``) samples; QEMU\'s '
                    'default of 512 reads a 256 MiB guest from 128 pages, '
                    'too few for a window of a quarter second.'),
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
