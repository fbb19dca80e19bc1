"""The agent: the compute-side service of nova-livemig.

It reports its host's measurements to the conductor every
``[agent] report_interval_s`` and serves the :class:`AgentEndpoint` RPC
methods on topic ``nova-livemig-agent``, server ``[agent] host``. Each
migration runs in its own thread: a thin monitor loop that looks at the
driver's job every ``[agent] monitor_interval_s`` and lets the pure
functions of :mod:`nova_livemig.drivers.migration` decide (switch to
post-copy, abort at the deadline), casts progress every
``[agent] progress_interval_s`` and the final result. Finished results
are kept (``[agent] job_history``) for ``get_job``, so a conductor that
restarted, or lost a cast, re-attaches. A step id is never started twice.

Under the ``nova`` executor nova-compute starts the migration; the agent
of the source is then asked to *tune* it (``tune_migration``, RPC 1.1):
it waits up to :data:`TUNE_GRACE_S` for the job to show, attaches to it
through the driver, sets the step's bandwidth cap and downtime limit, and
reports progress and the result as for its own migrations. It never
starts, aborts or switches that job: Nova does, and Nova's answer stays
the authority on the step.
"""

import collections
import threading
import time

import oslo_messaging
from oslo_log import log as logging

from nova_livemig import exception
from nova_livemig import messages
from nova_livemig import rpc
from nova_livemig.conductor import rpcapi
from nova_livemig.algorithms import precopy
from nova_livemig.conf import cost_model
from nova_livemig.drivers import migration

LOG = logging.getLogger(__name__)

#: looks at a job the driver does not know before the agent gives up on it
#: (libvirt may not show a job in the first instant after it started)
NONE_GRACE_LOOKS = 3
#: JobInfo samples a running migration keeps to tell when pre-copy stops
#: converging (one per [agent] monitor_interval_s)
HISTORY_SAMPLES = 4096

#: seconds the agent looks for a migration it is asked to tune before it
#: gives up on it; nova-compute starts the job only after the scheduler,
#: the destination's checks and its pre-live-migration (ports, volumes)
TUNE_GRACE_S = 60.0


class _Stopped(Exception):
    """The agent stops; the monitor leaves the job to the hypervisor."""


class _Step:
    """What the agent knows about one step (guarded by Agent._lock)."""

    def __init__(self, step, tuned=False):
        self.step = step
        #: a migration someone else started: the agent only tunes it
        self.tuned = tuned
        self.progress = None
        self.result = None

    def status(self):
        state = 'running' if self.result is None else self.result['state']
        return messages.JobStatus(step_id=self.step.step_id, vm=self.step.vm,
                                  state=state, progress=self.progress,
                                  result=self.result).to_primitive()


class Agent:
    """The agent of one host.

    :param conf: config with ``[agent]`` and oslo.messaging's options
    :param driver: a :class:`~nova_livemig.drivers.ComputeDriver`
    :param transport: an oslo.messaging RPC transport
    :param clock: monotonic clock (seconds) for the monitor loops
    """

    #: see :data:`TUNE_GRACE_S` (tests shorten it)
    tune_grace_s = TUNE_GRACE_S

    def __init__(self, conf, driver, transport, clock=time.monotonic):
        self.conf = conf
        self.opts = conf.agent
        self.host = conf.agent.host
        self.driver = driver
        self.transport = transport
        self.clock = clock
        self.conductor = rpcapi.ConductorAPI(transport)
        self._steps = collections.OrderedDict()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = []
        self._server = None
        self._reporter = None

    # -- service life --

    def start(self):
        """Start the RPC server and the periodic measurement reports."""
        self._server = rpc.get_server(self.transport, rpc.AGENT_TOPIC,
                                      self.host, [AgentEndpoint(self)])
        self._server.start()
        self._reporter = threading.Thread(target=self._report_loop,
                                          name='livemig-report', daemon=True)
        self._reporter.start()
        LOG.info('agent of host %s started (driver %s)', self.host,
                 self.driver.name)

    def stop(self, timeout_s=10.0):
        """Stop serving; wait up to ``timeout_s`` for running monitors to
        end (their migrations go on in the hypervisor; ``get_job`` of a
        new agent reports them unknown)."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server.wait()
        deadline = self.clock() + timeout_s
        with self._lock:
            threads = [self._reporter, *self._threads]
        for thread in threads:
            if thread is not None:
                thread.join(max(deadline - self.clock(), 0.0))
        LOG.info('agent of host %s stopped', self.host)

    # -- measurements --

    def measure(self):
        """This host's :class:`~nova_livemig.messages.HostReport`,
        validated here so a driver's mistake is reported where it is made.

        :raises InvalidInput: when the driver measured nonsense
        """
        host, vms = self.driver.measure()
        return messages.HostReport.from_primitive({
            'host': host, 'vms': vms, 'measured_at': time.time(),
            'driver': self.driver.name,
            'migration_uri': self.driver.migration_uri()})

    def report_once(self):
        """Measure and cast the report to the conductor; errors are
        logged, never raised (the next period tries again)."""
        try:
            report = self.measure()
            self.conductor.report_measurements({}, report.to_primitive())
        except Exception:
            LOG.exception('measurement report of host %s failed', self.host)

    def _report_loop(self):
        while not self._stopping.is_set():
            self.report_once()
            self._stopping.wait(self.opts.report_interval_s)

    # -- migrations --

    def live_migrate(self, step):
        """Start a validated step in a monitor thread.

        :param step: a :class:`~nova_livemig.messages.MigrationStep`
        :returns: False when the step id is known already (it is never
            started twice; a finished one has its result cast again)
        """
        with self._lock:
            known = self._steps.get(step.step_id)
            if known is None:
                self._steps[step.step_id] = _Step(step)
        if known is not None:
            LOG.warning('step %s (%s) is known already (%s); not starting '
                        'it again', step.step_id, step.vm,
                        'running' if known.result is None else 'finished')
            if known.result is not None:
                self._cast_result(known.result)
            return False
        return self._spawn(self._run, step, 'livemig')

    def _spawn(self, target, step, prefix):
        """Run ``target(step)`` in a thread of its own; returns True."""
        thread = threading.Thread(target=target, args=(step,),
                                  name=f'{prefix}-{step.step_id}',
                                  daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        return True

    def _run(self, step):
        LOG.info('step %s: migrating %s from %s to %s (%s)', step.step_id,
                 step.vm, step.source, step.destination, step.algorithm)
        try:
            if step.source != self.host:
                raise exception.InvalidInput(
                    'MigrationStep.source', step.source,
                    f'this agent\'s host ({self.host})')
            self.driver.start_migration(step)
        except Exception as err:  # noqa: BLE001 - any refusal fails the step
            LOG.warning('step %s: %s did not start: %s', step.step_id,
                        step.vm, err)
            self._finish(step, 'failed', migration.stats_of(
                migration.JobInfo()), f'did not start: {err}')
            return
        try:
            job = self._monitor(step)
        except _Stopped:
            LOG.warning('step %s: agent stopping; %s left migrating',
                        step.step_id, step.vm)
            return
        except Exception as err:
            LOG.exception('step %s: monitoring %s failed', step.step_id,
                          step.vm)
            self._finish(step, 'failed', migration.stats_of(
                migration.JobInfo()), f'monitor failed: {err}')
            return
        self._report_end(step, job)

    def _report_end(self, step, job):
        """Send the Result of a finished job, with the driver's final
        statistics (or the last sample's), and let the driver forget it."""
        state = migration.result_state(job)
        try:
            stats = self.driver.completed_stats(step.vm)
        except Exception:
            LOG.exception('step %s: no stats for %s', step.step_id, step.vm)
            stats = migration.stats_of(job)
        error = None if state == 'completed' else (
            job.error or f'migration {state}')
        self._finish(step, state, stats, error)
        self.driver.cleanup(step.vm)

    def _monitor(self, step):
        """Look at the job until it finishes; returns the last JobInfo."""
        started = self.clock()
        last_progress = None
        unseen = 0
        history = collections.deque(maxlen=HISTORY_SAMPLES)
        while True:
            if self._stopping.is_set():
                raise _Stopped()
            job = self.driver.job_info(step.vm)
            if job.finished:
                return job
            now = self.clock() - started
            if job.state == migration.JOB_NONE:
                unseen += 1
                if unseen > NONE_GRACE_LOOKS:
                    raise exception.MigrationFailed(
                        f'the driver lost the job of {step.vm}')
                self._stopping.wait(self.opts.monitor_interval_s)
                continue
            if migration.should_abort(job, step, now):
                LOG.warning('step %s: %s not done after %.1f s (deadline '
                            '%.1f s); aborting', step.step_id, step.vm,
                            now, step.deadline_s)
                self.driver.abort(step.vm)
            elif migration.should_switch_to_postcopy(job, step, now,
                                                      history):
                LOG.info('step %s: %s switches to post-copy after %.1f s',
                         step.step_id, step.vm, now)
                self.driver.switch_to_postcopy(step.vm)
            history.append(job)
            if migration.should_report_progress(
                    last_progress, now, self.opts.progress_interval_s):
                last_progress = now
                self._progress(step, job)
            self._stopping.wait(self.opts.monitor_interval_s)

    def _progress(self, step, job):
        progress = migration.progress_primitive(job, step.step_id, step.vm)
        with self._lock:
            self._steps[step.step_id].progress = progress
        try:
            self.conductor.migration_progress({}, progress)
        except Exception:
            LOG.exception('step %s: progress cast failed', step.step_id)

    def _finish(self, step, state, stats, error):
        host = step.destination if state == 'completed' else step.source
        result = messages.Result(step_id=step.step_id, vm=step.vm,
                                 state=state, host=host, stats=stats,
                                 error=error).to_primitive()
        with self._lock:
            self._steps[step.step_id].result = result
            self._forget_old()
        LOG.info('step %s: %s %s on %s%s', step.step_id, step.vm, state,
                 host, f' ({error})' if error else '')
        self._cast_result(result)

    def _cast_result(self, result):
        try:
            self.conductor.migration_result({}, result)
        except Exception:
            # the conductor gets it through get_job when it asks
            LOG.exception('step %s: result cast failed', result['step_id'])

    def _forget_old(self):
        finished = [k for k, s in self._steps.items() if s.result is not None]
        for key in finished[:max(len(finished) - self.opts.job_history, 0)]:
            del self._steps[key]

    # -- migrations someone else started (nova-compute) --

    def tune_migration(self, step):
        """Tune and watch, in a thread, the migration of ``step.vm`` that
        someone else started on this host.

        :param step: a :class:`~nova_livemig.messages.MigrationStep`
        :returns: False when refused (not this host's step, or the step id
            is known already); True when the watch started
        """
        if step.source != self.host:
            LOG.error('tune_migration of step %s rejected: %s', step.step_id,
                      exception.InvalidInput(
                          'MigrationStep.source', step.source,
                          f'this agent\'s host ({self.host})'))
            return False
        with self._lock:
            known = self._steps.get(step.step_id)
            if known is None:
                self._steps[step.step_id] = _Step(step, tuned=True)
        if known is not None:
            LOG.warning('step %s (%s) is known already; not tuning it again',
                        step.step_id, step.vm)
            return False
        return self._spawn(self._tune, step, 'livemig-tune')

    def _tune(self, step):
        try:
            if not self._attach(step):
                self._forget(step.step_id)
                return
            self._apply_tuning(step)
            job = self._watch(step)
        except _Stopped:
            LOG.warning('step %s: agent stopping; no longer watching %s',
                        step.step_id, step.vm)
            return
        except Exception:
            LOG.exception('step %s: watching the migration of %s failed; '
                          'nova reports how it ends', step.step_id, step.vm)
            self._forget(step.step_id)
            return
        if job is None:
            LOG.warning('step %s: the driver lost the migration job of %s; '
                        'nova reports how it ends', step.step_id, step.vm)
            self._forget(step.step_id)
            return
        self._report_end(step, job)

    def _attach(self, step):
        """Wait up to :attr:`tune_grace_s` for a migration job of the VM;
        False (logged) when none shows or the driver cannot follow one."""
        deadline = self.clock() + self.tune_grace_s
        while True:
            if self._stopping.is_set():
                raise _Stopped()
            try:
                if self.driver.attach_job(step.vm):
                    LOG.info('step %s: following the migration of %s to %s '
                             'that nova-compute started', step.step_id,
                             step.vm, step.destination)
                    return True
            except NotImplementedError as err:
                LOG.warning('step %s: not tuning %s: %s', step.step_id,
                            step.vm, err)
                return False
            if self.clock() >= deadline:
                LOG.warning('step %s: no migration of %s runs on %s %.0f s '
                            'after the request to tune it (not started yet, '
                            'or over already); not tuning it, nova reports '
                            'how it ends', step.step_id, step.vm, self.host,
                            self.tune_grace_s)
                return False
            self._stopping.wait(self.opts.monitor_interval_s)

    def _downtime_limit_ms(self, step):
        """The hypervisor's downtime limit for the step's target, as the
        cost models assume it (the target less the switchover and the
        device state over the link), in whole ms >= 1."""
        params = cost_model.params_from(self.conf)
        rate_mib_s = step.bandwidth_mib_s
        predicted_s = step.predicted_total_s
        if not rate_mib_s and predicted_s > 0:
            rate_mib_s = step.predicted.get('bytes', 0) / migration.MIB / (
                predicted_s)
        if rate_mib_s > 0:
            limit = precopy.downtime_limit_ms(
                step.max_downtime_ms, rate_mib_s * migration.MIB, params)
        else:  # no rate known: the device state is not counted
            limit = step.max_downtime_ms - params.switchover_ms
        return max(int(limit), 1)

    def _apply_tuning(self, step):
        """Set the step's bandwidth cap (0: leave nova's) and downtime
        limit on the job; a refusal is logged, the watch goes on."""
        bandwidth = step.bandwidth_mib_s or None
        limit_ms = self._downtime_limit_ms(step)
        try:
            self.driver.tune_job(step.vm, bandwidth_mib_s=bandwidth,
                                 max_downtime_ms=limit_ms)
        except Exception as err:  # noqa: BLE001 - nova's job goes on
            LOG.warning('step %s: could not tune the migration of %s: %s',
                        step.step_id, step.vm, err)
            return False
        LOG.debug('step %s: %s tuned: bandwidth %s MiB/s, downtime limit '
                  '%d ms', step.step_id, step.vm,
                  'unchanged' if bandwidth is None else f'{bandwidth:g}',
                  limit_ms)
        return True

    def _watch(self, step):
        """Look at an attached job until it ends and report its progress;
        returns the last JobInfo, or None when the driver lost the job.

        At each progress report in pre-copy the tuning is applied again:
        nova-compute sets its own downtime, in steps (``[libvirt]
        live_migration_downtime*``), the first when its monitor first
        sees the job, which may come after ours."""
        last_progress = None
        unseen = 0
        while True:
            if self._stopping.is_set():
                raise _Stopped()
            job = self.driver.job_info(step.vm)
            if job.finished:
                return job
            if job.state == migration.JOB_NONE:
                unseen += 1
                if unseen > NONE_GRACE_LOOKS:
                    return None
            else:
                unseen = 0
                now = self.clock()
                if migration.should_report_progress(
                        last_progress, now, self.opts.progress_interval_s):
                    if (last_progress is not None
                            and job.phase == migration.PRECOPY):
                        self._apply_tuning(step)
                    last_progress = now
                    self._progress(step, job)
            self._stopping.wait(self.opts.monitor_interval_s)

    def _forget(self, step_id):
        with self._lock:
            self._steps.pop(step_id, None)

    def abort_migration(self, step_id):
        """Abort a running step; False when there is nothing to abort."""
        with self._lock:
            known = self._steps.get(step_id)
        if known is None or known.result is not None:
            LOG.info('abort of step %s: not running here', step_id)
            return False
        if known.tuned:
            LOG.warning('abort of step %s refused: nova-compute runs the '
                        'migration of %s (abort it through nova)', step_id,
                        known.step.vm)
            return False
        LOG.info('step %s: aborting %s on request', step_id, known.step.vm)
        return self.driver.abort(known.step.vm)

    def get_job(self, step_id):
        """The :class:`~nova_livemig.messages.JobStatus` primitive of a
        step; state ``unknown`` when this agent has no record of it."""
        with self._lock:
            known = self._steps.get(step_id)
            if known is not None:
                return known.status()
        return messages.JobStatus(step_id=step_id, vm='unknown',
                                  state='unknown', progress=None,
                                  result=None).to_primitive()


class AgentEndpoint:
    """The RPC methods of an agent (version 1.1; see
    :class:`~nova_livemig.agent.rpcapi.AgentAPI`). Each validates its input
    before acting: a garbled cast is logged and dropped, a garbled call
    raises :class:`~nova_livemig.exception.InvalidInput` to the caller.
    """

    target = oslo_messaging.Target(version='1.1')

    def __init__(self, agent):
        self._agent = agent

    def live_migrate(self, ctxt, step):
        try:
            step = messages.MigrationStep.from_primitive(step)
        except exception.InvalidInput as err:
            LOG.error('live_migrate rejected: invalid step: %s', err)
            return
        self._agent.live_migrate(step)

    def tune_migration(self, ctxt, step):
        try:
            step = messages.MigrationStep.from_primitive(step)
        except exception.InvalidInput as err:
            LOG.error('tune_migration rejected: invalid step: %s', err)
            return
        self._agent.tune_migration(step)

    def abort_migration(self, ctxt, step_id):
        if not isinstance(step_id, str) or not step_id:
            LOG.error('abort_migration rejected: %s', exception.InvalidInput(
                'step_id', step_id, 'a non-empty string'))
            return
        self._agent.abort_migration(step_id)

    def measure(self, ctxt):
        return self._agent.measure().to_primitive()

    @oslo_messaging.expected_exceptions(exception.InvalidInput)
    def get_job(self, ctxt, step_id):
        if not isinstance(step_id, str) or not step_id:
            err = exception.InvalidInput('step_id', step_id,
                                         'a non-empty string')
            LOG.error('get_job rejected: %s', err)
            raise err
        return self._agent.get_job(step_id)
