"""One migration job as the libvirt driver follows it, and the decisions
on it that need no hypervisor.

A :class:`MigrationJob` holds what the driver knows of one job (the
domain handle, the running samples, the post-copy switch, how the job
ended), a :class:`JobTable` the jobs by VM with the lock that guards
them; the driver makes every libvirt call. Nothing here imports libvirt.

>>> job = MigrationJob('vm1', dom=None)
>>> job.external, job.end_state()
(True, ('completed', None))
>>> job.aborted, job.error = True, 'operation aborted'
>>> job.end_state()
('cancelled', 'operation aborted')
"""

import dataclasses
import threading
import time

from nova_livemig import exception
from nova_livemig.drivers import libvirt_stats
from nova_livemig.drivers import migration

#: running samples kept per job (for stops_converging and the final stats)
HISTORY = 600
#: seconds between two requests to switch to post-copy until the source
#: shows the guest paused for it
SWITCH_RESEND_S = 1.0


class MigrationJob:
    """One migration job (mutable; guarded by the driver's lock).

    :param vm: the VM id
    :param dom: the libvirt domain on the source
    :param step: the :class:`~nova_livemig.messages.MigrationStep` the
        driver started, None for a job someone else started
    """

    def __init__(self, vm, dom, step=None):
        self.vm = vm
        self.step = step
        self.dom = dom
        #: started by someone else (nova-compute) and attached to
        self.external = step is None
        self.phase = migration.PRECOPY
        #: when migrateStartPostCopy was last sent (None: not yet; the
        #: switch was asked for before QEMU moved any page)
        self.switch_sent_at = None
        #: the source shows the guest paused for post-copy
        self.switch_seen = False
        #: the job's elapsed time at the first look that saw the switch
        self.postcopy_started_s = None
        self.switch_thread = None
        #: tune_job's values, applied again once pages flow: libvirt
        #: applies the migration's own parameters when QEMU starts it,
        #: over what was set during its setup
        self.tuning = None
        self.flowing = False
        self.history = []
        self.done = threading.Event()
        self.event_stats = None
        self.got_event = threading.Event()
        self.error = None
        self.error_code = None
        self.aborted = False
        self.final = None
        #: (dest URI, params, flags) of migrateToURI3, kept to resume
        self.args = None
        #: the destination's checked address (probed before a resume)
        self.address = None
        #: the thread running the current migrateToURI3 call
        self.call = None
        #: the last call returned with the post-copy paused (link broken)
        self.postcopy_failed = False
        #: resumes started, and the bytes moved before the last one
        self.resumes = 0
        self.resume_base_bytes = 0
        #: when the current call started; when the destination was first
        #: seen with its side of the post-copy failed (None: not now);
        #: a hung resume was interrupted
        self.call_started_at = None
        self.call_returned_at = None
        self.dest_failed_at = None
        self.unstick_sent = False
        #: monotonic seconds when the driver started the job, and when
        #: its last call returned
        self.started_at = time.monotonic()
        self.ended_at = None

    def record(self, info):
        """Keep a running sample (the last :data:`HISTORY` of them)."""
        self.history.append(info)
        del self.history[:-HISTORY]

    def setup_sample(self):
        """What a look at the job says while QEMU sets up (or in the last
        instant) and libvirt shows no pages moving: the last running
        sample, or a bare running JobInfo."""
        last = self.history[-1] if self.history else None
        return last or migration.JobInfo(state=migration.JOB_RUNNING,
                                         phase=self.phase)

    def pages_moved(self):
        """True once a running sample showed guest memory moving."""
        return any(h.memory_total_bytes for h in self.history)

    def saw_switch(self, elapsed_s):
        """Note that the source shows the guest paused for post-copy at
        a look ``elapsed_s`` into the job (the first such look counts)."""
        self.switch_seen = True
        if self.postcopy_started_s is None:
            self.postcopy_started_s = elapsed_s

    def _postcopy_started_s(self):
        """When the job switched: the look that saw it, else the first
        running sample taken after the switch was asked for."""
        if self.postcopy_started_s is not None:
            return self.postcopy_started_s
        return next((h.elapsed_s for h in self.history
                     if h.phase == migration.POSTCOPY), None)

    def switch_due(self, now):
        """True when the switch to post-copy is to be sent (again) at
        ``now`` (monotonic seconds)."""
        return (self.switch_sent_at is None
                or now - self.switch_sent_at >= SWITCH_RESEND_S)

    def ended_elsewhere(self, active, completed_type):
        """Note how an attached job that libvirt no longer shows ended:
        completed when the VM left (``active`` False), failed or
        cancelled (libvirt's completed job type tells) when it is still
        here; the job is then done.

        :param active: the domain still runs on this host
        :param completed_type: ``type`` of libvirt's completed job
            statistics, or None
        """
        if active:
            self.error = 'the migration ended; the VM is still here'
            if completed_type == libvirt_stats.VIR_DOMAIN_JOB_CANCELLED:
                self.error_code = libvirt_stats.VIR_ERR_OPERATION_ABORTED
        self.done.set()

    def _across_resumes(self, final):
        """The final JobInfo of a job that was resumed, over its whole
        life: libvirt may report the resumed job alone (its bytes and
        pages counted from the resume). The time is the driver's, from
        the first start to the end; bytes the resumed job reports below
        what moved before the resume are added to that; the page counts
        of such a job are unknown.

        >>> job = MigrationJob('vm1', dom=None)
        >>> job.resumes, job.resume_base_bytes = 1, 100
        >>> job.started_at, job.ended_at = 0.0, 30.0
        >>> f = job._across_resumes(migration.JobInfo(
        ...     elapsed_s=4.0, processed_bytes=40, zero_pages=3))
        >>> f.elapsed_s, f.processed_bytes, f.zero_pages
        (30.0, 140, None)
        """
        final = dataclasses.replace(final, elapsed_s=max(
            final.elapsed_s, self.ended_at - self.started_at))
        if final.processed_bytes < self.resume_base_bytes:
            final = dataclasses.replace(
                final, processed_bytes=(self.resume_base_bytes
                                        + final.processed_bytes),
                normal_bytes=None, zero_pages=None)
        return final

    def resuming(self):
        """Note that a resume starts: the bytes moved so far are the
        base of a resumed job that counts from zero."""
        self.resumes += 1
        self.resume_base_bytes = max(
            [self.resume_base_bytes]
            + [h.processed_bytes for h in self.history])

    def call_returned(self, error, error_code, paused):
        """Note how a migrateToURI3 call returned: ``paused`` (the source
        shows the post-copy failed and paused: the link broke) leaves the
        job running for a resume; otherwise the job is done.

        >>> job = MigrationJob('vm1', dom=None)
        >>> job.call_returned('socket closed', 1, paused=True)
        >>> job.done.is_set(), job.postcopy_failed
        (False, True)
        >>> job.call_returned(None, None, paused=False)
        >>> job.done.is_set(), job.end_state()
        (True, ('completed', None))
        """
        self.call_returned_at = time.monotonic()
        if error is not None and paused:
            self.postcopy_failed = True
            return
        self.postcopy_failed = False
        self.error, self.error_code = error, error_code
        self.ended_at = time.monotonic()
        self.done.set()

    def end_state(self):
        """``(state, error)`` of a job whose migration call returned."""
        if self.error is None:
            return migration.JOB_COMPLETED, None
        if (self.aborted or self.error_code
                == libvirt_stats.VIR_ERR_OPERATION_ABORTED):
            return migration.JOB_CANCELLED, self.error
        return migration.JOB_FAILED, self.error

    def final_info(self, state, error):
        """The final JobInfo in ``state``: the job-completed event's
        statistics when it completed and the event came, otherwise the
        last running sample (see
        :func:`~nova_livemig.drivers.libvirt_stats.finished_job`)."""
        # post-copy only when it was seen (or pages were requested): a
        # switch asked for too late leaves a pre-copy
        phase = (migration.POSTCOPY if self.switch_seen
                 else migration.PRECOPY)
        last = dataclasses.replace(
            self.history[-1] if self.history else migration.JobInfo(),
            phase=phase)
        stats = (self.event_stats if state == migration.JOB_COMPLETED
                 else None)
        final = libvirt_stats.finished_job(stats, last, state, error)
        if self.resumes and self.ended_at is not None:
            final = self._across_resumes(final)
        return dataclasses.replace(final, postcopy_started_s=(
            self._postcopy_started_s()
            if final.phase == migration.POSTCOPY else None))


class JobTable:
    """The driver's jobs by VM id; :attr:`lock` guards the table and the
    jobs' fields (the driver shares it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self._jobs = {}

    def get(self, vm):
        """The job of ``vm``, running or finished, or None."""
        with self.lock:
            return self._jobs.get(vm)

    def running(self, vm, action):
        """The running job of ``vm``.

        :param action: what the caller wants to do, for the error
        :raises MigrationFailed: when no job of ``vm`` runs
        """
        job = self.get(vm)
        if job is None or job.done.is_set():
            raise exception.MigrationFailed(
                f'{vm} has no running migration to {action}')
        return job

    def add(self, job):
        """Keep a new job; refuse it while another job of the VM runs.

        :raises MigrationFailed: when the VM is already migrating
        """
        with self.lock:
            old = self._jobs.get(job.vm)
            if old is not None and not old.done.is_set():
                raise exception.MigrationFailed(
                    f'{job.vm} is already migrating'
                    + (f' (step {old.step.step_id})' if old.step else ''))
            self._jobs[job.vm] = job

    def replace(self, job):
        """Keep ``job`` for its VM in place of any other."""
        with self.lock:
            self._jobs[job.vm] = job

    def final(self, job, stats_wait_s):
        """The final JobInfo of a job whose migration call returned,
        worked out once (see :meth:`MigrationJob.final_info`); a job that
        completed first waits up to ``stats_wait_s`` for libvirt's
        job-completed event."""
        with self.lock:
            if job.final is not None:
                return job.final
        state, error = job.end_state()
        if state == migration.JOB_COMPLETED:
            job.got_event.wait(stats_wait_s)
        final = job.final_info(state, error)
        with self.lock:
            job.final = final
        return final

    def start_switch(self, job, send):
        """Call ``send(job)``, the request to switch to post-copy, from a
        thread of its own unless the last one still runs: libvirt may
        hold the call for seconds while the migration job is busy, and
        the monitor must keep looking meanwhile."""
        with self.lock:
            if job.switch_thread is not None and \
                    job.switch_thread.is_alive():
                return
            job.switch_sent_at = time.monotonic()
            job.switch_thread = threading.Thread(
                target=send, args=(job,), daemon=True,
                name=f'libvirt-postcopy-{job.vm}')
            job.switch_thread.start()

    def drop(self, vm):
        """Forget the job of ``vm`` whatever its state."""
        with self.lock:
            self._jobs.pop(vm, None)

    def forget_done(self, vm):
        """Forget the job of ``vm`` once it is done."""
        with self.lock:
            job = self._jobs.get(vm)
            if job is not None and job.done.is_set():
                del self._jobs[vm]

    def history(self, vm):
        """A copy of the running samples of ``vm``'s job, oldest first."""
        with self.lock:
            job = self._jobs.get(vm)
            return list(job.history) if job is not None else []

    def completed_event(self, vm, params):
        """Keep the statistics of the first job-completed event of
        ``vm``'s job."""
        with self.lock:
            job = self._jobs.get(vm)
            if job is not None and job.event_stats is None:
                job.event_stats = dict(params)
                job.got_event.set()
