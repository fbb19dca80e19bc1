"""The plan runner: :class:`Engine`, the one thread that executes plans.

Its knobs are :class:`~nova_livemig.conductor.settings.Settings`.

One runner thread serves every executing plan. On each pass it, per plan:

* asks the executor (``get_job``) about running steps it has had no news
  of for ``job_poll_interval_s``: results lost while the bus was down are
  recovered, and after a restart steps in flight are re-attached, never
  started again;
* starts the pending steps whose turn it is, as
  :mod:`~nova_livemig.conductor.dispatch` decides (the scheduler's order,
  per-host limits, link shares, room on the destination at this instant);
* ends steps and plans, and re-plans a step that failed, was aborted or
  whose destination is gone before it started, as
  :mod:`~nova_livemig.conductor.outcomes` decides: a new step for the VM,
  from where it is, to a destination the ``single`` policy picks on the
  live model. A VM is never unaccounted for;
* stores the history record of every step whose migration ran
  (:mod:`~nova_livemig.conductor.records`, :meth:`Engine._record`) and
  gives it to the live model (resident memory learnt from it).

Step states are changed compare-and-set in the database, so a result and
a poll racing for the same step finish it once.
"""

import threading
import time

from oslo_log import log as logging

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import messages
from nova_livemig.conductor import dispatch
from nova_livemig.conductor import notifications as notes
from nova_livemig.conductor import outcomes
from nova_livemig.conductor import planner
from nova_livemig.conductor import records
from nova_livemig.history import record

LOG = logging.getLogger(__name__)


class Engine:
    """:param db: a :class:`nova_livemig.db.api.Database`
    :param live: a :class:`nova_livemig.conductor.livemodel.LiveModel`
    :param executor: a :class:`nova_livemig.executors.Executor`
    :param settings: :class:`~nova_livemig.conductor.settings.Settings`
    :param planning_options: :class:`~nova_livemig.plan.PlanningOptions`
        for re-planning
    :param algorithms: ``{name: Algorithm}`` for re-planning
    :param notify: ``notify(event_type, payload)``
    """

    def __init__(self, db, live, executor, settings, planning_options,
                 algorithms, notify=None, clock=time.time):
        self.db = db
        self.live = live
        self.executor = executor
        self.settings = settings
        self.options = planning_options
        self.algorithms = algorithms
        self.notify = notify or (lambda event, payload: None)
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._abort_sent = set()
        self._started_at = clock()
        #: step id -> the agent's Result of a step the executor ends
        #: (``job_is_authority``): its driver's statistics go into the
        #: step's history record
        self._agent_results = {}

    # Control ---------------------------------------------------------------

    def resume(self):
        """Plans left executing by a previous run: their running steps are
        asked about (``get_job``) on the first pass, never started again.

        :returns: the ids of the plans resumed
        """
        self._started_at = self.clock()
        plan_ids = self.db.plan_ids(('executing', 'aborting'))
        for plan_id in plan_ids:
            for step in self.db.steps(plan_id):
                if step['state'] == 'running':
                    self.db.update_step(step['id'], expect=('running',),
                                        last_news_at=0.0)
            LOG.info('resuming plan %s', plan_id)
        return plan_ids

    def start(self):
        """Resume plans left executing and start the runner thread."""
        self.resume()
        self._thread = threading.Thread(target=self._loop,
                                        name='livemig-runner', daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self):
        self._wake.set()

    def execute(self, plan_id):
        """:raises InvalidInput: when the plan is not ``planned``"""
        plan = self.db.get_plan(plan_id)
        if not self.db.set_plan_state(plan_id, 'executing',
                                      expect=('planned',)):
            raise exception.InvalidInput(
                'plan state', plan['state'],
                'planned (only a planned plan can be executed; dry-run '
                'plans are records, create the plan again to execute it)')
        self.wake()

    def abort(self, plan_id):
        """Abort a plan: pending steps are skipped, running ones aborted.

        :raises InvalidInput: when the plan has already ended
        """
        plan = self.db.get_plan(plan_id)
        if self.db.set_plan_state(plan_id, 'aborted', expect=('planned',)):
            for step in plan['steps']:
                self.db.update_step(step['id'], expect=('pending',),
                                    state='skipped', error='plan aborted',
                                    host=step['source'])
            return
        if not self.db.set_plan_state(plan_id, 'aborting',
                                      expect=('executing', 'aborting')):
            raise exception.InvalidInput(
                'plan state', plan['state'],
                'planned or executing (a finished plan cannot be aborted)')
        self.wake()

    # Messages from agents ----------------------------------------------------

    def on_progress(self, progress):
        """:param progress: a :class:`messages.Progress`"""
        data = progress.to_primitive()
        values = {'progress': data}
        if not self.executor.job_is_authority:
            # news from the agent: no need to ask the executor for a while
            values['last_news_at'] = self.clock()
        if self.db.update_step(progress.step_id, expect=('running',),
                               **values):
            step = self.db.get_step(progress.step_id)
            self.notify(notes.MIGRATION_PROGRESS,
                        notes.migration_progress_payload(step['plan_id'],
                                                         data))

    def on_result(self, result, signer=None):
        """Take a step's result, if it fits the step: see
        :func:`result_mismatch`; else it is logged and dropped.

        :param result: a :class:`messages.Result`
        :param signer: the agent host that signed it; None: unsigned
        """
        step = self.db.get_step(result.step_id)
        if step is None or step['vm'] != result.vm:
            LOG.warning('dropping result of unknown step %s (vm %s)',
                        loglines.shorten(result.step_id),
                        loglines.shorten(result.vm))
            return
        why = result_mismatch(step, result, signer)
        if why is not None:
            LOG.warning('dropping result of step %s (%s): %s', step['id'],
                        step['vm'], why)
            return
        if self.executor.job_is_authority:
            # the executor says when the step ends: ask it at once
            if self.db.update_step(step['id'], expect=('running',),
                                   last_news_at=0.0):
                self._agent_results[step['id']] = result.to_primitive()
        else:
            self._finish(step, result.to_primitive())
        self.wake()

    # The runner --------------------------------------------------------------

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                LOG.exception('plan runner pass failed; retrying')
            self._wake.wait(self.settings.tick_s)
            self._wake.clear()

    def run_once(self):
        """One pass over every executing plan (tests call it directly)."""
        for plan_id in self.db.plan_ids(('executing', 'aborting')):
            self._run_plan(plan_id)

    def _run_plan(self, plan_id):
        plan = self.db.get_plan(plan_id)
        now = self.clock()
        for step in plan['steps']:
            if step['state'] == 'running':
                self._watch(step, now, aborting=plan['state'] == 'aborting')
        if plan['state'] == 'aborting':
            for step in plan['steps']:
                if step['state'] == 'pending':
                    self.db.update_step(step['id'], expect=('pending',),
                                        state='skipped', host=step['source'],
                                        error='plan aborted',
                                        finished_at=now)
        elif self.live.any_fresh():
            # (cut off from every agent, by a bus outage say: judge no
            # host gone, start nothing)
            self._dispatch(plan_id, now)
        self._maybe_finish(plan_id)

    def _watch(self, step, now, aborting):
        """Poll a running step that has been quiet, abort a late one."""
        if aborting and step['id'] not in self._abort_sent:
            self._abort_sent.add(step['id'])
            self._call(self.executor.abort, step)
        late = now > (step['started_at'] or now) + (step['deadline_s'] or 0)
        quiet = now - (step['last_news_at'] or 0.0)
        if quiet < self.settings.job_poll_interval_s and not late:
            return
        try:
            job = messages.JobStatus.from_primitive(
                self.executor.job(self._message(step)))
        except Exception as err:  # noqa: BLE001 - timeout, bus down, garbled
            LOG.info('no job status for step %s from %s: %s', step['id'],
                     step['source'], err)
            self.db.update_step(step['id'], expect=('running',),
                                last_news_at=now)
            if (not self.live.is_fresh(step['source'])
                    and self.live.any_fresh()
                    and now - self._started_at
                    > max(self.settings.warmup_s,
                          self.settings.job_poll_interval_s)):
                self._lost(step, f'agent on {step["source"]} is gone '
                                 f'({err})')
            return
        if job.result is not None:
            self._finish(step, job.result)
        elif job.state == 'running':
            self.db.update_step(step['id'], expect=('running',),
                                last_news_at=now, progress=job.progress)
            grace = self.settings.job_poll_interval_s
            if late and now > step['started_at'] + step['deadline_s'] + grace:
                self._call(self.executor.abort, step)
        elif (now - step['started_at'] > self.settings.job_poll_interval_s
              and (self.live.is_fresh(step['source'])
                   or self.live.is_fresh(step['destination']))):
            # where the VM is comes from a fresh report, never a guess
            self._lost(step, f'agent on {step["source"]} does not know '
                             f'the step ({outcomes.LOST})')

    def _lost(self, step, error):
        """The step never ran or its agent is gone: say where the VM is
        (the live model) and re-plan if it did not move."""
        try:
            host = self.live.snapshot().vms[step['vm']].host
        except (exception.LivemigError, KeyError):
            host = step['source']
        self._finish(step, outcomes.lost_result(step, host, error))

    def _finish(self, step, result):
        state = result['state']
        values = {'state': state, 'host': result['host'], 'result': result,
                  'error': result.get('error'),
                  'finished_at': self.clock()}
        if not self.db.update_step(step['id'], expect=('running',),
                                   **values):
            if state == 'completed' and self.db.update_step(
                    step['id'], expect=('failed',), **dict(
                        values, error='completed after it was given up')):
                self.live.vm_moved(step['vm'], result['host'])
                self._record(step, result, values['finished_at'])
            return
        self._record(step, result, values['finished_at'])
        if state == 'completed':
            self.live.vm_moved(step['vm'], result['host'])
            self.notify(notes.MIGRATION_END,
                        notes.migration_end_payload(step['plan_id'], result))
            return
        self.notify(notes.MIGRATION_ERROR if state == 'failed'
                    else notes.MIGRATION_END,
                    notes.migration_end_payload(step['plan_id'], result))
        plan = self.db.get_plan(step['plan_id'])
        if plan['state'] == 'executing':
            self._replan(dict(step, source=result['host'], state=state),
                         plan)

    def _record(self, step, result, finished_at):
        """Store the history record of a step that ended (when its
        migration ran) and give it to the live model; a failure is
        logged, never raised (the step's end is already stored)."""
        agent = self._agent_results.pop(step['id'], None)
        if agent is not None and agent['state'] == result['state']:
            stats = agent['stats']  # the driver's, under Nova's job
        else:
            stats = records.recorded_stats(
                result.get('stats'), self.executor.unmeasured_stats)
        try:
            rec = records.record_of(step, result, finished_at, stats)
            if rec is None:
                return
            if self.db.add_migration_record(record.to_primitive(rec)):
                self.live.learn(rec)
        except Exception:  # noqa: BLE001 - history must not stop a plan
            LOG.exception('no history record for step %s (%s)', step['id'],
                          step['vm'])

    def _replan(self, step, plan, closed=False):
        """A new step for the VM of a failed step (or, ``closed``, of a
        pending one whose destination is gone) that keeps the step's place
        in the schedule (see :func:`outcomes.next_attempt`)."""
        attempt = outcomes.next_attempt(step, plan['steps'], closed)
        if attempt.resend:
            self.db.replace_step(step['id'], (step['state'],),
                                 {'state': step['state']},
                                 outcomes.resent_fields(step))
            return
        move = snap = None
        reason = f'gave up after {attempt.attempts} attempt(s)'
        if attempt.attempts < self.settings.max_attempts:
            try:
                snap = self.live.snapshot()
                move, reason = planner.replan_vm(
                    snap, step['vm'], attempt.exclude, self.options,
                    self.algorithms)
            except exception.LivemigError as err:
                reason = str(err)
        close, expect = outcomes.closing(step, closed, self.clock())
        if move is None:
            LOG.warning('VM %s stays on %s: %s', step['vm'], step['source'],
                        reason)
            if closed:
                self.db.update_step(step['id'], expect=expect,
                                    **dict(close, error=close['error']
                                           + f'; not re-planned: {reason}'))
            return
        start = step['planned_start_s']
        fields = planner.step_fields(move, start,
                                      start + move.predicted.total_s,
                                      snap, self.options.max_downtime_ms)
        del fields['vm']
        self.db.replace_step(step['id'], expect, close, fields)
        LOG.info('re-planned %s: %s -> %s', step['vm'], move.source,
                 move.destination)

    def _dispatch(self, plan_id, now):
        try:
            snap = self.live.snapshot()
        except exception.LivemigError:
            return
        warming = now - self._started_at < self.settings.warmup_s
        for action, step, where in dispatch.decide(
                self.db.steps(plan_id), snap, self.settings, warming):
            if action == dispatch.START:
                self._start(step, where)
            elif action == dispatch.ARRIVED:
                self.db.update_step(step['id'], expect=('pending',),
                                    state='skipped', host=where,
                                    finished_at=now,
                                    error='VM already on its destination')
            else:  # dispatch.GONE: its destination is down or silent
                self._replan(dict(step, source=where),
                             self.db.get_plan(plan_id), closed=True)

    def _start(self, step, source):
        now = self.clock()
        deadline = dispatch.deadline_s(step, self.settings)
        step = dict(step, source=source, deadline_s=deadline,
                    started_at=now)
        try:
            msg = self._message(step)
        except exception.InvalidInput as err:
            # a step the agents would reject: say so, start nothing
            self.db.update_step(step['id'], expect=('pending',),
                                state='skipped', host=source,
                                finished_at=now, error=f'invalid step: {err}')
            return False
        if not self.db.update_step(step['id'], expect=('pending',),
                                   state='running', source=source,
                                   started_at=now, last_news_at=now,
                                   deadline_s=deadline):
            return False
        try:
            self.notify(notes.MIGRATION_START,
                        notes.migration_start_payload(msg))
            self.executor.start(msg)
        except Exception as err:  # noqa: BLE001 - any transport error
            # the cast may or may not have gone out: the poll of a quiet
            # step asks the agent before anything is decided
            LOG.warning('sending step %s failed: %s', step['id'], err)
        return True

    def _message(self, step):
        uri = self.live.migration_uri(step['destination'])
        return dispatch.step_message(step, self.settings, uri)

    def _call(self, func, step):
        try:
            func(self._message(step))
        except Exception as err:  # noqa: BLE001 - any transport error
            LOG.warning('%s of step %s failed: %s', func.__name__,
                        step['id'], err)

    def _maybe_finish(self, plan_id):
        end = outcomes.plan_end(self.db.steps(plan_id))
        if end is None:
            return
        if self.db.get_plan(plan_id)['state'] == 'aborting':
            self.db.set_plan_state(plan_id, 'aborted', expect=('aborting',))
            return
        state, error = end
        self.db.set_plan_state(plan_id, state, expect=('executing',),
                               error=error)


def result_mismatch(step, result, signer=None):
    """Why ``result`` cannot be ``step``'s, or None when it can: the step
    is running (or failed, given up, and the result says it completed
    after all), the VM is on the step's destination when completed and
    on its source or destination otherwise, and a signed result comes
    from the agent of the step's source.

    >>> step = {'state': 'running', 'source': 'a', 'destination': 'b'}
    >>> result_mismatch(step, messages.Result('s', 'vm', 'completed', 'c',
    ...                                       {}, None))
    "host 'c' is not the step's destination (b)"
    """
    if step['state'] != 'running' and not (
            step['state'] == 'failed' and result.state == 'completed'):
        return f'the step is {step["state"]}, not running'
    if result.state == 'completed' and result.host != step['destination']:
        return (f'host {loglines.shorten(result.host)} is not the step\'s '
                f'destination ({step["destination"]})')
    if result.host not in (step['source'], step['destination']):
        return (f'host {loglines.shorten(result.host)} is neither the '
                f'step\'s source nor its destination')
    if signer is not None and signer != step['source']:
        return (f'signed by {loglines.shorten(signer)}, not by the agent '
                f'of the step\'s source ({step["source"]})')
    return None
