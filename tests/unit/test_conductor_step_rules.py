"""The step state machine: each way a step can end has its rule.

Refused (the executor's HTTP 400), lost (never reached its agent), expired
(pending too long) and failed each count as an attempt toward
``max_attempts``; a step is given up only once its agent would refuse it;
nothing is sent to an agent that is down; a VM that vanished ends its
steps and leaves the live model; aborts are resent with a backoff, never
on every pass.
"""

from nova_livemig.conductor import outcomes
from nova_livemig.conductor import settings as settings_mod
from tests.unit import conductor_fixtures as cf
from tests.unit.test_conductor_runner import HOSTS
from tests.unit.test_conductor_runner import VMS
from tests.unit.test_conductor_runner import age
from tests.unit.test_conductor_runner import drive


def test_refused_steps_count_as_attempts_and_the_plan_ends(tmp_path):
    """Nova refuses every destination (HTTP 400): not lost and re-planned
    for ever (b c b c ...), but max_attempts steps, then the VM stays."""
    c = cf.cluster(tmp_path, {**HOSTS, 'd': 'up'}, VMS[:1], {'v1': 'a'})
    c.executor.refuse = {'b', 'c', 'd'}
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    plan = drive(c, plan['id'], limit=20)
    steps = plan['steps']
    assert plan['state'] == 'failed' and 'v1' in plan['error']
    assert len(steps) == c.engine.settings.max_attempts
    assert all(s['state'] == 'failed' and s['host'] == 'a'
               and s['error'].startswith(outcomes.REFUSED) for s in steps)
    # each attempt went elsewhere: a refusal is the destination's
    assert len({s['destination'] for s in steps}) == len(steps)
    assert c.executor.started == [] and c.placement['v1'] == 'a'


def test_every_step_is_sent_with_its_start_by_time_and_epoch(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    c.engine.epoch = lambda: 7
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    assert c.executor.fences == [{
        'not_after': c.clock() + c.engine.settings.start_window_s,
        'epoch': 7}]


def test_an_unknown_step_is_given_up_only_once_its_agent_refuses_it(
        tmp_path):
    """The agent does not know the step yet (the cast waits in the
    broker): it is not given up (and re-sent) before its start-by time
    and the clock skew have passed, else both could run."""
    settings = settings_mod.Settings(job_poll_interval_s=5.0,
                                     start_window_s=30.0, clock_skew_s=5.0)
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'}, settings=settings)
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    for _ in range(6):  # 30 s: asked every poll interval, not given up
        c.clock.now += 5
        c.report()
        c.engine.run_once()
    assert len(c.executor.job_calls) >= 5
    assert [s['state'] for s in c.db.steps(plan['id'])] == ['running']
    c.clock.now += 6
    c.report()
    c.engine.run_once()
    first = c.db.steps(plan['id'])[0]
    assert first['state'] == 'failed' and outcomes.LOST in first['error']


def test_nothing_is_sent_to_a_source_agent_that_is_down(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    plan = cf.create(c, hosts=['a'])
    age(c, 200, 'b', 'c')  # a's agent is down
    c.engine.execute(plan['id'])
    for _ in range(3):
        c.engine.run_once()
        c.clock.now += 1
        c.report('b', 'c')
    assert c.executor.started == []
    assert [s['state'] for s in c.db.steps(plan['id'])] == ['pending']
    c.report()  # a is back
    plan = drive(c, plan['id'])
    assert plan['state'] == 'completed' and len(c.executor.started) == 1


def test_a_pending_step_expires_and_the_plan_ends(tmp_path):
    """A source that never comes back does not wedge the plan."""
    settings = settings_mod.Settings(job_poll_interval_s=5.0,
                                     pending_max_wait_s=60.0)
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'}, settings=settings)
    plan = cf.create(c, hosts=['a'])
    age(c, 200, 'b', 'c')
    c.engine.execute(plan['id'])
    for _ in range(15):
        c.engine.run_once()
        age(c, 5, 'b', 'c')
    plan = c.db.get_plan(plan['id'])
    assert plan['state'] == 'failed' and 'v1' in plan['error']
    step, = plan['steps']
    assert step['state'] == 'skipped' and step['error'].startswith(
        outcomes.EXPIRED)
    assert c.executor.started == []


def test_a_vanished_vm_ends_its_step_and_leaves_the_live_model(tmp_path):
    settings = settings_mod.Settings(job_poll_interval_s=5.0,
                                     vanished_after_s=10.0)
    c = cf.cluster(tmp_path, HOSTS, VMS[:2], {'v1': 'a', 'v2': 'a'},
                   settings=settings)
    plan = cf.manual_plan(c, cf.move('v1', 'a', 'b'),
                          cf.move('v2', 'a', 'c', start_s=6.0, end_s=11.0))
    c.engine.execute(plan['id'])
    c.engine.run_once()
    # v1 migrates; v2 is deleted meanwhile
    del c.placement['v2']
    c.clock.now += 1
    c.report()
    c.result(c.executor.started[0])
    for _ in range(5):  # missing a moment: it may be in flight
        c.engine.run_once()
        c.clock.now += 1
        c.report()
    assert c.db.steps(plan['id'])[1]['state'] == 'pending'
    plan = drive(c, plan['id'])
    assert plan['state'] == 'completed'
    assert 'vanished' in plan['error'] and 'v2' in plan['error']
    v2 = [s for s in plan['steps'] if s['vm'] == 'v2']
    assert [s['state'] for s in v2] == ['skipped']
    assert outcomes.VANISHED in v2[0]['error']
    assert 'v2' not in c.live.snapshot().vms


def test_a_vm_moved_then_deleted_leaves_the_live_model(tmp_path):
    c, plan, msg = cf.one_step_started(tmp_path)
    c.clock.now += 1
    c.result(msg)  # moved: the live model knows before any report
    assert c.live.snapshot().vms['v1'].host == msg['destination']
    del c.placement['v1']  # then deleted on its new host
    c.clock.now += 1
    c.report()
    # a report stamped just after the move may have been read before it
    assert 'v1' in c.live.snapshot().vms
    c.clock.now += c.live.max_skew_s
    c.report()
    assert 'v1' not in c.live.snapshot().vms


def test_a_late_step_is_aborted_with_a_backoff_not_every_pass(tmp_path):
    c, plan, msg = cf.one_step_started(tmp_path)
    c.executor.runs(msg)
    step = c.db.get_step(msg['step_id'])
    c.clock.now = step['started_at'] + step['deadline_s'] + 6
    polls = len(c.executor.job_calls)
    for _ in range(40):  # 10 s at a 0.25 s tick: the abort does not work
        c.engine.run_once()
        c.clock.now += 0.25
        c.report()
    assert 1 <= len(c.executor.aborted) <= 2
    assert len(c.executor.job_calls) - polls <= 3
    for _ in range(60):  # 60 s more: resent, twice as late each time
        c.engine.run_once()
        c.clock.now += 1
        c.report()
    assert 3 <= len(c.executor.aborted) <= 5


def test_an_abort_that_did_not_take_is_resent(tmp_path):
    """Aborting a plan: the abort of a running step is sent again after a
    backoff while the step still runs (once was all, before)."""
    c, plan, msg = cf.one_step_started(tmp_path)
    c.executor.runs(msg)
    c.engine.abort(plan['id'])
    for _ in range(8):
        c.engine.run_once()
        c.clock.now += 1
        c.report()
    assert c.executor.aborted == [msg['step_id']] * 2
    c.result(msg, state='aborted', error='aborted by request')
    c.engine.run_once()
    assert c.db.get_plan(plan['id'])['state'] == 'aborted'


def test_a_retry_added_late_gets_its_full_wait(tmp_path):
    """A step re-planned an hour into a plan keeps its place in the
    schedule (an early planned start) but waits its full time."""
    settings = settings_mod.Settings(job_poll_interval_s=5.0,
                                     pending_max_wait_s=60.0)
    c, plan, first = cf.one_step_started(tmp_path, settings)
    c.executor.runs(first)
    for _ in range(20):  # 100 s: the step runs long
        age(c, 5)
        c.engine.run_once()
    c.result(first, state='failed')  # re-planned: a new pending step
    c.report('b', 'c')
    age(c, 200, 'b', 'c')  # its source a falls silent: it waits
    steps = c.db.steps(plan['id'])
    assert [s['state'] for s in steps] == ['failed', 'pending']
    c.engine.run_once()
    assert c.db.steps(plan['id'])[1]['state'] == 'pending'


def test_steps_sent_off_the_runner_thread_keep_every_rule(tmp_path):
    """With send_workers, the executor is called from a pool: a refusal
    still ends the step and re-plans it, and every step is sent once."""
    settings = settings_mod.Settings(job_poll_interval_s=5.0,
                                     send_workers=2)
    c = cf.cluster(tmp_path, {**HOSTS, 'd': 'up'}, VMS[:2],
                   {'v1': 'a', 'v2': 'a'}, settings=settings)
    c.executor.refuse = {'b'}
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    try:
        for _ in range(40):
            c.engine.run_once()
            c.engine._sender.submit(lambda: None).result()  # sends done
            for msg in c.executor.started:
                if c.db.get_step(msg['step_id'])['state'] == 'running':
                    c.result(msg)
            c.clock.now += 1
            c.report()
            if c.db.plan_state(plan['id']) != 'executing':
                break
    finally:
        c.engine.stop()
    plan = c.db.get_plan(plan['id'])
    assert plan['state'] == 'completed'
    ids = [m['step_id'] for m in c.executor.started]
    assert len(ids) == len(set(ids))
    assert all(c.placement[v] in ('c', 'd') for v in ('v1', 'v2'))
    refused = [s for s in plan['steps'] if s['destination'] == 'b']
    assert refused and all(s['error'].startswith(outcomes.REFUSED)
                           for s in refused)
