"""The ``migrateToURI3`` flags and typed parameters of a step, for the
libvirt driver.

Always live and peer to peer; the algorithm picks auto-converge,
compression (with multifd connections) or post-copy capability; the
``[libvirt]`` options pick the encryption of the stream. Nothing here
imports libvirt or does I/O: the libvirt constants needed are copied
below (a functional test checks them against libvirt-python).

>>> flags, params = migrate_args({'algorithm': 'postcopy',
...     'bandwidth_mib_s': 0, 'postcopy_after_s': None})
>>> bool(flags & VIR_MIGRATE_POSTCOPY), params
(True, {})
"""

import math

from nova_livemig import exception
from nova_livemig.drivers import migration

# virDomainMigrateFlags
VIR_MIGRATE_LIVE = 1
VIR_MIGRATE_PEER2PEER = 2
VIR_MIGRATE_TUNNELLED = 4
VIR_MIGRATE_PERSIST_DEST = 8
VIR_MIGRATE_UNDEFINE_SOURCE = 16
VIR_MIGRATE_COMPRESSED = 2048
VIR_MIGRATE_ABORT_ON_ERROR = 4096
VIR_MIGRATE_AUTO_CONVERGE = 8192
VIR_MIGRATE_POSTCOPY = 32768
VIR_MIGRATE_TLS = 65536
VIR_MIGRATE_PARALLEL = 131072

# migrateToURI3 typed parameters (VIR_MIGRATE_PARAM_*)
PARAM_BANDWIDTH = 'bandwidth'
PARAM_COMPRESSION = 'compression'
PARAM_PARALLEL_CONNECTIONS = 'parallel.connections'
PARAM_URI = 'migrate_uri'


def speed_mib_s(bandwidth_mib_s):
    """A bandwidth cap as libvirt takes it: whole MiB/s, rounded up, at
    least 1 (libvirt reads 0 as unlimited).

    >>> speed_mib_s(12.2), speed_mib_s(0.3)
    (13, 1)
    """
    return max(int(math.ceil(bandwidth_mib_s)), 1)


def check_options(opts):
    """Refuse ``[libvirt]`` options that exclude each other.

    :param opts: the ``[libvirt]`` option group
    :raises InvalidInput: when both native TLS and tunnelling are on
    """
    if opts.live_migration_with_native_tls and opts.live_migration_tunnelled:
        raise exception.InvalidInput(
            '[libvirt] live_migration_tunnelled', True,
            'false while live_migration_with_native_tls is true '
            '(choose one way to encrypt the stream)')


def step_args(step, opts, persistent, migrate_uri=None):
    """:func:`migrate_args` for a step with the ``[libvirt]`` options.

    :param step: a :class:`~nova_livemig.messages.MigrationStep`
    :param opts: the ``[libvirt]`` option group
    :param persistent: the domain is persistent
    :param migrate_uri: QEMU's stream URI
        (:func:`nova_livemig.drivers.libvirt_uri.migrate_uri`), None for
        libvirt's choice; a tunnelled migration takes none
    :returns: ``(flags, params)``
    :raises MigrationFailed: when the step cannot run that way
    """
    try:
        return migrate_args(
            step, persistent=persistent,
            native_tls=opts.live_migration_with_native_tls,
            tunnelled=opts.live_migration_tunnelled,
            compression=opts.compression_methods,
            parallel_connections=opts.parallel_connections,
            migrate_uri=(None if opts.live_migration_tunnelled
                         else migrate_uri))
    except ValueError as err:
        raise exception.MigrationFailed(str(err)) from err


def migrate_args(step, persistent=False, native_tls=False,
                 tunnelled=False, compression=('xbzrle',),
                 parallel_connections=0, migrate_uri=None):
    """``migrateToURI3`` flags and typed parameters for a step.

    Always live and peer to peer (the source libvirtd drives the
    destination: no client connection to the destination is needed).
    ``postcopy`` and ``hybrid`` and any step with ``postcopy_after_s`` are
    started post-copy capable; the switch itself is
    ``migrateStartPostCopy`` when the agent decides. The downtime limit is
    no ``migrateToURI3`` parameter in libvirt 9.0: the driver sets it with
    ``migrateSetMaxDowntime`` once the job runs (see
    :func:`nova_livemig.algorithms.downtime.step_downtime_limit_ms`).

    :param step: a MigrationStep (or its primitive)
    :param persistent: the domain is persistent: define it on the
        destination, undefine it on the source
    :param native_tls: QEMU's own TLS for the migration stream
    :param tunnelled: the stream through libvirtd's (TLS) connection;
        incompatible with post-copy, parallel and native TLS
    :param compression: methods for ``compress``
    :param parallel_connections: multifd connections for ``compress``
        (0: none)
    :param migrate_uri: ``migrate_uri`` parameter, None for libvirt's
        choice (``migration_host`` of the destination)
    :returns: ``(flags, params)``
    :raises ValueError: for an unknown algorithm or tunnelled post-copy

    >>> flags, params = migrate_args({'algorithm': 'precopy',
    ...     'bandwidth_mib_s': 25, 'postcopy_after_s': None},
    ...     native_tls=True)
    >>> flags == VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_TLS
    True
    >>> params
    {'bandwidth': 25}
    """
    algorithm = _get(step, 'algorithm')
    flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER
    params = {}
    if persistent:
        flags |= VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE
    if native_tls and tunnelled:
        raise ValueError('native TLS and tunnelled migration exclude each '
                         'other; choose one')
    if native_tls:
        flags |= VIR_MIGRATE_TLS
    if tunnelled:
        flags |= VIR_MIGRATE_TUNNELLED
    if algorithm == 'autoconverge':
        flags |= VIR_MIGRATE_AUTO_CONVERGE
    elif algorithm == 'compress':
        flags |= VIR_MIGRATE_COMPRESSED
        if compression:
            params[PARAM_COMPRESSION] = list(compression)
        if parallel_connections:
            flags |= VIR_MIGRATE_PARALLEL
            params[PARAM_PARALLEL_CONNECTIONS] = int(parallel_connections)
    elif algorithm not in ('precopy', 'postcopy', 'hybrid'):
        raise ValueError(f'algorithm {algorithm!r} is not one the libvirt '
                         'driver runs; allowed: precopy, autoconverge, '
                         'compress, postcopy, hybrid')
    if (algorithm in migration.POSTCOPY_ALGORITHMS
            or _get(step, 'postcopy_after_s') is not None):
        if tunnelled:
            raise ValueError(f'algorithm {algorithm!r} needs post-copy, '
                             'which a tunnelled migration cannot do: use '
                             'native TLS instead')
        flags |= VIR_MIGRATE_POSTCOPY
    bandwidth = _get(step, 'bandwidth_mib_s')
    if bandwidth and bandwidth > 0:
        params[PARAM_BANDWIDTH] = speed_mib_s(bandwidth)
    if migrate_uri:
        params[PARAM_URI] = migrate_uri
    return flags, params


def _get(step, name):
    return step[name] if isinstance(step, dict) else getattr(step, name)
