"""Pure helpers of the libvirt driver, in the manner of nova's
``virt/libvirt/migration.py``.

They turn what libvirt hands out (a ``virDomainGetJobStats`` dict, the
parameters of a job-completed event, ``calc-dirty-rate`` samples) into
the plain values of :mod:`nova_livemig.drivers.migration`, and choose the
``migrateToURI3`` flags and parameters for a step. Nothing here imports
libvirt or does I/O: the libvirt constants the helpers need are copied
below (a functional test checks them against libvirt-python).

>>> flags, params = migrate_args({'algorithm': 'postcopy',
...     'bandwidth_mib_s': 0, 'postcopy_after_s': None})
>>> bool(flags & VIR_MIGRATE_POSTCOPY), params
(True, {})
"""

import math
import statistics

from nova_livemig.drivers import migration

# virDomainJobType
VIR_DOMAIN_JOB_NONE = 0
VIR_DOMAIN_JOB_BOUNDED = 1
VIR_DOMAIN_JOB_UNBOUNDED = 2
VIR_DOMAIN_JOB_COMPLETED = 3
VIR_DOMAIN_JOB_FAILED = 4
VIR_DOMAIN_JOB_CANCELLED = 5

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

# virErrorNumber VIR_ERR_OPERATION_ABORTED
VIR_ERR_OPERATION_ABORTED = 78

_JOB_STATES = {
    VIR_DOMAIN_JOB_NONE: migration.JOB_NONE,
    VIR_DOMAIN_JOB_BOUNDED: migration.JOB_RUNNING,
    VIR_DOMAIN_JOB_UNBOUNDED: migration.JOB_RUNNING,
    VIR_DOMAIN_JOB_COMPLETED: migration.JOB_COMPLETED,
    VIR_DOMAIN_JOB_FAILED: migration.JOB_FAILED,
    VIR_DOMAIN_JOB_CANCELLED: migration.JOB_CANCELLED,
}


def job_state(job_type):
    """The :data:`~nova_livemig.drivers.migration.JOB_STATES` name of a
    libvirt ``virDomainJobType``.

    >>> job_state(VIR_DOMAIN_JOB_UNBOUNDED)
    'running'
    >>> job_state(42)
    'none'
    """
    return _JOB_STATES.get(job_type, migration.JOB_NONE)


def running_job(stats, phase=migration.PRECOPY):
    """A :class:`~nova_livemig.drivers.migration.JobInfo` from the
    ``jobStats()`` dict of the source while the migration call runs.

    :param stats: libvirt's dict (``type`` is the job type)
    :param phase: ``postcopy`` once the driver switched
    :returns: a JobInfo; state ``none`` when libvirt shows no job

    >>> job = running_job({'type': 2, 'time_elapsed': 2000,
    ...                    'memory_iteration': 2})
    >>> job.state, job.elapsed_s, job.iteration
    ('running', 2.0, 2)
    """
    state = job_state(stats.get('type', VIR_DOMAIN_JOB_NONE))
    return migration.from_libvirt_stats(stats, state, phase=phase)


def finished_job(completed_stats, last, state, error=None):
    """The final :class:`~nova_livemig.drivers.migration.JobInfo` of a job.

    After post-copy libvirt 9.0 keeps no completed statistics on either
    host; only the source's job-completed event carries them. After an
    abort or a failure there are none at all. So: the completed
    statistics when there are some, otherwise the last running sample
    with the final state (and no downtime: the running sample's is
    QEMU's expectation, and a job that did not complete did not pause
    the guest for a switchover).

    :param completed_stats: the event's (or ``--completed``) statistics
        dict, or None
    :param last: the last running JobInfo seen, or None
    :param state: ``completed``, ``failed`` or ``cancelled``
    :param error: why it failed
    :returns: a JobInfo in ``state``

    >>> last = running_job({'type': 2, 'time_elapsed': 9000,
    ...                     'data_processed': 5})
    >>> finished_job(None, last, 'cancelled', 'aborted').processed_bytes
    5
    >>> finished_job({'time_elapsed': 12000, 'downtime': 7}, last,
    ...              'completed', None).downtime_ms
    7.0
    """
    phase = last.phase if last is not None else migration.PRECOPY
    if completed_stats:
        if completed_stats.get('memory_postcopy_requests', 0) > 0:
            phase = migration.POSTCOPY
        return migration.from_libvirt_stats(completed_stats, state,
                                            phase=phase, error=error)
    base = last if last is not None else migration.JobInfo()
    # a running sample's ``downtime`` is QEMU's expected pause; a job that
    # did not complete never paused the guest for its switchover
    downtime = base.downtime_ms if state == migration.JOB_COMPLETED \
        else None
    return migration.JobInfo(**{
        **{f: getattr(base, f) for f in base.__dataclass_fields__},
        'state': state, 'phase': phase, 'error': error,
        'downtime_ms': downtime})


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
    :func:`downtime_limit_ms`).

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
        params[PARAM_BANDWIDTH] = max(int(math.ceil(bandwidth)), 1)
    if migrate_uri:
        params[PARAM_URI] = migrate_uri
    return flags, params


def downtime_limit_ms(max_downtime_ms, bandwidth_mib_s, switchover_ms,
                      device_state_mib):
    """QEMU's downtime limit for a step's downtime target: the target less
    the switchover and the device state over the link, as the cost models
    assume (:func:`nova_livemig.algorithms.precopy.downtime_limit_ms`),
    never below 1 ms (libvirt rejects 0).

    :param bandwidth_mib_s: payload rate of the path; 0 when unknown
        (the device state is then not counted)
    :returns: whole milliseconds

    >>> downtime_limit_ms(500, 25.0, 5.0, 0.05)
    493
    >>> downtime_limit_ms(3, 25.0, 5.0, 0.05)
    1
    """
    limit = max_downtime_ms - switchover_ms
    if bandwidth_mib_s > 0:
        limit -= device_state_mib / bandwidth_mib_s * 1000.0
    return max(int(limit), 1)


def dirty_rate(samples_mib_s):
    """Mean and spread of dirty-rate windows.

    libvirt's page sampling is noisy (about 25 % off on a 1 s window) and
    cannot see a page written twice in one window; the driver therefore
    measures several windows and hands the planner their mean and their
    sample standard deviation (``Vm.dirty_rate_err_mib_s``), the spread of
    one window: workload swings and sampling noise both widen it.

    :param samples_mib_s: one rate per window (MiB/s); None entries (a
        window that did not complete) are skipped
    :returns: ``(mean, spread)``; ``(0.0, None)`` with no sample,
        spread None with one

    >>> dirty_rate([39.0, 43.0, 58.0])
    (46.667, 10.017)
    >>> dirty_rate([12.0])
    (12.0, None)
    """
    values = [float(s) for s in samples_mib_s if s is not None]
    if not values:
        return 0.0, None
    mean = round(statistics.fmean(values), 3)
    if len(values) < 2:
        return mean, None
    return mean, round(statistics.stdev(values), 3)


def cpu_util(cpu_time_ns_before, cpu_time_ns_after, wall_s, vcpus):
    """Fraction of ``vcpus`` busy from two cumulative CPU times.

    >>> cpu_util(0, 500_000_000, 1.0, 2)
    0.25
    """
    if wall_s <= 0 or vcpus <= 0:
        return 0.0
    busy = (cpu_time_ns_after - cpu_time_ns_before) / 1e9 / wall_s / vcpus
    return round(min(max(busy, 0.0), 1.0), 4)


def host_cpu_util(before, after):
    """Fraction of the host's CPUs busy from two ``getCPUStats(-1)``
    dicts (cumulative ns: ``kernel``, ``user``, ``idle``, ``iowait``).

    >>> host_cpu_util({'kernel': 0, 'user': 0, 'idle': 0, 'iowait': 0},
    ...               {'kernel': 1, 'user': 2, 'idle': 6, 'iowait': 1})
    0.3
    """
    delta = {k: after.get(k, 0) - before.get(k, 0)
             for k in ('kernel', 'user', 'idle', 'iowait')}
    total = sum(delta.values())
    if total <= 0:
        return 0.0
    return round(min(max((delta['kernel'] + delta['user']) / total, 0.0),
                     1.0), 4)


def _get(step, name):
    return step[name] if isinstance(step, dict) else getattr(step, name)
