"""The plan runner: :class:`Engine`, the one thread that executes plans.

Its knobs are :class:`~nova_livemig.conductor.settings.Settings`.

One runner thread serves every executing plan. On each pass it, per plan:

* asks the executor (``get_job``) about running steps it has had no news
  of for ``job_poll_interval_s``: results lost while the bus was down are
  recovered, and after a restart steps in flight are re-attached, never
  started again;
* starts the pending steps whose turn it is, as
  :mod:`~nova_livemig.conductor.dispatch` decides (the scheduler's order,
  per-host limits, link shares, room on the destination at this instant,
  a source agent that is heard from), kept incrementally per plan by a
  :class:`~nova_livemig.conductor.board.Board`: a pass reads the running
  steps and the steps added since the last pass, never the whole plan;
  each step goes out with its fence (a start-by time and the lease
  epoch) for the agent to refuse it once the runner has given it up;
* expires pending steps that waited ``pending_max_wait_s``, gives up a
  step its agent does not know only after its start window, and resends
  aborts with a backoff;
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

from concurrent import futures
import threading
import time

from oslo_log import log as logging

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import messages
from nova_livemig.conductor import board as board_mod
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
    :param epoch: ``epoch()``: the fencing token of this conductor's
        lease (an int), sent with every step so that agents refuse the
        steps of a conductor that lost it; None sends none
    """

    def __init__(self, db, live, executor, settings, planning_options,
                 algorithms, notify=None, clock=time.time, epoch=None):
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
        self.epoch = epoch or (lambda: None)
        #: ``may_run()``: False once this conductor's lease ran out (it
        #: is being fenced): the thread then skips its passes
        self.may_run = lambda: True
        #: step id -> (aborts sent, when the next may be sent)
        self._aborts = {}
        #: vm -> since when it is in no report (see _vanished)
        self._missing = {}
        #: plan id -> its :class:`~nova_livemig.conductor.board.Board`,
        #: kept up to date from the database on every pass
        #: (:meth:`_board`)
        self._boards = {}
        #: sends steps off the runner thread (a cast waits for the
        #: broker's confirm, an HTTP call for Nova): None sends in the
        #: pass (``send_workers`` 0)
        self._sender = self._new_sender()
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
        # another conductor may have run the plans meanwhile: the boards
        # are read again from the database
        self._boards.clear()
        self._aborts.clear()
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
        self._stop.clear()  # a conductor elected again after a fencing
        self.resume()
        self._thread = threading.Thread(target=self._loop,
                                        name='livemig-runner', daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._sender is not None:
            # a fenced conductor sends nothing more: queued steps are
            # dropped (they are running in the database: their new
            # holder asks about them, and gives them up after their start
            # window)
            self._sender.shutdown(wait=False, cancel_futures=True)
            self._sender = self._new_sender()

    def wake(self):
        self._wake.set()

    def _new_sender(self):
        if not self.settings.send_workers:
            return None
        return futures.ThreadPoolExecutor(
            max_workers=self.settings.send_workers,
            thread_name_prefix='livemig-send')

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
                if self.may_run():
                    self.run_once()
            except Exception:
                LOG.exception('plan runner pass failed; retrying')
            self._wake.wait(self.settings.tick_s)
            self._wake.clear()

    def run_once(self):
        """One pass over every executing plan (tests call it directly)."""
        plan_ids = self.db.plan_ids(('executing', 'aborting'))
        for plan_id in set(self._boards) - set(plan_ids):
            del self._boards[plan_id]
        for plan_id in plan_ids:
            self._run_plan(plan_id)

    def _board(self, plan_id):
        """The plan's board, brought up to date. Only the runner starts,
        skips and closes pending steps (and tells the board,
        :meth:`_refresh`); others end running steps and add steps. So a
        pass reads the running steps' ids (and news times) and the steps
        added since the last pass, and loads only the rows of steps that
        ended."""
        board = self._boards.get(plan_id)
        if board is None:
            board = self._boards[plan_id] = board_mod.Board(
                self.db.steps(plan_id))
            #: plan time counts from here (a restart gives every
            #: pending step its full wait again)
            board.seen_at = self.clock()
            return board
        running, added = self.db.step_changes(plan_id, board.max_seq)
        for step in added:
            board.update(step, added_s=self.clock() - board.seen_at)
        changed = [sid for sid in running if not board.is_running(sid)]
        for step in board.running():
            news = running.get(step['id'], changed)
            if news is changed:
                changed.append(step['id'])  # it ended
            elif step['last_news_at'] != news:
                board.update(dict(step, last_news_at=news))
        self._refresh(plan_id, changed)
        return board

    def _refresh(self, plan_id, step_ids):
        """Load the rows of steps that changed into the plan's board."""
        board = self._boards.get(plan_id)
        if board is not None and step_ids:
            for step in self.db.steps_by_id(step_ids):
                board.update(step)

    def _run_plan(self, plan_id):
        state = self.db.plan_state(plan_id)
        board = self._board(plan_id)
        now = self.clock()
        if state == 'executing':
            self._expire(plan_id, board, now, now - board.seen_at)
        for step in board.running():
            self._watch(step, now, aborting=state == 'aborting')
        if state == 'aborting':
            pending = board.pending()
            for step in pending:
                self.db.update_step(step['id'], expect=('pending',),
                                    state='skipped', host=step['source'],
                                    error='plan aborted',
                                    finished_at=now)
            self._refresh(plan_id, [s['id'] for s in pending])
        elif self.live.any_fresh():
            # (cut off from every agent, by a bus outage say: judge no
            # host gone, start nothing)
            self._dispatch(plan_id, board, now)
        self._maybe_finish(plan_id)

    def _expire(self, plan_id, board, now, plan_age_s):
        """Pending steps whose wait is over expire (their VM stays)."""
        expired = board.expired(plan_age_s - self.settings.pending_max_wait_s)
        for step in expired:
            self.db.update_step(
                step['id'], expect=('pending',), state='skipped',
                host=step['source'], finished_at=now,
                error=f'{outcomes.EXPIRED}: still pending '
                      f'{self.settings.pending_max_wait_s:g} s after its '
                      'planned start')
            LOG.warning('step %s (%s) expired: still pending %g s after '
                        'its planned start', step['id'], step['vm'],
                        self.settings.pending_max_wait_s)
        self._refresh(plan_id, [s['id'] for s in expired])

    def _abort(self, step, now):
        """Ask for an abort, again after a backoff while the step runs:
        ``abort_retry_s``, then twice as long each time."""
        sent, next_at = self._aborts.get(step['id'], (0, 0.0))
        if now < next_at:
            return
        self._aborts[step['id']] = (
            sent + 1, now + self.settings.abort_retry_s * 2 ** min(sent, 3))
        self._call(self.executor.abort, step)

    def _watch(self, step, now, aborting):
        """Poll a running step that has been quiet, abort a late one."""
        if aborting:
            self._abort(step, now)
        deadline = (step['started_at'] or now) + (step['deadline_s'] or 0)
        late = now > deadline
        news = step['last_news_at'] or 0.0
        if (now - news < self.settings.job_poll_interval_s
                and not (late and news < deadline)):
            return  # polled at the deadline, then every poll interval
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
                    and now - step['started_at']
                    > self.settings.given_up_after_s()
                    and now - self._started_at
                    > max(self.settings.warmup_s,
                          self.settings.job_poll_interval_s)):
                # not the destination's fault: sent again as it was
                # when the agent is back (nothing is sent to it before)
                self._lost(step, f'agent on {step["source"]} is gone '
                                 f'({err}; {outcomes.LOST})')
            return
        if job.result is not None:
            self._finish(step, job.result)
        elif job.state == 'running':
            self.db.update_step(step['id'], expect=('running',),
                                last_news_at=now, progress=job.progress)
            grace = self.settings.job_poll_interval_s
            if late and now > deadline + grace:
                self._abort(step, now)
        elif (now - step['started_at'] > self.settings.given_up_after_s()
              and (self.live.is_fresh(step['source'])
                   or self.live.is_fresh(step['destination']))):
            # its agent refuses it from now on (start window): it never
            # runs; where the VM is comes from a fresh report, never a
            # guess
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
        self._aborts.pop(step['id'], None)
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
        if records.stranded(step, result):
            LOG.error('step %s: %s', step['id'], result.get('error'))
            return  # not re-planned: only a resume saves that VM
        if self.db.plan_state(step['plan_id']) == 'executing':
            self._replan(dict(step, source=result['host'], state=state))

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

    def _replan(self, step, closed=False):
        """A new step for the VM of a failed step (or, ``closed``, of a
        pending one whose destination is gone) that keeps the step's place
        in the schedule (see :func:`outcomes.next_attempt`)."""
        attempt = outcomes.next_attempt(
            step, self.db.steps(step['plan_id'], vm=step['vm']), closed)
        if self._vanished(step, closed):
            return
        if attempt.resend and attempt.attempts < self.settings.max_attempts:
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

    def _vanished(self, step, closed):
        """End a VM's steps when it is in no report (deleted): True when
        it is."""
        now = self.clock()
        if now - self._started_at < self.settings.warmup_s:
            return False  # a host not heard of yet may still report it
        try:
            if step['vm'] in self.live.placement().vms:
                self._missing.pop(step['vm'], None)
                return False
        except exception.LivemigError:
            return False
        since = self._missing.setdefault(step['vm'], now)
        if now - since < self.settings.vanished_after_s:
            return False  # in flight between two reports, maybe
        why = f'{outcomes.VANISHED}: in no host report (deleted?)'
        if closed:
            self.db.update_step(step['id'], expect=('pending',),
                                state='skipped', host=None,
                                finished_at=self.clock(), error=why)
        else:
            error = self.db.get_step(step['id'])['error']
            self.db.update_step(step['id'], expect=(step['state'],),
                                error=f'{error}; {why}' if error else why)
        LOG.warning('VM %s vanished: step %s ends', step['vm'], step['id'])
        return True

    def _dispatch(self, plan_id, board, now):
        try:
            placement = self.live.placement()
        except exception.LivemigError:
            return
        warming = now - self._started_at < self.settings.warmup_s
        starts = []
        decisions = board.decide(placement, self.settings, warming)
        for action, step, where in decisions:
            if action == dispatch.START:
                starts.append((step, where))
            elif action == dispatch.VANISHED:
                self._vanished(step, closed=True)
            elif action == dispatch.ARRIVED:
                self.db.update_step(step['id'], expect=('pending',),
                                    state='skipped', host=where,
                                    finished_at=now,
                                    error='VM already on its destination')
            else:  # dispatch.GONE: its destination is down or silent
                self._replan(dict(step, source=where), closed=True)
        started = self._start(starts, now) if starts else {}
        for step_id, values in started.items():
            board.update(dict(board.step(step_id), **values))
        self._refresh(plan_id, [step['id'] for _, step, _ in decisions
                                if step['id'] not in started])

    def _start(self, starts, now):
        """Mark the steps running (one transaction) and send them.

        :param starts: ``[(step, source)]``
        :returns: ``{step id: values stored}`` of the steps started
        """
        changes = {}
        messages_ = {}
        for step, source in starts:
            step = dict(step, source=source,
                        deadline_s=dispatch.deadline_s(step, self.settings),
                        started_at=now)
            try:
                messages_[step['id']] = self._message(step)
            except exception.InvalidInput as err:
                # a step the agents would reject: say so, start nothing
                self.db.update_step(step['id'], expect=('pending',),
                                    state='skipped', host=source,
                                    finished_at=now,
                                    error=f'invalid step: {err}')
                continue
            changes[step['id']] = {
                'state': 'running', 'source': source, 'started_at': now,
                'last_news_at': now, 'deadline_s': step['deadline_s']}
        started = self.db.update_steps(changes, expect=('pending',))
        fence = {'not_after': now + self.settings.start_window_s,
                 'epoch': self.epoch()}
        steps = {s['id']: s for s, _ in starts}
        out = {}
        for step_id in started:
            step = dict(steps[step_id], **changes[step_id])
            if self._sender is not None:
                # the pass goes on; the step's fence holds however long
                # the send waits (its agent refuses it after not_after)
                self._sender.submit(self._send, step, messages_[step_id],
                                    fence)
                out[step_id] = changes[step_id]
            elif self._send(step, messages_[step_id], fence):
                out[step_id] = changes[step_id]
        return out

    def _send(self, step, msg, fence):
        """Hand a step to the executor; False when it refused it (the
        step then failed, and is re-planned)."""
        try:
            self.notify(notes.MIGRATION_START,
                        notes.migration_start_payload(msg))
            self.executor.start(msg, fence)
        except exception.StepRefused as err:
            # nothing started: the VM is where it was; re-planned
            # elsewhere, as an attempt (never sent again as it was)
            LOG.warning('step %s refused: %s', step['id'], err)
            self._finish(step, {
                'step_id': step['id'], 'vm': step['vm'], 'state': 'failed',
                'host': step['source'], 'stats': {},
                'error': f'{outcomes.REFUSED}: {err}'})
            return False
        except Exception as err:  # noqa: BLE001 - any transport error
            # not sent, or sent: the cast may or may not have gone out.
            # Its agent refuses it after the start window, and the
            # conductor asks before it gives it up after that.
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
        if self.db.count_unfinished(plan_id):
            return
        end = outcomes.plan_end(self.db.steps(plan_id))
        if end is None:
            return
        if self.db.plan_state(plan_id) == 'aborting':
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
