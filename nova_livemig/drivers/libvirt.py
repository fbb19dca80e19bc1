"""``libvirt``: QEMU guests through libvirt; the only module importing
``libvirt``.

It stays thin: pure helpers hold the rest (``libvirt_flags`` the flags,
``libvirt_stats`` the statistics, ``libvirt_job`` the jobs,
:mod:`nova_livemig.algorithms.downtime` the downtime limit), and the
decisions (post-copy switch, abort) are the agent's, from
:mod:`nova_livemig.drivers.migration`.

* A migration is ``migrateToURI3`` (live, peer to peer) in a thread of its
  own, to ``qemu+SCHEME://ADDRESS/system``: the scheme is this agent's
  ``[libvirt] live_migration_scheme`` (``tls`` by default), the address
  the step's checked destination (:mod:`~nova_livemig.drivers.libvirt_uri`:
  no URI from a message reaches libvirt). QEMU's downtime limit is the
  step's target less the switchover and device state
  (:mod:`nova_livemig.algorithms.downtime`, ``migrateSetMaxDowntime``).
* Statistics: ``jobStats()`` of the source while the call runs; at the
  end the source's job-completed event (after post-copy libvirt 9.0 keeps
  no completed statistics anywhere else), which needs libvirt's default
  event loop running in a thread before any connection opens; after an
  abort or a failure there are none, so the last running sample stands.
* Dirty rate: ``calc-dirty-rate`` page sampling over
  ``[libvirt] dirty_rate_windows`` short windows, reported as mean and
  spread, then one ``dirty_rate_long_window_s`` window; every window goes
  into the VM's ``dirty_rate_samples`` (where the distinct-page rate
  saturates shows the working set: :mod:`nova_livemig.dirtyrate`). All
  guests are measured at once, window by window.
* Post-copy: ``migrateStartPostCopy`` from a thread of its own (libvirt
  may hold it for seconds), sent again every second until the source
  shows the guest paused for post-copy (QEMU refuses it during setup, and
  a request made then can be lost).
* Migrations nova-compute started: :meth:`LibvirtDriver.attach_job` and
  :meth:`LibvirtDriver.tune_job` (applied again once pages flow).

``doc/calibration.md`` has what the driver measured on the testbed.
"""

import threading
import time

from oslo_log import log as logging

from nova_livemig import drivers
from nova_livemig import exception
from nova_livemig.algorithms import downtime
from nova_livemig.conf import cost_model
from nova_livemig.drivers import libvirt_flags
from nova_livemig.drivers import libvirt_job
from nova_livemig.drivers import libvirt_stats
from nova_livemig.drivers import libvirt_uri
from nova_livemig.drivers import migration

try:
    import libvirt
    import libvirt_qemu
except ImportError:  # the driver refuses to start; doctests still import
    libvirt = libvirt_qemu = None

LOG = logging.getLogger(__name__)

_EVENT_LOCK = threading.Lock()
_EVENT_THREAD = None
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
        libvirt_flags.check_options(self.opts)
        #: this host's checked migration_inbound_addr, or None
        self._inbound_addr = libvirt_uri.inbound_address(self.opts)
        #: the dirty-rate window lengths of one measurement
        self._windows_s = libvirt_stats.dirty_rate_windows_s(
            self.opts.dirty_rate_windows, self.opts.dirty_rate_window_s,
            self.opts.dirty_rate_long_window_s)
        self._jobs = libvirt_job.JobTable()
        #: guards the connection, the jobs and their fields
        self._lock = self._jobs.lock
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
        self._jobs.completed_event(self._vm_id(dom), params)

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
        host = libvirt_stats.host_entry(self.host, info, host_before,
                                        host_after)
        vms = []
        for dom in doms:
            try:
                dom_info = dom.info()
            except libvirt.libvirtError:
                continue  # it left meanwhile
            vms.append(libvirt_stats.vm_entry(
                self._vm_id(dom), self.host, dom_info,
                cpu_before[dom.name()], wall, samples[dom.name()]))
        return host, vms

    def _dirty_rate_samples(self, conn, doms):
        """``{name: [(window_s, MiB/s), ...]}``, one per window that
        completed; all guests measured at once, window by window: the
        short windows through the QEMU monitor first
        (``[libvirt] dirty_rate_short_window_ms``), then libvirt's."""
        samples = {d.name(): [] for d in doms}
        short_ms = self.opts.dirty_rate_short_window_ms
        for _ in range(self.opts.dirty_rate_windows if short_ms and doms
                       else 0):
            for name, rate in self._short_window(doms, short_ms).items():
                samples[name].append((short_ms / 1000.0, rate))
        for window_s in self._windows_s if doms else ():
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
                        samples[dom.name()].append((window_s, stats.get(
                            'dirtyrate.megabytes_per_second', 0)))
                    else:
                        pending.append(dom)
                if pending:
                    time.sleep(0.2)
        return samples

    def _short_window(self, doms, window_ms):
        """``{name: MiB/s}`` of one ``window_ms`` window of every guest,
        through ``calc-dirty-rate`` on its QEMU monitor; a guest whose
        QEMU refuses (before 8.2) or does not answer in time is left
        out."""
        command = libvirt_stats.qmp_calc_dirty_rate(
            window_ms, self.opts.dirty_rate_sample_pages)
        started = []
        for dom in doms:
            try:
                libvirt_qemu.qemuMonitorCommand(dom, command, 0)
                started.append(dom)
            except libvirt.libvirtError as err:
                LOG.debug('no short dirty-rate window for %s: %s',
                          dom.name(), err)
        time.sleep(window_ms / 1000.0)
        rates = {}
        deadline = time.monotonic() + window_ms / 1000.0 + 5.0
        while started and time.monotonic() < deadline:
            waiting = []
            for dom in started:
                try:
                    rate = libvirt_stats.qmp_dirty_rate(
                        libvirt_qemu.qemuMonitorCommand(
                            dom, libvirt_stats.QMP_QUERY_DIRTY_RATE, 0))
                except (libvirt.libvirtError, ValueError) as err:
                    LOG.debug('no short dirty-rate window for %s: %s',
                              dom.name(), err)
                    continue
                if rate is None:
                    waiting.append(dom)
                else:
                    rates[dom.name()] = rate
            started = waiting
            if started:
                time.sleep(0.05)
        return rates

    def migration_uri(self):
        """This host's ``[libvirt] migration_inbound_addr`` (a bare
        address, which sources check and put in URIs of their own), or
        None: sources then use the ``[agent] host`` name."""
        return self._inbound_addr

    # -- migrations --

    def start_migration(self, step):
        address, reported = libvirt_uri.destination(step)
        dest = libvirt_uri.connection_uri(self.opts.live_migration_scheme,
                                          address)
        dom = self._lookup(step.vm)
        flags, params = libvirt_flags.step_args(
            step, self.opts, persistent=bool(dom.isPersistent()),
            migrate_uri=libvirt_uri.migrate_uri(address) if reported
            else None)
        job = libvirt_job.MigrationJob(step.vm, dom, step)
        self._jobs.add(job)
        limit_ms = downtime.step_downtime_limit_ms(
            step, cost_model.params_from(self.conf))
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
                    self._jobs.drop(job.vm)
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
                    return job.setup_sample()
                if not job.flowing:
                    job.flowing = True
                    if job.tuning is not None:
                        try:
                            self._apply_tuning(job, *job.tuning)
                        except exception.MigrationFailed as err:
                            LOG.warning('%s', err)
                if job.phase == migration.POSTCOPY and not job.switch_seen:
                    self._follow_switch(job, info)
                with self._lock:
                    job.record(info)
                return info
        return self._jobs.final(job, self.opts.stats_wait_s)

    def attach_job(self, vm):
        """Follow a migration of ``vm`` that someone else started; see
        :meth:`nova_livemig.drivers.ComputeDriver.attach_job`."""
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
        self._jobs.replace(libvirt_job.MigrationJob(vm, dom))
        return True

    def _external_ended(self, job):
        """An attached job shows no job any more: see
        :meth:`~nova_livemig.drivers.libvirt_job.MigrationJob.ended_elsewhere`
        (its domain here gone or shut off: the VM left)."""
        try:
            active = job.dom.isActive()
        except libvirt.libvirtError:
            active = False
        kind = None
        if active:
            try:
                kind = job.dom.jobStats(
                    libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED).get('type')
            except libvirt.libvirtError:
                kind = None
        job.ended_elsewhere(active, kind)

    def tune_job(self, vm, bandwidth_mib_s=None, max_downtime_ms=None):
        job = self._jobs.running(vm, 'tune')
        job.tuning = (bandwidth_mib_s, max_downtime_ms)
        self._apply_tuning(job, bandwidth_mib_s, max_downtime_ms)

    def _apply_tuning(self, job, bandwidth_mib_s, max_downtime_ms):
        try:
            if bandwidth_mib_s is not None:
                job.dom.migrateSetMaxSpeed(
                    libvirt_flags.speed_mib_s(bandwidth_mib_s), 0)
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
        return self._jobs.history(vm)

    def switch_to_postcopy(self, vm):
        """Switch to post-copy. Asked for while QEMU still sets up (it
        refuses then, or forgets the request when the migration really
        starts), the switch is sent, and sent again, at each look at the
        job until the source shows the guest paused for post-copy."""
        job = self._jobs.running(vm, 'switch to post-copy')
        job.phase = migration.POSTCOPY
        if job.pages_moved():
            self._jobs.start_switch(job, self._send_postcopy)

    def _follow_switch(self, job, info):
        """:param info: the running JobInfo of this look"""
        try:
            state, reason = job.dom.state()
        except libvirt.libvirtError:
            return
        if state == libvirt.VIR_DOMAIN_PAUSED and reason in (
                libvirt.VIR_DOMAIN_PAUSED_POSTCOPY,
                libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED):
            job.saw_switch(info.elapsed_s)
        elif job.switch_due(time.monotonic()):
            self._jobs.start_switch(job, self._send_postcopy)

    def _send_postcopy(self, job):
        """migrateStartPostCopy, in a thread of its own (see
        :meth:`~nova_livemig.drivers.libvirt_job.JobTable.start_switch`)."""
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
        self._jobs.forget_done(vm)
