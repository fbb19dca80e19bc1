"""``fake``: a simulated compute host for tests and demos.

Each host's state (its snapshot-v1 host entry and the VMs on it) is one
JSON file ``<state_dir>/<host>.json``, shared by every fake agent process
on the machine: reads and writes hold an ``flock`` on
``<state_dir>/.lock`` and files are replaced by an atomic rename. A host's
file is created from ``[fake_driver] snapshot_file`` the first time its
agent starts.

A migration takes the cost model's predicted ``total_s`` times
``[fake_driver] time_scale``, with seeded noise (the same step and seed
always take the same time). Its job statistics ramp like a real pre-copy
(passes counted up to the predicted iterations, remaining bytes falling
to zero) and count the guest's zero pages in its first pass (the memory
above the VM's ``resident_mib``, or a seeded 10-50 % of it when the entry
has none). When it completes, the VM moves from the source's file into the
destination's. :meth:`FakeDriver.measure` reports each VM's
``dirty_rate_samples`` as page sampling would read its guest over the
libvirt driver's default windows (:data:`SAMPLE_WINDOWS_S`): the distinct
pages dirtied at ``dirty_rate_mib_s`` over ``wws_mib`` (all memory when
the entry has none), unless the entry has samples of its own; the entry's
``dirty_rate_mib_s`` stays the guest's true write rate. Failure
injection: ``fail_vms`` fail part-way, ``down_hosts`` (or a destination
whose file says ``"state": "down"``, or that has no file) refuse
migrations.
"""

import contextlib
import fcntl
import json
import os
import random
import tempfile
import threading
import time

from nova_livemig import dirtyrate
from nova_livemig import drivers
from nova_livemig import exception
from nova_livemig import model
from nova_livemig.drivers import migration

MIB = migration.MIB
#: QEMU's target page size
PAGE_BYTES = 4096
#: the dirty-rate windows of a measurement, seconds: the libvirt
#: driver's defaults (three short windows and a long one)
SAMPLE_WINDOWS_S = (1.0, 1.0, 1.0, 3.0)


class _Job:
    """A simulated migration job (mutable; guarded by the driver's lock)."""

    def __init__(self, step, started, duration_s, downtime_ms, fail_at_s,
                 zero_pages=0):
        self.step = step
        self.started = started
        self.duration_s = duration_s
        self.downtime_ms = downtime_ms
        self.fail_at_s = fail_at_s
        #: the guest's zero pages, all sent (as markers) in the first pass
        self.zero_pages = zero_pages
        self.state = migration.JOB_RUNNING
        self.phase = migration.PRECOPY
        #: seconds from the start when it switched to post-copy
        self.postcopy_started_s = None
        self.ended_s = None
        self.error = None
        #: started by someone else (nova-compute): see start_external_job
        self.external = False
        self.attached = False
        #: what tune_job set last (None: left as it was)
        self.bandwidth_mib_s = None
        self.max_downtime_ms = None


class FakeDriver(drivers.ComputeDriver):
    """A simulated host named ``[agent] host``.

    :param conf: config with ``[agent]`` and ``[fake_driver]`` registered
    :param clock: monotonic clock, seconds (tests pass their own)
    """

    name = 'fake'

    def __init__(self, conf, clock=time.monotonic):
        super().__init__(conf)
        self.host = conf.agent.host
        self.opts = conf.fake_driver
        self.state_dir = self.opts.state_dir
        self.clock = clock
        self._jobs = {}
        self._lock = threading.Lock()
        #: every tune_job call: ``(vm, bandwidth_mib_s, max_downtime_ms)``
        self.tunings = []
        os.makedirs(self.state_dir, exist_ok=True)
        with self._flock():
            if not os.path.exists(self._path(self.host)):
                self._write(self.host, self._initial_state())

    # -- shared state files --

    def _path(self, host):
        return os.path.join(self.state_dir, f'{host}.json')

    @contextlib.contextmanager
    def _flock(self):
        with open(os.path.join(self.state_dir, '.lock'), 'a') as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _read(self, host):
        """The state of ``host``, or None when it has no file."""
        try:
            with open(self._path(host), encoding='utf-8') as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except ValueError as err:
            raise exception.InvalidInput(self._path(host), '<file>',
                                         f'JSON state ({err})') from err

    def _write(self, host, state):
        # compact: json's C encoder does not indent (5x faster here)
        text = json.dumps(state, sort_keys=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=f'.{host}.')
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        os.replace(tmp, self._path(host))

    def _initial_state(self):
        path = self.opts.snapshot_file
        if not path:
            raise exception.InvalidInput(
                '[fake_driver] snapshot_file', path,
                f'a snapshot v1 file naming host {self.host!r} (no state '
                f'file {self._path(self.host)} exists yet)')
        snap = model.load(path).to_primitive()
        for host in snap['hosts']:
            if host['name'] == self.host:
                vms = [v for v in snap['vms'] if v['host'] == self.host]
                return {'host': host, 'vms': vms}
        raise exception.NotFound('host', self.host,
                                 [h['name'] for h in snap['hosts']])

    # -- ComputeDriver --

    def measure(self):
        with self._flock():
            state = self._read(self.host)
        if state is None:
            raise exception.NotFound('fake host state', self._path(self.host))
        return state['host'], [_with_samples(vm) for vm in state['vms']]

    def migration_uri(self):
        return f'fake://{self.host}'

    def start_migration(self, step):
        with self._flock():
            state = self._read(self.host) or {'vms': []}
            vm = next((v for v in state['vms'] if v['id'] == step.vm), None)
        if vm is None:
            raise exception.NotFound(
                'vm', step.vm, [v['id'] for v in state['vms']])
        rng = random.Random(f'{self.opts.seed}/{step.step_id}')
        factor = max(0.05, rng.gauss(1.0, self.opts.noise))
        duration = step.predicted_total_s * self.opts.time_scale * factor
        downtime = float(step.predicted.get('downtime_ms', 0.0)) * max(
            0.05, rng.gauss(1.0, self.opts.noise))
        fail_at = (duration * self.opts.fail_at_fraction
                   if step.vm in self.opts.fail_vms else None)
        with self._lock:
            old = self._jobs.get(step.vm)
            if old is not None and old.state == migration.JOB_RUNNING:
                raise exception.MigrationFailed(
                    f'{step.vm} is already migrating (step '
                    f'{old.step.step_id})')
            job = _Job(step, self.clock(), duration, downtime, fail_at,
                       zero_pages=self._zero_pages(vm))
            self._jobs[step.vm] = job
        down = self._destination_down(step.destination)
        if down:
            with self._lock:
                self._end(job, migration.JOB_FAILED, 0.0, down)

    def start_external_job(self, step):
        """Test hook: a migration started by someone else (nova-compute
        under the ``nova`` executor) as the agent finds it: it runs and
        ends like one of :meth:`start_migration`, but the agent learns of
        it only through :meth:`attach_job`.

        :param step: the :class:`~nova_livemig.messages.MigrationStep`
            the simulation takes its duration and destination from
        """
        self.start_migration(step)
        with self._lock:
            self._jobs[step.vm].external = True

    def attach_job(self, vm):
        with self._lock:
            job = self._jobs.get(vm)
            if job is None:
                return False
            self._advance(job)
            if job.state != migration.JOB_RUNNING:
                return False
            job.attached = True
            return True

    def tune_job(self, vm, bandwidth_mib_s=None, max_downtime_ms=None):
        with self._lock:
            job = self._jobs.get(vm)
            if job is not None:
                self._advance(job)
            if job is None or job.state != migration.JOB_RUNNING:
                raise exception.MigrationFailed(
                    f'{vm} has no running migration to tune')
            if bandwidth_mib_s is not None:
                job.bandwidth_mib_s = bandwidth_mib_s
            if max_downtime_ms is not None:
                job.max_downtime_ms = max_downtime_ms
            self.tunings.append((vm, bandwidth_mib_s, max_downtime_ms))

    def _zero_pages(self, vm):
        """The zero pages of a VM entry: its memory above
        ``resident_mib``, or a fraction seeded by the VM's id."""
        memory_mib = float(vm.get('memory_mib', 0))
        resident = vm.get('resident_mib')
        if resident is None:
            rng = random.Random(f'{self.opts.seed}/{vm["id"]}/resident')
            resident = memory_mib * (1.0 - rng.uniform(0.1, 0.5))
        zero_mib = max(memory_mib - min(float(resident), memory_mib), 0.0)
        return int(zero_mib * MIB // PAGE_BYTES)

    def _destination_down(self, destination):
        """Why the destination refuses migrations, or None."""
        if destination in self.opts.down_hosts:
            return f'destination {destination} is down'
        with self._flock():
            return self._refusal(destination, self._read(destination))

    def _refusal(self, destination, state):
        if destination in self.opts.down_hosts:
            return f'destination {destination} is down'
        if state is None:
            return f'destination {destination} is unknown (no agent)'
        if state['host'].get('state', 'up') != 'up':
            return (f'destination {destination} is '
                    f'{state["host"]["state"]}')
        return None

    def _end(self, job, state, elapsed, error=None):
        job.state = state
        job.ended_s = elapsed
        job.error = error

    def _advance(self, job):
        """Move a running job on to the clock; complete or fail it."""
        if job.state != migration.JOB_RUNNING:
            return
        elapsed = self.clock() - job.started
        if job.fail_at_s is not None and elapsed >= job.fail_at_s:
            self._end(job, migration.JOB_FAILED, job.fail_at_s,
                      f'injected failure of {job.step.vm} '
                      '([fake_driver] fail_vms)')
        elif elapsed >= job.duration_s:
            error = self._move_vm(job.step)
            if error:
                self._end(job, migration.JOB_FAILED, job.duration_s, error)
            else:
                self._end(job, migration.JOB_COMPLETED, job.duration_s)

    def _move_vm(self, step):
        """Move the VM's entry into the destination's file; returns an
        error string when the destination refuses or is gone."""
        with self._flock():
            dst = self._read(step.destination)
            error = self._refusal(step.destination, dst)
            if error:
                return error
            src = self._read(self.host)
            moving = [v for v in src['vms'] if v['id'] == step.vm]
            if not moving:
                return f'{step.vm} vanished from {self.host}'
            src['vms'] = [v for v in src['vms'] if v['id'] != step.vm]
            dst['vms'] = [v for v in dst['vms'] if v['id'] != step.vm]
            dst['vms'].append(dict(moving[0], host=step.destination))
            self._write(step.destination, dst)
            self._write(self.host, src)
        return None

    def job_info(self, vm):
        with self._lock:
            job = self._jobs.get(vm)
            if job is None:
                return migration.JobInfo()
            self._advance(job)
            return self._info(job)

    def _info(self, job):
        step = job.step
        elapsed = (job.ended_s if job.ended_s is not None
                   else self.clock() - job.started)
        frac = 1.0 if job.duration_s <= 0 else min(
            elapsed / job.duration_s, 1.0)
        if job.state == migration.JOB_FAILED and job.ended_s == 0.0:
            frac = 0.0
        memory_bytes = int(step.predicted.get('bytes', 0))
        total = max(memory_bytes, 1)
        iterations = max(int(step.predicted.get('iterations', 1)), 1)
        done = job.state == migration.JOB_COMPLETED
        remaining = 0 if done else int(total * (1.0 - frac) ** 1.5)
        # the first pass (1/iterations of the time) meets every zero page
        first_pass = 1.0 if done else min(frac * iterations, 1.0)
        postcopy = job.phase == migration.POSTCOPY
        return migration.JobInfo(
            state=job.state, phase=job.phase, elapsed_s=elapsed,
            processed_bytes=int(memory_bytes * frac),
            remaining_bytes=remaining, total_bytes=total,
            memory_processed_bytes=int(memory_bytes * frac),
            memory_remaining_bytes=remaining, memory_total_bytes=total,
            dirty_rate_mib_s=0.0 if done else self._dirty_rate(step.vm),
            bandwidth_mib_s=(memory_bytes / MIB / job.duration_s
                             if job.duration_s > 0 else 0.0),
            iteration=min(iterations, 1 + int(frac * iterations)),
            downtime_ms=job.downtime_ms if done else None,
            postcopy_requests=0,
            normal_bytes=int(memory_bytes * frac),
            zero_pages=int(job.zero_pages * first_pass),
            postcopy_started_s=job.postcopy_started_s if postcopy else None,
            error=job.error)

    def _dirty_rate(self, vm):
        # the VM's measured rate, cached in the job's step would be stale
        # for a what-if; read once per look (cheap: one small file)
        with self._flock():
            state = self._read(self.host) or {'vms': []}
        for entry in state['vms']:
            if entry['id'] == vm:
                return float(entry.get('dirty_rate_mib_s', 0.0))
        return 0.0

    def switch_to_postcopy(self, vm):
        with self._lock:
            job = self._jobs.get(vm)
            if job is None or job.state != migration.JOB_RUNNING:
                raise exception.MigrationFailed(
                    f'{vm} has no running migration to switch to post-copy')
            if job.phase != migration.POSTCOPY:
                job.postcopy_started_s = min(self.clock() - job.started,
                                             job.duration_s)
            job.phase = migration.POSTCOPY

    def abort(self, vm):
        with self._lock:
            job = self._jobs.get(vm)
            if job is None:
                return False
            self._advance(job)
            if (job.state != migration.JOB_RUNNING
                    or job.phase == migration.POSTCOPY):
                return False
            self._end(job, migration.JOB_CANCELLED,
                      self.clock() - job.started, 'aborted on request')
            return True

    def completed_stats(self, vm):
        info = self.job_info(vm)
        return migration.stats_of(info)

    def cleanup(self, vm):
        with self._lock:
            job = self._jobs.get(vm)
            if job is not None and job.state != migration.JOB_RUNNING:
                del self._jobs[vm]


def _with_samples(vm):
    """A VM entry with the ``dirty_rate_samples`` page sampling would
    read over :data:`SAMPLE_WINDOWS_S` (see the module doc); an entry
    with samples of its own is left as it is.

    >>> vm = _with_samples({'memory_mib': 256, 'dirty_rate_mib_s': 40.0,
    ...                     'wws_mib': 128})
    >>> [s['mib_s'] for s in vm['dirty_rate_samples']]
    [34.353, 34.353, 34.353, 25.958]
    """
    if vm.get('dirty_rate_samples'):
        return vm
    rate = float(vm.get('dirty_rate_mib_s', 0.0))
    wws = vm.get('wws_mib')
    wws = float(vm['memory_mib'] if wws is None
                else min(wws, vm['memory_mib']))
    return dict(vm, dirty_rate_samples=dirtyrate.to_primitive(
        (w, round(dirtyrate.window_rate_mib_s(rate, wws, w), 3))
        for w in SAMPLE_WINDOWS_S))
