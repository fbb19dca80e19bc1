"""Pure helpers of the libvirt driver that read libvirt's statistics, in
the manner of nova's ``virt/libvirt/migration.py``.

They turn what libvirt hands out (a ``virDomainGetJobStats`` dict, the
parameters of a job-completed event, ``calc-dirty-rate`` samples, CPU
times and ``virDomainGetInfo``) into the plain values of
:mod:`nova_livemig.drivers.migration` and of snapshot v1. The
``migrateToURI3`` flags and parameters are
:mod:`nova_livemig.drivers.libvirt_flags`. Nothing here imports libvirt
or does I/O: the libvirt constants the helpers need are copied below (a
functional test checks them against libvirt-python).

>>> job_state(VIR_DOMAIN_JOB_COMPLETED)
'completed'
"""

import json
import statistics

from nova_livemig import dirtyrate
from nova_livemig import exception
from nova_livemig.drivers import migration

# virDomainJobType
VIR_DOMAIN_JOB_NONE = 0
VIR_DOMAIN_JOB_BOUNDED = 1
VIR_DOMAIN_JOB_UNBOUNDED = 2
VIR_DOMAIN_JOB_COMPLETED = 3
VIR_DOMAIN_JOB_FAILED = 4
VIR_DOMAIN_JOB_CANCELLED = 5

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


def dirty_rate_windows_s(windows, window_s, long_window_s):
    """The window lengths of one measurement, in the order measured:
    ``windows`` short ones, then the long one (if any).

    :param windows: ``[libvirt] dirty_rate_windows``
    :param window_s: ``[libvirt] dirty_rate_window_s``
    :param long_window_s: ``[libvirt] dirty_rate_long_window_s``, 0 for
        none
    :raises InvalidInput: when the long window is not longer than the
        short ones (its count would then say nothing of saturation)

    >>> dirty_rate_windows_s(3, 1, 3)
    (1, 1, 1, 3)
    >>> dirty_rate_windows_s(2, 1, 0)
    (1, 1)
    """
    if long_window_s and long_window_s <= window_s:
        raise exception.InvalidInput(
            '[libvirt] dirty_rate_long_window_s', long_window_s,
            f'0 or more than dirty_rate_window_s ({window_s})')
    return (window_s,) * windows + ((long_window_s,) if long_window_s
                                    else ())


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



def host_entry(name, node_info, cpu_before, cpu_after):
    """The snapshot-v1 host entry of a libvirt host.

    :param name: the host name
    :param node_info: ``getInfo()`` of the connection (memory in MiB at
        index 1, CPUs at index 2)
    :param cpu_before: ``getCPUStats(-1)`` at the start of the window
    :param cpu_after: ``getCPUStats(-1)`` at its end
    :returns: a dict

    >>> cpu = {'kernel': 0, 'user': 0, 'idle': 0, 'iowait': 0}
    >>> host_entry('n1', ['x86_64', 8192, 4], cpu, dict(cpu, user=1))
    {'name': 'n1', 'vcpus': 4, 'memory_mib': 8192, 'state': 'up', \
'cpu_util': 1.0}
    """
    return {'name': name, 'vcpus': int(node_info[2]),
            'memory_mib': int(node_info[1]), 'state': 'up',
            'cpu_util': host_cpu_util(cpu_before, cpu_after)}


def vm_entry(vm_id, host, dom_info, cpu_time_ns_before, wall_s,
             dirty_samples):
    """The snapshot-v1 VM entry of a running guest.

    :param vm_id: the VM id (name or UUID, ``[libvirt] vm_id``)
    :param host: the host name
    :param dom_info: ``virDomainGetInfo`` at the end of the window:
        ``(state, max KiB, KiB, vCPUs, CPU time ns)``
    :param cpu_time_ns_before: the CPU time at the start of the window
    :param wall_s: the window's length
    :param dirty_samples: the dirty-rate windows, ``[(window_s, MiB/s)]``
        (MiB/s None for a window that did not complete: skipped)
    :returns: a dict; ``dirty_rate_mib_s`` and ``dirty_rate_err_mib_s``
        are the mean and spread (:func:`dirty_rate`) of the shortest
        windows (the spread only with two of them or more);
        ``dirty_rate_samples`` has every window, short and long
        (:data:`nova_livemig.dirtyrate.SAMPLES`), when there is one

    >>> vm = vm_entry('vm1', 'n1', (1, 262144, 262144, 2, 10**9), 0, 2.0,
    ...               [(1, 8), (1, 10), (3, 6)])
    >>> vm['cpu_util'], vm['dirty_rate_mib_s'], vm['dirty_rate_err_mib_s']
    (0.25, 9.0, 1.414)
    >>> vm['dirty_rate_samples'][-1]
    {'window_s': 3.0, 'mib_s': 6.0}
    """
    _state, max_kib, _mem, vcpus, cpu_ns = dom_info
    samples = [(float(w), float(r)) for w, r in dirty_samples
               if r is not None]
    shortest = min((w for w, _r in samples), default=None)
    rate, spread = dirty_rate([r for w, r in samples if w == shortest])
    vm = {'id': vm_id, 'host': host, 'vcpus': int(vcpus),
          'memory_mib': int(max_kib // 1024),
          'cpu_util': cpu_util(cpu_time_ns_before, cpu_ns, wall_s, vcpus),
          'dirty_rate_mib_s': rate}
    if spread is not None:
        vm['dirty_rate_err_mib_s'] = spread
    if samples:
        vm['dirty_rate_samples'] = dirtyrate.to_primitive(samples)
    return vm


def qmp_calc_dirty_rate(window_ms, sample_pages):
    """The QMP command that starts a dirty-rate window of ``window_ms``.

    >>> qmp_calc_dirty_rate(250, 8192)  # doctest: +NORMALIZE_WHITESPACE
    '{"execute": "calc-dirty-rate", "arguments": {"calc-time": 250,
    "calc-time-unit": "millisecond", "sample-pages": 8192}}'
    """
    return json.dumps({'execute': 'calc-dirty-rate', 'arguments': {
        'calc-time': int(window_ms), 'calc-time-unit': 'millisecond',
        'sample-pages': int(sample_pages)}})


#: the QMP command that reads the last window's result
QMP_QUERY_DIRTY_RATE = json.dumps({
    'execute': 'query-dirty-rate',
    'arguments': {'calc-time-unit': 'millisecond'}})


def qmp_dirty_rate(reply):
    """The MiB/s of a ``query-dirty-rate`` reply, None while the window
    is still measuring.

    :param reply: the reply's JSON text
    :raises ValueError: a reply that is not a dirty-rate result (an
        error from QEMU included)

    >>> qmp_dirty_rate('{"return": {"status": "measured", '
    ...                '"dirty-rate": 152, "calc-time": 250}}')
    152.0
    >>> qmp_dirty_rate('{"return": {"status": "measuring"}}') is None
    True
    """
    try:
        result = json.loads(reply)['return']
        status = result['status']
        if status != 'measured':
            return None
        return float(result['dirty-rate'])
    except (TypeError, KeyError, ValueError) as err:
        raise ValueError(f'not a query-dirty-rate result: {reply[:200]!r}'
                         ) from err
