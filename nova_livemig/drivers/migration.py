"""Pure helpers that drive a live migration, in the manner of nova's
``virt/libvirt/migration.py``.

A driver turns its own job statistics into a :class:`JobInfo` (a plain
value); the agent's monitor loop asks the functions below what to do
next. Nothing here imports libvirt or oslo.messaging or does I/O, so
every decision tests with plain values.

>>> step = {'algorithm': 'hybrid', 'deadline_s': 60.0,
...         'postcopy_after_s': None}
>>> job = JobInfo(state=JOB_RUNNING, elapsed_s=3.0, iteration=2)
>>> should_switch_to_postcopy(job, step, now=3.0)
True
>>> should_abort(job, step, now=3.0)
False
"""

import dataclasses

MIB = 1024 * 1024

#: job states, after libvirt's virDomainJobType (NONE is "no job")
JOB_NONE = 'none'
JOB_RUNNING = 'running'
JOB_COMPLETED = 'completed'
JOB_FAILED = 'failed'
JOB_CANCELLED = 'cancelled'
JOB_STATES = (JOB_NONE, JOB_RUNNING, JOB_COMPLETED, JOB_FAILED,
              JOB_CANCELLED)
FINISHED_STATES = (JOB_COMPLETED, JOB_FAILED, JOB_CANCELLED)

PRECOPY = 'precopy'
POSTCOPY = 'postcopy'

#: algorithms that may switch to post-copy
POSTCOPY_ALGORITHMS = ('postcopy', 'hybrid')


@dataclasses.dataclass(frozen=True)
class JobInfo:
    """One look at a migration job, in units a person reads.

    The fields follow libvirt's ``virDomainGetJobStats`` (see
    :func:`from_libvirt_stats`); a driver that cannot tell a figure leaves
    its default.

    :ivar state: one of :data:`JOB_STATES`
    :ivar phase: ``precopy`` or ``postcopy``
    :ivar elapsed_s: since the job started (libvirt ``time_elapsed``)
    :ivar processed_bytes: all data sent so far, memory and disks
        (``data_processed``)
    :ivar remaining_bytes: data still to send in this pass
        (``data_remaining``)
    :ivar total_bytes: data to send in all (``data_total``)
    :ivar memory_processed_bytes: memory sent (``memory_processed``)
    :ivar memory_remaining_bytes: memory left in this pass
        (``memory_remaining``)
    :ivar memory_total_bytes: guest memory (``memory_total``)
    :ivar dirty_rate_mib_s: guest dirty rate (``memory_dirty_rate``, pages
        per second, times ``memory_page_size``)
    :ivar bandwidth_mib_s: current transfer rate (``memory_bps``)
    :ivar iteration: pre-copy pass, from 1 (``memory_iteration``)
    :ivar downtime_ms: guest pause, known once completed (``downtime``)
    :ivar postcopy_requests: pages the destination faulted for
        (``memory_postcopy_requests``)
    :ivar throttle_pct: auto-converge vCPU throttle
        (``auto_converge_throttle``)
    :ivar normal_bytes: memory sent as whole pages, all passes
        (``memory_normal_bytes``); None when the driver cannot tell
    :ivar zero_pages: pages sent as a constant (zero) marker, all passes
        (``memory_constant``); None when the driver cannot tell
    :ivar postcopy_started_s: seconds from the job's start when it
        switched to post-copy; None when it did not (or the driver
        cannot tell)
    :ivar postcopy_paused: the job is in post-copy and paused, both
        sides waiting for the link (QEMU ``postcopy-paused``); it can be
        resumed (see :mod:`nova_livemig.drivers.postcopy_recovery`)
    :ivar error: why a failed job failed, when the driver knows
    """
    state: str = JOB_NONE
    phase: str = PRECOPY
    elapsed_s: float = 0.0
    processed_bytes: int = 0
    remaining_bytes: int = 0
    total_bytes: int = 0
    memory_processed_bytes: int = 0
    memory_remaining_bytes: int = 0
    memory_total_bytes: int = 0
    dirty_rate_mib_s: float = 0.0
    bandwidth_mib_s: float = 0.0
    iteration: int = 0
    downtime_ms: float | None = None
    postcopy_requests: int = 0
    throttle_pct: float = 0.0
    normal_bytes: int | None = None
    zero_pages: int | None = None
    postcopy_started_s: float | None = None
    postcopy_paused: bool = False
    error: str | None = None

    @property
    def finished(self):
        return self.state in FINISHED_STATES


def from_libvirt_stats(stats, state, phase=PRECOPY, error=None):
    """A :class:`JobInfo` from the dict ``virDomainGetJobStats`` returns.

    :param stats: libvirt's typed-parameter dict (missing keys are fine)
    :param state: one of :data:`JOB_STATES`, mapped by the driver from
        libvirt's job type
    :param phase: ``postcopy`` once the driver switched
    :returns: a :class:`JobInfo`

    >>> job = from_libvirt_stats({'time_elapsed': 1500,
    ...     'memory_dirty_rate': 2560, 'memory_page_size': 4096,
    ...     'memory_iteration': 3, 'data_remaining': 10}, JOB_RUNNING)
    >>> job.elapsed_s, job.dirty_rate_mib_s, job.iteration
    (1.5, 10.0, 3)
    >>> job.normal_bytes is None
    True
    >>> from_libvirt_stats({'memory_normal_bytes': 8192,
    ...     'memory_constant': 5}, JOB_COMPLETED).zero_pages
    5
    """
    page = stats.get('memory_page_size', 4096)
    downtime = stats.get('downtime')
    return JobInfo(
        state=state, phase=phase,
        elapsed_s=stats.get('time_elapsed', 0) / 1000.0,
        processed_bytes=stats.get('data_processed', 0),
        remaining_bytes=stats.get('data_remaining', 0),
        total_bytes=stats.get('data_total', 0),
        memory_processed_bytes=stats.get('memory_processed', 0),
        memory_remaining_bytes=stats.get('memory_remaining', 0),
        memory_total_bytes=stats.get('memory_total', 0),
        dirty_rate_mib_s=stats.get('memory_dirty_rate', 0) * page / MIB,
        bandwidth_mib_s=stats.get('memory_bps', 0) / MIB,
        iteration=stats.get('memory_iteration', 0),
        downtime_ms=None if downtime is None else float(downtime),
        postcopy_requests=stats.get('memory_postcopy_requests', 0),
        throttle_pct=float(stats.get('auto_converge_throttle', 0)),
        normal_bytes=_count_or_none(stats.get('memory_normal_bytes')),
        zero_pages=_count_or_none(stats.get('memory_constant')),
        error=error)


def _count_or_none(value):
    return None if value is None else int(value)


def _get(step, name):
    return step[name] if isinstance(step, dict) else getattr(step, name)


def should_switch_to_postcopy(job, step, now, history=()):
    """True when the job should switch to post-copy now.

    ``postcopy`` switches as soon as the job runs (or after
    ``postcopy_after_s`` when set); ``hybrid`` after its first pre-copy
    pass (or ``postcopy_after_s``, whichever comes first); other
    algorithms only when the step sets ``postcopy_after_s``. A job that
    may switch at all (post-copy algorithms, or ``postcopy_after_s`` set)
    switches early when its pre-copy stops converging
    (:func:`stops_converging` over ``history``).

    :param job: a :class:`JobInfo`
    :param step: a :class:`~nova_livemig.messages.MigrationStep` (or its
        primitive)
    :param now: seconds since the agent started the step
    :param history: the job's earlier JobInfo samples, oldest first
    :returns: bool
    """
    if job.state != JOB_RUNNING or job.phase == POSTCOPY:
        return False
    after = _get(step, 'postcopy_after_s')
    if after is not None and now >= after:
        return True
    algorithm = _get(step, 'algorithm')
    may_switch = after is not None or algorithm in ('postcopy', 'hybrid')
    if may_switch and stops_converging(list(history) + [job]):
        return True
    if algorithm == 'postcopy':
        return after is None
    if algorithm == 'hybrid':
        return job.iteration >= 2
    return False


def stops_converging(history, passes=3):
    """True when a pre-copy job no longer gains ground: over the last
    ``passes`` iterations the memory remaining at each new pass did not
    fall.

    :param history: JobInfo samples of one job, oldest first
    :param passes: iterations to compare
    :returns: bool

    >>> def j(it, rem):
    ...     return JobInfo(state='running', iteration=it,
    ...                              memory_remaining_bytes=rem)
    >>> stops_converging([j(1, 900), j(2, 300), j(3, 310), j(4, 305),
    ...                   j(5, 320)])
    True
    >>> stops_converging([j(1, 900), j(2, 300), j(3, 200), j(4, 100)])
    False
    """
    firsts = {}
    for job in history:
        if job.iteration >= 2 and job.iteration not in firsts:
            firsts[job.iteration] = job.memory_remaining_bytes
    its = sorted(firsts)
    if len(its) < passes + 1:
        return False
    tail = [firsts[i] for i in its[-(passes + 1):]]
    return min(tail[1:]) >= tail[0] * 0.9


def should_abort(job, step, now):
    """True when a running pre-copy job is past the step's deadline.

    A job in post-copy is never aborted: the guest already runs on the
    destination and an abort would lose it.

    :param now: seconds since the agent started the step
    :returns: bool
    """
    return (job.state == JOB_RUNNING and job.phase == PRECOPY
            and now >= _get(step, 'deadline_s'))


def should_report_progress(last_report, now, interval_s):
    """True when ``interval_s`` has passed since the last report.

    :param last_report: when progress was last reported, or None
    :param now: the same clock as ``last_report``
    """
    return last_report is None or now - last_report >= interval_s


def result_state(job):
    """The :class:`~nova_livemig.messages.Result` state of a finished job.

    :returns: ``completed``, ``failed`` or ``aborted``
    :raises ValueError: when the job has not finished
    """
    try:
        return {JOB_COMPLETED: 'completed', JOB_FAILED: 'failed',
                JOB_CANCELLED: 'aborted'}[job.state]
    except KeyError:
        raise ValueError(f'job state {job.state!r} is not finished; '
                         f'finished states: {", ".join(FINISHED_STATES)}'
                         ) from None


def progress_primitive(job, step_id, vm):
    """The :class:`~nova_livemig.messages.Progress` primitive of a job."""
    return {'step_id': step_id, 'vm': vm,
            'elapsed_s': round(max(job.elapsed_s, 0.0), 3),
            'processed_bytes': int(job.processed_bytes),
            'remaining_bytes': int(job.remaining_bytes),
            'total_bytes': int(job.total_bytes),
            'dirty_rate_mib_s': round(max(job.dirty_rate_mib_s, 0.0), 3),
            'iteration': int(job.iteration), 'phase': job.phase}


def stats_of(job):
    """The ``stats`` of a :class:`~nova_livemig.messages.Result` from the
    last look at a finished job.

    ``normal_bytes`` and ``zero_pages`` are None when the driver could
    not tell; ``postcopy_started_s`` is None unless the job ran in
    post-copy (and the driver knows when it switched).

    >>> stats = stats_of(JobInfo(state=JOB_COMPLETED, phase=POSTCOPY,
    ...                          elapsed_s=4.0, zero_pages=7,
    ...                          postcopy_started_s=1.5))
    >>> stats['postcopy'], stats['postcopy_started_s'], stats['zero_pages']
    (True, 1.5, 7)
    >>> stats_of(JobInfo(postcopy_started_s=1.5))['postcopy_started_s']
    """
    postcopy = job.phase == POSTCOPY
    started = job.postcopy_started_s
    return {'total_s': round(max(job.elapsed_s, 0.0), 3),
            'downtime_ms': round(job.downtime_ms or 0.0, 3),
            'bytes': int(job.processed_bytes),
            'iterations': int(job.iteration),
            'postcopy': postcopy,
            'normal_bytes': _count_or_none(job.normal_bytes),
            'zero_pages': _count_or_none(job.zero_pages),
            'postcopy_started_s': (round(max(started, 0.0), 3)
                                   if postcopy and started is not None
                                   else None)}
