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
* Post-copy recovery (libvirt >= 8.5, QEMU ``postcopy-recover``): a
  post-copy whose link broke is paused on both sides (QEMU saw the
  socket fail, or the agent asked: :meth:`LibvirtDriver.pause_postcopy`,
  ``abortJobFlags(VIR_DOMAIN_ABORT_JOB_POSTCOPY)``); the job stays
  running, shown ``postcopy_paused``, and
  :meth:`LibvirtDriver.resume_postcopy` calls ``migrateToURI3`` again
  with the same parameters and ``VIR_MIGRATE_POSTCOPY_RESUME`` once the
  failed call returned and a TCP connection to the destination's
  libvirtd succeeds. The decisions are the agent's
  (:mod:`nova_livemig.drivers.postcopy_recovery`).
* Migrations nova-compute started: :meth:`LibvirtDriver.attach_job` and
  :meth:`LibvirtDriver.tune_job` (applied again once pages flow).

``doc/calibration.md`` has what the driver measured on the testbed.
"""

import dataclasses
import socket
import threading
import time

from oslo_log import log as logging

from nova_livemig import drivers
from nova_livemig import exception
from nova_livemig.algorithms import downtime
from nova_livemig.algorithms import postcopy
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
#: libvirtd's port for each ``[libvirt] live_migration_scheme``
LIBVIRTD_PORTS = {'tls': 16514, 'tcp': 16509, 'ssh': 22}
#: seconds a probe of the destination's libvirtd may take
PROBE_TIMEOUT_S = 2.0
#: seconds the destination must have shown its side of a post-copy failed
#: before a resume is sent (libvirt 9.0 there hangs a resume that comes
#: while it still handles the failure)
RESUME_SETTLE_S = 3.0
#: seconds a resume may run with the source still paused before the
#: driver tries to interrupt it (``VIR_DOMAIN_ABORT_JOB_POSTCOPY``; QEMU
#: refuses while its side is still paused: doc/postcopy-recovery.md)
RESUME_STUCK_S = 30.0
#: the destination's state when this agent cannot ask its libvirtd
UNKNOWN = object()


def probe_tcp(address, port, timeout_s=PROBE_TIMEOUT_S):
    """True when a TCP connection to ``address:port`` opens within
    ``timeout_s``: the path a resumed post-copy needs is there."""
    try:
        with socket.create_connection((address, port), timeout=timeout_s):
            return True
    except OSError:
        return False


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
    :param probe: ``probe(address, port)`` -> bool, whether this host
        reaches a destination's libvirtd (:func:`probe_tcp`; tests whose
        driver runs off the source host probe from the source)
    """

    name = 'libvirt'

    def __init__(self, conf, probe=probe_tcp):
        super().__init__(conf)
        self._probe = probe
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

    def postcopy_recoverable(self):
        """True when this host's libvirt and QEMU can pause and resume a
        post-copy whose link broke (libvirt >= 8.5, QEMU >= 3.0; see
        :func:`nova_livemig.algorithms.postcopy.recoverable`)."""
        conn = self._connection()
        return postcopy.recoverable(conn.getLibVersion(), conn.getVersion())

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
        job.args, job.address = (dest, params, flags), address
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
        self._start_call(job, flags)
        self._wait_running(job, limit_ms)

    def _start_call(self, job, flags):
        dest, params, _ = job.args
        job.call_started_at = time.monotonic()
        job.call = threading.Thread(target=self._migrate,
                                    args=(job, dest, params, flags),
                                    name=f'libvirt-migrate-{job.vm}',
                                    daemon=True)
        job.call.start()

    def _migrate(self, job, dest, params, flags):
        error = code = None
        try:
            job.dom.migrateToURI3(dest, params, flags)
        except libvirt.libvirtError as err:
            error, code = err.get_error_message(), err.get_error_code()
        except BaseException as err:  # never leave the job running
            error, code = str(err), None
            raise
        finally:
            paused = error is not None and self._postcopy_paused(job)
            if paused:
                LOG.warning('%s: post-copy paused, its link broken (%s); '
                            'waiting to resume', job.vm, error)
            elif error is not None and self._left_source(job):
                LOG.warning('%s: libvirt reported %r, but the VM left this '
                            'host: its resumed post-copy completed', job.vm,
                            error)
                error = code = None
            job.call_returned(error, code, paused)

    def _left_source(self, job):
        """True when a job that was resumed after its post-copy paused
        has no active domain here any more: QEMU completed the recovery.

        libvirt 9.0 does not know QEMU 10's ``postcopy-recover-setup``
        state: it can report a resume failed while QEMU completes it, and
        then shuts the source down as migrated. The destination must
        show the VM running, its post-copy no longer failed: a source
        destroyed meanwhile is no completion."""
        if not job.resumes:
            return False
        try:
            if job.dom.isActive():
                return False
        except libvirt.libvirtError:
            pass
        return self._destination_state(job) == (
            libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_MIGRATED)

    def _destination_state(self, job):
        """``(state, reason)`` of the job's domain on the destination,
        None when it is absent there, :data:`UNKNOWN` when this agent
        cannot open a connection to the destination's libvirtd (no client
        certificate, say)."""
        try:
            conn = libvirt.open(job.args[0])
        except libvirt.libvirtError as err:
            LOG.debug('%s: cannot ask the destination: %s', job.vm, err)
            return UNKNOWN
        try:
            return tuple(conn.lookupByUUIDString(
                job.dom.UUIDString()).state())
        except libvirt.libvirtError:
            return None
        finally:
            conn.close()

    def _postcopy_paused(self, job):
        """True when the source shows ``job``'s post-copy failed and
        paused (QEMU ``postcopy-paused``): it can be resumed."""
        if job.phase != migration.POSTCOPY:
            return False
        try:
            state, reason = job.dom.state()
        except libvirt.libvirtError:
            return False
        return (state == libvirt.VIR_DOMAIN_PAUSED
                and reason == libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)

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
        if (not job.done.is_set() and job.postcopy_failed
                and self._left_source(job)):
            LOG.warning('%s: the VM left this host: its resumed post-copy '
                        'completed', vm)
            job.call_returned(None, None, False)
        if not job.done.is_set() and (job.postcopy_failed
                                      or self._postcopy_paused(job)):
            return dataclasses.replace(
                job.setup_sample(), postcopy_paused=True,
                postcopy_started_s=job.postcopy_started_s)
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

    def _destination_paused_since(self, job, now):
        """When the destination was first seen (at ``now`` or before)
        with the post-copy failed on its side, or None while it is not:
        libvirt 9.0 there can hang a resume that arrives while it still
        handles the failure. When the destination cannot be asked, the
        time the failed call returned stands in."""
        dest = self._destination_state(job)
        if dest is UNKNOWN:
            return job.call_returned_at
        if dest in (
                (libvirt.VIR_DOMAIN_RUNNING,
                 libvirt.VIR_DOMAIN_RUNNING_POSTCOPY_FAILED),
                (libvirt.VIR_DOMAIN_PAUSED,
                 libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)):
            if job.dest_failed_at is None:
                job.dest_failed_at = now
        else:
            job.dest_failed_at = None
        return job.dest_failed_at

    def pause_postcopy(self, vm, force=False):
        """``abortJobFlags(VIR_DOMAIN_ABORT_JOB_POSTCOPY)``: QEMU's
        ``migrate-pause``; see
        :meth:`nova_livemig.drivers.ComputeDriver.pause_postcopy`.

        :param force: send it even though the job shows paused already
            (to interrupt a resume that hangs)"""
        job = self._jobs.get(vm)
        if (job is None or job.done.is_set() or not job.switch_seen
                or (job.postcopy_failed and not force)):
            return False
        try:
            job.dom.abortJobFlags(libvirt.VIR_DOMAIN_ABORT_JOB_POSTCOPY)
        except libvirt.libvirtError as err:
            LOG.warning('%s: post-copy pause refused: %s', vm,
                        err.get_error_message())
            return False
        LOG.warning('%s: post-copy paused: no byte moved, its link is '
                    'taken for broken', vm)
        return True

    def resume_postcopy(self, vm):
        """``migrateToURI3`` again, same parameters, with
        ``VIR_MIGRATE_POSTCOPY_RESUME``; see
        :meth:`nova_livemig.drivers.ComputeDriver.resume_postcopy`."""
        job = self._jobs.running(vm, 'resume')
        now = time.monotonic()
        if job.call is not None and job.call.is_alive():
            # the failed call has not returned yet, or a resume hangs
            if (job.resumes and not job.unstick_sent
                    and now - job.call_started_at > RESUME_STUCK_S
                    and self._postcopy_paused(job)):
                job.unstick_sent = True
                LOG.warning('%s: the resume shows nothing after %.0f s; '
                            'interrupting it to try again', vm,
                            now - job.call_started_at)
                self.pause_postcopy(vm, force=True)
            return False
        if not (job.postcopy_failed or self._postcopy_paused(job)):
            return False
        port = LIBVIRTD_PORTS[self.opts.live_migration_scheme]
        if not self._probe(job.address, port):
            LOG.info('%s: destination %s:%d unreachable; post-copy stays '
                     'paused', vm, job.address, port)
            job.dest_failed_at = None
            return False
        since = self._destination_paused_since(job, now)
        if since is None or now - since < RESUME_SETTLE_S:
            return False
        _, _, flags = job.args
        job.postcopy_failed = False
        job.dest_failed_at = None
        job.unstick_sent = False
        job.resuming()
        LOG.warning('%s: resuming the paused post-copy (attempt %d)', vm,
                    job.resumes)
        self._start_call(job, flags | libvirt.VIR_MIGRATE_POSTCOPY
                         | libvirt.VIR_MIGRATE_POSTCOPY_RESUME)
        return True

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
