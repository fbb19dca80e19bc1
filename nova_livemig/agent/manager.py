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
restarted, or lost a cast, re-attaches. A step id is never started twice
(:mod:`nova_livemig.agent.steps` keeps the records).

A migration in post-copy whose link breaks is paused, resumed once the
link is back and its pause reported (:mod:`nova_livemig.agent.postcopy_watch`);
one whose link stays broken past ``[agent] postcopy_recover_timeout_s``
ends failed with the VM on the destination, stranded: the error says
where its memory is and what the operator must do.

Migrations that nova-compute started (the ``nova`` executor) are tuned
and watched, never started, aborted or switched: see
:mod:`nova_livemig.agent.tuning`.
"""

import collections
import threading
import time

from oslo_log import log as logging
import oslo_messaging

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import messages
from nova_livemig import rpc
from nova_livemig import signing
from nova_livemig import validation
from nova_livemig.agent import postcopy_watch
from nova_livemig.agent import steps
from nova_livemig.agent import tuning
from nova_livemig.conductor import rpcapi
from nova_livemig.drivers import migration

LOG = logging.getLogger(__name__)

#: JobInfo samples a running migration keeps to tell when pre-copy stops
#: converging (one per [agent] monitor_interval_s)
HISTORY_SAMPLES = 4096


class Agent(tuning.TuningMixin):
    """The agent of one host.

    :param conf: config with ``[agent]`` and oslo.messaging's options
    :param driver: a :class:`~nova_livemig.drivers.ComputeDriver`
    :param transport: an oslo.messaging RPC transport
    :param clock: monotonic clock (seconds) for the monitor loops
    :param security: ``(Signer, Verifier)`` of this host's key; None
        reads ``[message_security] key_file`` (nothing signed or checked
        when it is unset)
    :raises InvalidInput: for a bad key file, naming the option
    """

    def __init__(self, conf, driver, transport, clock=time.monotonic,
                 security=None):
        self.conf = conf
        self.opts = conf.agent
        self.host = conf.agent.host
        self.driver = driver
        self.transport = transport
        self.clock = clock
        if security is None:
            security = signing.for_agent(conf)
        signer, self.verifier = security or (None, None)
        self.conductor = rpcapi.ConductorAPI(transport, signer=signer)
        self._book = steps.StepBook()
        #: refuses steps the conductor gave up on (steps.Fence)
        self.fence = steps.Fence()
        #: guards the monitor threads
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = []
        self._server = None
        self._reporter = None

    # -- service life --

    def start(self):
        """Start the RPC server and the periodic measurement reports."""
        self._server = rpc.get_server(
            self.transport, rpc.AGENT_TOPIC, self.host,
            [AgentEndpoint(self, self.verifier)])
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
        known = self._book.add(step)
        if known is not None:
            LOG.warning('step %s (%s) is known already (%s); not starting '
                        'it again', step.step_id, step.vm,
                        'running' if known.result is None else 'finished')
            if known.result is not None:
                self._cast_result(known.result)
            return False
        return self._spawn(self._run, step, 'livemig')

    def refuse_step(self, step, why):
        """Refuse a step the conductor gave up on (:class:`steps.Fence`):
        it never starts; its failed result says so, once."""
        LOG.warning('step %s (%s) refused: %s', step.step_id, step.vm, why)
        if self._book.add(step) is None:
            self._finish(step, 'failed', migration.stats_of(
                migration.JobInfo()), f'refused: {why}')

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
        started = self.clock()
        watch = postcopy_watch.PostcopyWatch(self.driver, step, self.opts)
        try:
            job = self._monitor(step, watch)
        except postcopy_watch.Stranded as err:
            LOG.error('step %s: %s', step.step_id, err.error)
            stats = migration.stats_of(self.driver.job_info(step.vm))
            # the job's own clock stops while it is paused: the agent's
            stats = dict(stats, postcopy=True, total_s=round(max(
                stats['total_s'], self.clock() - started), 3),
                **watch.stats(self.clock()))
            self._finish(step, 'failed', stats, err.error,
                         host=step.destination)
            return
        except steps.Stopped:
            LOG.warning('step %s: agent stopping; %s left migrating',
                        step.step_id, step.vm)
            return
        except Exception as err:
            LOG.exception('step %s: monitoring %s failed', step.step_id,
                          step.vm)
            self._finish(step, 'failed', migration.stats_of(
                migration.JobInfo()), f'monitor failed: {err}')
            return
        self._report_end(step, job, watch.stats(self.clock()))

    def _report_end(self, step, job, recovery=None):
        """Send the Result of a finished job, with the driver's final
        statistics (or the last sample's) and the post-copy ``recovery``
        figures, and let the driver forget it."""
        state = migration.result_state(job)
        try:
            stats = self.driver.completed_stats(step.vm)
        except Exception:
            LOG.exception('step %s: no stats for %s', step.step_id, step.vm)
            stats = migration.stats_of(job)
        if stats.get('postcopy'):
            stats = dict(stats, **(recovery or {}))
        error = None if state == 'completed' else (
            job.error or f'migration {state}')
        self._finish(step, state, stats, error)
        self.driver.cleanup(step.vm)

    def _monitor(self, step, watch):
        """Look at the job until it finishes; returns the last JobInfo.

        :param watch: the step's
            :class:`~nova_livemig.agent.postcopy_watch.PostcopyWatch`
        :raises Stranded: when a paused post-copy's link did not return
        """
        started = self.clock()
        last_progress = None
        unseen = 0
        history = collections.deque(maxlen=HISTORY_SAMPLES)
        while True:
            if self._stopping.is_set():
                raise steps.Stopped()
            job = self.driver.job_info(step.vm)
            if job.finished:
                return job
            now = self.clock() - started
            if job.state == migration.JOB_NONE:
                unseen += 1
                if unseen > steps.NONE_GRACE_LOOKS:
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
            watch.look(job, self.clock())
            history.append(job)
            if migration.should_report_progress(
                    last_progress, now, self.opts.progress_interval_s):
                last_progress = now
                self._progress(step, job)
            self._stopping.wait(self.opts.monitor_interval_s)

    def _progress(self, step, job):
        progress = migration.progress_primitive(job, step.step_id, step.vm)
        self._book.set_progress(step.step_id, progress)
        try:
            self.conductor.migration_progress({}, progress)
        except Exception:
            LOG.exception('step %s: progress cast failed', step.step_id)

    def _finish(self, step, state, stats, error, host=None):
        """:param host: where the VM is; by default the destination when
        completed, else the source"""
        if host is None:
            host = step.destination if state == 'completed' else step.source
        result = messages.Result(step_id=step.step_id, vm=step.vm,
                                 state=state, host=host, stats=stats,
                                 error=error).to_primitive()
        self._book.set_result(step.step_id, result,
                              keep=self.opts.job_history)
        LOG.info('step %s: %s %s on %s%s', step.step_id, step.vm, state,
                 host, f' ({error})' if error else '')
        self._cast_result(result)

    def _cast_result(self, result):
        try:
            self.conductor.migration_result({}, result)
        except Exception:
            # the conductor gets it through get_job when it asks
            LOG.exception('step %s: result cast failed', result['step_id'])

    def abort_migration(self, step_id):
        """Abort a running step; False when there is nothing to abort."""
        known = self._book.get(step_id)
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
        status = self._book.status(step_id)
        if status is not None:
            return status
        return messages.JobStatus(step_id=step_id, vm='unknown',
                                  state='unknown', progress=None,
                                  result=None).to_primitive()


def _bad_step_id(step_id):
    """The :class:`~nova_livemig.exception.InvalidInput` of a step id that
    is not a name (:data:`nova_livemig.validation.NAME`), else None."""
    try:
        validation.NAME.check('step_id', step_id)
    except exception.InvalidInput as err:
        return err
    return None


class AgentEndpoint:
    """The RPC methods of an agent (version 1.1; see
    :class:`~nova_livemig.agent.rpcapi.AgentAPI`). Each validates its input
    before acting: a garbled cast is logged and dropped, a garbled call
    raises :class:`~nova_livemig.exception.InvalidInput` to the caller.

    With a key (``[message_security] key_file``) every method first checks
    that a conductor signed the message for this host
    (:mod:`nova_livemig.signing`): an unsigned, forged, replayed or
    expired one is refused with one WARNING line and changes nothing (a
    call raises ``InvalidInput`` naming ``message signature``).
    """

    target = oslo_messaging.Target(version='1.1')

    def __init__(self, agent, verifier=None):
        """:param verifier: a :class:`~nova_livemig.signing.Verifier` of
        this host's key; None checks nothing"""
        self._agent = agent
        self._verifier = verifier

    def _refused(self, ctxt, method, **args):
        """None when the message may be acted on, else why not (logged)."""
        if self._verifier is None:
            return None
        host = self._agent.host
        refused = None
        try:
            self._verifier.verify(ctxt, method, args, role='conductor',
                                  to=host, host=host)
        except signing.Refused as err:
            refused = err
        if refused is not None:
            # outside the except block: oslo.log would append the
            # exception being handled to the line again
            LOG.warning('refusing %s: %s', method, refused)  # bounded
        return refused

    def _call_refused(self, ctxt, method, **args):
        err = self._refused(ctxt, method, **args)
        if err is not None:
            raise exception.InvalidInput('message signature', 'refused',
                                         f'a conductor\'s ({err})')

    def live_migrate(self, ctxt, step):
        if self._refused(ctxt, 'live_migrate', step=step):
            return
        try:
            step = messages.MigrationStep.from_primitive(step)
        except exception.InvalidInput as err:
            LOG.error('live_migrate rejected: invalid step: %s',
                      loglines.clipped(err))
            return
        fence = getattr(self._agent, 'fence', None)
        why = None if fence is None else fence.refusal(ctxt)
        if why is not None:
            self._agent.refuse_step(step, why)
            return
        self._agent.live_migrate(step)

    def tune_migration(self, ctxt, step):
        if self._refused(ctxt, 'tune_migration', step=step):
            return
        try:
            step = messages.MigrationStep.from_primitive(step)
        except exception.InvalidInput as err:
            LOG.error('tune_migration rejected: invalid step: %s',
                      loglines.clipped(err))
            return
        self._agent.tune_migration(step)

    def abort_migration(self, ctxt, step_id):
        if self._refused(ctxt, 'abort_migration', step_id=step_id):
            return
        err = _bad_step_id(step_id)
        if err is not None:
            LOG.error('abort_migration rejected: %s', err)
            return
        self._agent.abort_migration(step_id)

    @oslo_messaging.expected_exceptions(exception.LivemigError)
    def measure(self, ctxt):
        self._call_refused(ctxt, 'measure')
        try:
            return self._agent.measure().to_primitive()
        except exception.LivemigError as err:
            LOG.error('measure failed: %s', err)  # the driver's mistake
            raise

    @oslo_messaging.expected_exceptions(exception.LivemigError)
    def get_job(self, ctxt, step_id):
        self._call_refused(ctxt, 'get_job', step_id=step_id)
        err = _bad_step_id(step_id)
        if err is not None:
            LOG.error('get_job rejected: %s', err)
            raise err
        return self._agent.get_job(step_id)
