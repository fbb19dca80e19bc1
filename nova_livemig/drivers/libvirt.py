"""``libvirt``: QEMU guests through libvirt; the only module importing
``libvirt``.

It stays thin: the flags, parameters, statistics and dirty-rate figures
come from the pure helpers of :mod:`nova_livemig.drivers.libvirt_stats`,
the decisions (post-copy switch, abort) from
:mod:`nova_livemig.drivers.migration` in the agent's monitor loop.

* A migration is ``migrateToURI3`` (live, peer to peer) in a thread of its
  own; ``[libvirt] migration_uri_scheme`` (``qemu+tls://%s/system`` by
  default) names the destination's libvirtd. QEMU's downtime limit is the
  step's target less the switchover (``migrateSetMaxDowntime``).
* Statistics: ``jobStats()`` of the source while the call runs; at the
  end the source's job-completed event (after post-copy libvirt 9.0 keeps
  no completed statistics anywhere else), which needs libvirt's default
  event loop running in a thread before any connection opens; after an
  abort or a failure there are none, so the last running sample stands.
* Dirty rate: ``calc-dirty-rate`` page sampling over
  ``[libvirt] dirty_rate_windows`` windows, reported as mean and spread.
* Post-copy: ``migrateStartPostCopy`` from a thread of its own (libvirt
  may hold it for seconds), sent again every second until the source
  shows the guest paused for post-copy (QEMU refuses it during setup, and
  a request made then can be lost).
* Migrations nova-compute started: :meth:`LibvirtDriver.attach_job` and
  :meth:`LibvirtDriver.tune_job` (applied again once pages flow).

``doc/calibration.md`` has what the driver measured on the testbed.
"""

import dataclasses
import math
import threading
import time

from oslo_log import log as logging

from nova_livemig import drivers
from nova_livemig import exception
from nova_livemig.drivers import libvirt_stats
from nova_livemig.drivers import migration

try:
    import libvirt
except ImportError:  # the driver refuses to start; doctests still import
    libvirt = None

LOG = logging.getLogger(__name__)

_EVENT_LOCK = threading.Lock()
_EVENT_THREAD = None
#: running samples kept per job (for stops_converging and the final stats)
HISTORY = 600
#: seconds to wait for libvirt to show the job after migrateToURI3 starts
START_TIMEOUT_S = 60.0


def start_event_loop():
    """Run libvirt's default event loop in a daemon thread, once per
    process. Call it before opening connections whose events matter."""
    global _EVENT_THREAD
    with _EVENT_LOCK:
        if _EVENT_THREAD is not None:
            return
        libvirt.virEventRegisterDefaultImpl()
        # errors reach the caller as exceptions; libvirt's default handler
        # would print them to stderr besides
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        _EVENT_THREAD = threading.Thread(target=run, daemon=True,
                                         name='libvirt-events')
        _EVENT_THREAD.start()


class _Migration:
    """One migration job (mutable; guarded by the driver's lock)."""

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


class LibvirtDriver(drivers.ComputeDriver):
    """The host behind ``[libvirt] connection_uri``.

    :param conf: config with ``[agent]``, ``[libvirt]`` and
        ``[cost_model]`` registered
    """

    name = 'libvirt'

    def __init__(self, conf):
        super().__init__(conf)
        if libvirt is None:
            raise exception.InvalidInput(
                '[agent] driver', 'libvirt',
                'a driver whose library is installed: the libvirt driver '
                'needs libvirt-python (pip install libvirt-python)')
        self.host = conf.agent.host
        self.opts = conf.libvirt
        if (self.opts.live_migration_with_native_tls
                and self.opts.live_migration_tunnelled):
            raise exception.InvalidInput(
                '[libvirt] live_migration_tunnelled', True,
                'false while live_migration_with_native_tls is true '
                '(choose one way to encrypt the stream)')
        self._lock = threading.Lock()
        self._jobs = {}
        self._conn = None
        start_event_loop()

    # -- connection --

    def _connection(self):
        with self._lock:
            if self._conn is not None:
                try:
                    if self._conn.isAlive():
                        return self._conn
                except libvirt.libvirtError:
                    pass
            conn = libvirt.open(self.opts.connection_uri)
            conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                self._on_job_completed, None)
            self._conn = conn
            return conn

    def _vm_id(self, dom):
        return dom.UUIDString() if self.opts.vm_id == 'uuid' else dom.name()

    def _lookup(self, vm):
        conn = self._connection()
        try:
            if self.opts.vm_id == 'uuid':
                return conn.lookupByUUIDString(vm)
            return conn.lookupByName(vm)
        except libvirt.libvirtError as err:
            raise exception.NotFound('vm', vm) from err

    def _on_job_completed(self, conn, dom, params, opaque):
        vm = self._vm_id(dom)
        with self._lock:
            job = self._jobs.get(vm)
            if job is not None and job.event_stats is None:
                job.event_stats = dict(params)
                job.got_event.set()

    # -- measurements --

    def measure(self):
        conn = self._connection()
        info = conn.getInfo()
        doms = [d for d in conn.listAllDomains(
            libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
            if d.state()[0] == libvirt.VIR_DOMAIN_RUNNING]
        host_before = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS)
        cpu_before = {d.name(): d.info()[4] for d in doms}
        t0 = time.monotonic()
        samples = self._dirty_rate_samples(conn, doms)
        wall = time.monotonic() - t0
        host_after = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS)
        host = {'name': self.host, 'vcpus': int(info[2]),
                'memory_mib': int(info[1]), 'state': 'up',
                'cpu_util': libvirt_stats.host_cpu_util(host_before,
                                                        host_after)}
        vms = []
        for dom in doms:
            try:
                _state, max_kib, _mem, vcpus, cpu_ns = dom.info()
            except libvirt.libvirtError:
                continue  # it left meanwhile
            memory_mib = max_kib // 1024
            rate, spread = libvirt_stats.dirty_rate(samples[dom.name()])
            vm = {'id': self._vm_id(dom), 'host': self.host,
                  'vcpus': int(vcpus), 'memory_mib': int(memory_mib),
                  'cpu_util': libvirt_stats.cpu_util(
                      cpu_before[dom.name()], cpu_ns, wall, vcpus),
                  'dirty_rate_mib_s': rate}
            if spread is not None:
                vm['dirty_rate_err_mib_s'] = spread
            vms.append(vm)
        return host, vms

    def _dirty_rate_samples(self, conn, doms):
        """``{name: [MiB/s per window]}``; all guests measured at once."""
        samples = {d.name(): [] for d in doms}
        window_s = self.opts.dirty_rate_window_s
        for _ in range(self.opts.dirty_rate_windows if doms else 0):
            started = []
            for dom in doms:
                try:
                    dom.startDirtyRateCalc(window_s, 0)
                    started.append(dom)
                except libvirt.libvirtError as err:
                    LOG.debug('no dirty rate for %s: %s', dom.name(), err)
            time.sleep(window_s)
            deadline = time.monotonic() + window_s + 10.0
            pending = list(started)
            while pending and time.monotonic() < deadline:
                try:
                    records = conn.domainListGetStats(
                        pending, libvirt.VIR_DOMAIN_STATS_DIRTYRATE)
                except libvirt.libvirtError:
                    break
                pending = []
                for dom, stats in records:
                    if stats.get('dirtyrate.calc_status') == 2:
                        samples[dom.name()].append(
                            stats.get('dirtyrate.megabytes_per_second', 0))
                    else:
                        pending.append(dom)
                if pending:
                    time.sleep(0.2)
        return samples

    def migration_uri(self):
        return self._uri_for(self.opts.migration_inbound_addr or self.host)

    def _uri_for(self, address):
        return self.opts.migration_uri_scheme % address

    # -- migrations --

    def start_migration(self, step):
        dom = self._lookup(step.vm)
        persistent = bool(dom.isPersistent())
        try:
            flags, params = libvirt_stats.migrate_args(
                step, persistent=persistent,
                native_tls=self.opts.live_migration_with_native_tls,
                tunnelled=self.opts.live_migration_tunnelled,
                compression=self.opts.compression_methods,
                parallel_connections=self.opts.parallel_connections)
        except ValueError as err:
            raise exception.MigrationFailed(str(err)) from err
        dest = step.destination_uri or self._uri_for(step.destination)
        job = _Migration(step.vm, dom, step)
        with self._lock:
            old = self._jobs.get(step.vm)
            if old is not None and not old.done.is_set():
                raise exception.MigrationFailed(
                    f'{step.vm} is already migrating'
                    + (f' (step {old.step.step_id})' if old.step else ''))
            self._jobs[step.vm] = job
        limit_ms = self._downtime_limit_ms(step)
        try:
            dom.migrateSetMaxDowntime(limit_ms, 0)
        except libvirt.libvirtError as err:
            LOG.warning('%s: cannot set the downtime limit before the '
                        'migration: %s', step.vm, err)
        LOG.info('%s: migrating to %s (flags %#x, downtime limit %d ms)',
                 step.vm, dest, flags, limit_ms)
        thread = threading.Thread(target=self._migrate,
                                  args=(job, dest, params, flags),
                                  name=f'libvirt-migrate-{step.vm}',
                                  daemon=True)
        thread.start()
        self._wait_running(job, limit_ms)

    def _downtime_limit_ms(self, step):
        predicted = step.predicted or {}
        rate = step.bandwidth_mib_s
        if not rate and predicted.get('total_s'):
            rate = predicted.get('bytes', 0) / migration.MIB / float(
                predicted['total_s'])
        params = self.conf.cost_model
        return libvirt_stats.downtime_limit_ms(
            step.max_downtime_ms, rate or 0.0, params.switchover_ms,
            params.device_state_mib)

    def _migrate(self, job, dest, params, flags):
        try:
            job.dom.migrateToURI3(dest, params, flags)
        except libvirt.libvirtError as err:
            job.error = err.get_error_message()
            job.error_code = err.get_error_code()
        finally:
            job.done.set()

    def _wait_running(self, job, limit_ms):
        """Return once libvirt shows the job (and re-apply the downtime
        limit); raise when the call failed first."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if job.done.wait(0.1):
                if job.error is not None:
                    with self._lock:
                        self._jobs.pop(job.vm, None)
                    raise exception.MigrationFailed(
                        f'{job.vm}: migration did not start: '
                        f'{job.error}')
                return
            try:
                stats = job.dom.jobStats()
            except libvirt.libvirtError:
                continue
            if libvirt_stats.job_state(stats.get('type')) == \
                    migration.JOB_RUNNING:
                try:
                    job.dom.migrateSetMaxDowntime(limit_ms, 0)
                except libvirt.libvirtError as err:
                    LOG.warning('%s: downtime limit not set: %s',
                                job.vm, err)
                return
        LOG.warning('%s: libvirt shows no job %.0f s after the start',
                    job.vm, START_TIMEOUT_S)

    def job_info(self, vm):
        with self._lock:
            job = self._jobs.get(vm)
        if job is None:
            return migration.JobInfo()
        if not job.done.is_set():
            try:
                info = libvirt_stats.running_job(job.dom.jobStats(),
                                                 job.phase)
            except libvirt.libvirtError:
                info = None
            if job.external and (info is None
                                 or info.state == migration.JOB_NONE):
                self._external_ended(job)
            if not job.done.is_set():
                if (info is None or info.state != migration.JOB_RUNNING
                        or not info.memory_total_bytes):
                    # setup, or the last instant: it still runs
                    last = job.history[-1] if job.history else None
                    return last or migration.JobInfo(
                        state=migration.JOB_RUNNING, phase=job.phase)
                if not job.flowing:
                    job.flowing = True
                    if job.tuning is not None:
                        try:
                            self._apply_tuning(job, *job.tuning)
                        except exception.MigrationFailed as err:
                            LOG.warning('%s', err)
                if job.phase == migration.POSTCOPY and not job.switch_seen:
                    self._follow_switch(job)
                with self._lock:
                    job.history.append(info)
                    del job.history[:-HISTORY]
                return info
        return self._final(job)

    def _final(self, job):
        with self._lock:
            if job.final is not None:
                return job.final
        if job.error is None:
            state, error = migration.JOB_COMPLETED, None
            job.got_event.wait(self.opts.stats_wait_s)
        elif (job.aborted or job.error_code
              == libvirt_stats.VIR_ERR_OPERATION_ABORTED):
            state, error = migration.JOB_CANCELLED, job.error
        else:
            state, error = migration.JOB_FAILED, job.error
        # post-copy only when it was seen (or pages were requested): a
        # switch asked for too late leaves a pre-copy
        phase = (migration.POSTCOPY if job.switch_seen
                 else migration.PRECOPY)
        last = dataclasses.replace(
            job.history[-1] if job.history else migration.JobInfo(),
            phase=phase)
        stats = job.event_stats if state == migration.JOB_COMPLETED else None
        final = libvirt_stats.finished_job(stats, last, state, error)
        with self._lock:
            job.final = final
        return final

    def attach_job(self, vm):
        """Follow a migration of ``vm`` that someone else started; see
        :meth:`nova_livemig.drivers.ComputeDriver.attach_job`."""
        with self._lock:
            job = self._jobs.get(vm)
        if job is not None and not job.done.is_set():
            return True
        try:
            dom = self._lookup(vm)
            stats = dom.jobStats()
        except (exception.NotFound, libvirt.libvirtError):
            return False
        if libvirt_stats.job_state(stats.get('type')) != \
                migration.JOB_RUNNING:
            return False
        with self._lock:
            self._jobs[vm] = _Migration(vm, dom)
        return True

    def _external_ended(self, job):
        """An attached job shows no job any more: completed when the VM
        left (its domain here is gone or shut off), failed or cancelled
        (libvirt's completed statistics tell) when it still runs here."""
        try:
            active = job.dom.isActive()
        except libvirt.libvirtError:
            active = False
        if active:
            try:
                kind = job.dom.jobStats(
                    libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED).get('type')
            except libvirt.libvirtError:
                kind = None
            job.error = 'the migration ended; the VM is still here'
            if kind == libvirt_stats.VIR_DOMAIN_JOB_CANCELLED:
                job.error_code = libvirt_stats.VIR_ERR_OPERATION_ABORTED
        job.done.set()

    def tune_job(self, vm, bandwidth_mib_s=None, max_downtime_ms=None):
        with self._lock:
            job = self._jobs.get(vm)
        if job is None or job.done.is_set():
            raise exception.MigrationFailed(
                f'{vm} has no running migration to tune')
        job.tuning = (bandwidth_mib_s, max_downtime_ms)
        self._apply_tuning(job, bandwidth_mib_s, max_downtime_ms)

    def _apply_tuning(self, job, bandwidth_mib_s, max_downtime_ms):
        try:
            if bandwidth_mib_s is not None:
                job.dom.migrateSetMaxSpeed(
                    max(int(math.ceil(bandwidth_mib_s)), 1), 0)
            if max_downtime_ms is not None:
                job.dom.migrateSetMaxDowntime(
                    max(int(max_downtime_ms), 1), 0)
        except libvirt.libvirtError as err:
            raise exception.MigrationFailed(
                f'{job.vm}: the hypervisor refused bandwidth_mib_s='
                f'{bandwidth_mib_s}, max_downtime_ms={max_downtime_ms}: '
                f'{err.get_error_message()}') from err

    def history(self, vm):
        """The running samples of ``vm``'s job, oldest first."""
        with self._lock:
            job = self._jobs.get(vm)
            return list(job.history) if job is not None else []

    def switch_to_postcopy(self, vm):
        """Switch to post-copy. Asked for while QEMU still sets up (it
        refuses then, or forgets the request when the migration really
        starts), the switch is sent, and sent again, at each look at the
        job until the source shows the guest paused for post-copy."""
        with self._lock:
            job = self._jobs.get(vm)
        if job is None or job.done.is_set():
            raise exception.MigrationFailed(
                f'{vm} has no running migration to switch to post-copy')
        job.phase = migration.POSTCOPY
        if any(h.memory_total_bytes for h in job.history):
            self._start_postcopy(job)

    def _follow_switch(self, job):
        try:
            state, reason = job.dom.state()
        except libvirt.libvirtError:
            return
        if state == libvirt.VIR_DOMAIN_PAUSED and reason in (
                libvirt.VIR_DOMAIN_PAUSED_POSTCOPY,
                libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED):
            job.switch_seen = True
        elif (job.switch_sent_at is None
              or time.monotonic() - job.switch_sent_at >= 1.0):
            self._start_postcopy(job)

    def _start_postcopy(self, job):
        """Send migrateStartPostCopy from a thread of its own: libvirt
        may hold the call for seconds while the migration job is busy,
        and the monitor must keep looking meanwhile."""
        with self._lock:
            if job.switch_thread is not None and \
                    job.switch_thread.is_alive():
                return
            job.switch_sent_at = time.monotonic()
            job.switch_thread = threading.Thread(
                target=self._send_postcopy, args=(job,), daemon=True,
                name=f'libvirt-postcopy-{job.vm}')
            job.switch_thread.start()

    def _send_postcopy(self, job):
        try:
            job.dom.migrateStartPostCopy(0)
        except libvirt.libvirtError as err:
            if not job.done.is_set():
                LOG.info('%s: switch to post-copy refused (sent again at '
                         'the next look): %s', job.vm,
                         err.get_error_message())
        finally:
            job.switch_sent_at = time.monotonic()

    def abort(self, vm):
        with self._lock:
            job = self._jobs.get(vm)
        if (job is None or job.done.is_set()
                or job.phase == migration.POSTCOPY):
            return False
        job.aborted = True
        try:
            job.dom.abortJob()
        except libvirt.libvirtError as err:
            LOG.warning('%s: abort refused: %s', vm,
                        err.get_error_message())
            return False
        return True

    def completed_stats(self, vm):
        return migration.stats_of(self.job_info(vm))

    def cleanup(self, vm):
        with self._lock:
            job = self._jobs.get(vm)
            if job is not None and job.done.is_set():
                del self._jobs[vm]
