"""Plan execution scenarios: order, limits, capacity, failures, restarts.

The cluster is simulated by the test: hosts report the placement it
keeps, the executor records what it is asked, and the test delivers the
agents' results.
"""

import pytest

from nova_livemig import messages
from nova_livemig.conductor import dispatch
from nova_livemig.conductor import outcomes
from nova_livemig.conductor import runner
from nova_livemig.conductor import settings as settings_mod
from tests.unit import conductor_fixtures as cf

HOSTS = {'a': 'up', 'b': 'up', 'c': 'up'}
VMS = [cf.vm(f'v{i}') for i in range(1, 5)]
ON_A = {f'v{i}': 'a' for i in range(1, 5)}


def age(c, seconds, *reporting):
    """Let time pass while only the ``reporting`` hosts report."""
    for _ in range(int(seconds // 5)):
        c.clock.now += 5
        c.report(*reporting)


def drive(c, plan_id, limit=50, on_start=None):
    """Run the engine, completing every started step on the next pass,
    until the plan ends; returns the plan."""
    done = set()
    for _ in range(limit):
        c.engine.run_once()
        plan = c.db.get_plan(plan_id)
        if plan['state'] in ('completed', 'failed', 'aborted'):
            return plan
        for msg in list(c.executor.started):
            if msg['step_id'] in done:
                continue
            done.add(msg['step_id'])
            if on_start is None or on_start(c, msg) is None:
                c.result(msg)
        c.clock.now += 1.0
        c.report()
    raise AssertionError('plan did not end')


def test_drain_completes_every_vm_moved_once(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS, ON_A)
    plan = cf.create(c, hosts=['a'])
    assert len(plan['steps']) == 4
    c.engine.execute(plan['id'])
    plan = drive(c, plan['id'])
    assert plan['state'] == 'completed'
    assert all(s['state'] == 'completed' for s in plan['steps'])
    assert all(c.placement[v] in ('b', 'c') for v in ON_A)
    ids = [m['step_id'] for m in c.executor.started]
    assert len(ids) == len(set(ids)) == 4
    # each step says where its VM is
    for s in plan['steps']:
        assert c.placement[s['vm']] == s['host'] == s['destination']


def test_per_host_concurrency_limit(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS, ON_A)
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    running = [s for s in c.db.steps(plan['id']) if s['state'] == 'running']
    assert len(running) == c.engine.settings.max_outgoing_per_host == 2
    c.engine.run_once()
    assert len(c.executor.started) == 2  # nothing more until one ends
    c.result(c.executor.started[0])
    c.report()
    c.engine.run_once()
    assert len(c.executor.started) == 3


def test_capacity_respected_at_each_instant(tmp_path):
    """y may go to b only once x has left it: b holds one VM at a time."""
    hosts = {'a': 'up', 'b': 'up', 'c': 'up'}
    vms = [cf.vm('x', memory_mib=3000), cf.vm('y', memory_mib=3000)]
    c = cf.cluster(tmp_path, hosts, vms, {'x': 'b', 'y': 'a'},
                   sizes={'b': {'memory_mib': 4096}})
    plan = cf.manual_plan(c, cf.move('y', 'a', 'b'), cf.move('x', 'b', 'c'))
    c.engine.execute(plan['id'])
    c.engine.run_once()
    assert [m['vm'] for m in c.executor.started] == ['x']
    c.engine.run_once()
    assert [m['vm'] for m in c.executor.started] == ['x']
    c.result(c.executor.started[0])
    c.report()
    c.engine.run_once()
    assert [m['vm'] for m in c.executor.started] == ['x', 'y']


def test_schedule_order_is_followed(tmp_path):
    """A step waits for the steps the schedule ends before its start on a
    shared host (here the scheduler delayed v2), even when the host limits
    would let it start."""
    c = cf.cluster(tmp_path, HOSTS, VMS[:2], {'v1': 'a', 'v2': 'a'})
    plan = cf.manual_plan(c, cf.move('v1', 'a', 'b'),
                          cf.move('v2', 'a', 'c', start_s=6.0, end_s=11.0))
    c.engine.execute(plan['id'])
    c.engine.run_once()
    assert [m['vm'] for m in c.executor.started] == ['v1']
    c.result(c.executor.started[0])
    c.engine.run_once()
    assert [m['vm'] for m in c.executor.started] == ['v1', 'v2']


def test_failed_step_is_replanned_elsewhere(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    first = c.executor.started[0]
    c.result(first, state='failed', error='destination refused')
    steps = c.db.steps(plan['id'])
    assert [s['state'] for s in steps] == ['failed', 'pending']
    assert steps[0]['host'] == 'a'  # the failed step says where v1 is
    retry = steps[1]
    assert retry['replaces'] == steps[0]['id'] and retry['attempt'] == 2
    assert retry['source'] == 'a'
    assert retry['destination'] not in ('a', first['destination'])
    plan = drive(c, plan['id'])
    assert plan['state'] == 'completed'
    assert c.placement['v1'] == retry['destination']


def test_gives_up_after_max_attempts_vm_accounted_for(tmp_path):
    settings = settings_mod.Settings(max_attempts=2, job_poll_interval_s=5.0)
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'}, settings=settings)
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    plan = drive(c, plan['id'], on_start=lambda c, m: c.result(
        m, state='failed') or True)
    assert plan['state'] == 'failed' and 'v1' in plan['error']
    assert [s['state'] for s in plan['steps']] == ['failed', 'failed']
    assert all(s['host'] == 'a' for s in plan['steps'])
    assert c.placement['v1'] == 'a'


def test_destination_gone_before_start_is_replanned(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    plan = cf.create(c, hosts=['a'])
    dest = plan['steps'][0]['destination']
    age(c, 60, *[h for h in HOSTS if h != dest])  # dest falls silent
    c.engine.execute(plan['id'])
    c.engine.run_once()
    steps = c.db.steps(plan['id'])
    assert steps[0]['state'] == 'skipped' and dest in steps[0]['error']
    assert steps[1]['destination'] not in (dest, 'a')
    c.engine.run_once()
    assert [m['destination'] for m in c.executor.started] == [
        steps[1]['destination']]


def test_lost_result_is_recovered_by_get_job(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    msg = c.executor.started[0]
    c.placement['v1'] = msg['destination']  # it completed; the cast is lost
    c.executor.jobs[msg['step_id']] = {
        'step_id': msg['step_id'], 'vm': 'v1', 'state': 'completed',
        'progress': None,
        'result': {'step_id': msg['step_id'], 'vm': 'v1',
                   'state': 'completed', 'host': msg['destination'],
                   'stats': {'total_s': 1.0, 'downtime_ms': 5.0, 'bytes': 1,
                             'iterations': 1, 'postcopy': False},
                   'error': None}}
    c.engine.run_once()
    assert c.executor.job_calls == []  # not quiet long enough yet
    c.clock.now += 6
    c.engine.run_once()
    assert c.executor.job_calls == [msg['step_id']]
    plan = c.db.get_plan(plan['id'])
    assert plan['state'] == 'completed'
    assert plan['steps'][0]['host'] == msg['destination']


def test_lost_cast_is_retried_as_a_new_step_never_the_same(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    first = c.executor.started[0]
    c.clock.now += 6
    c.report()
    c.engine.run_once()  # agent says unknown; v1 still on a (fresh report)
    steps = c.db.steps(plan['id'])
    assert steps[0]['state'] == 'failed' and 'lost' in steps[0]['error']
    assert steps[0]['host'] == 'a'
    c.engine.run_once()
    ids = [m['step_id'] for m in c.executor.started]
    assert ids[0] == first['step_id'] and len(ids) == len(set(ids)) == 2
    # a lost message is not the destination's fault: same move again
    assert c.executor.started[1]['destination'] == first['destination']
    # ... and each is an attempt: max_attempts of them, then the VM stays
    for _ in range(outcomes.LOST_RETRIES + 3):
        c.clock.now += 6
        c.report()
        c.engine.run_once()
    plan = c.db.get_plan(plan['id'])
    lost = [s for s in plan['steps'] if outcomes.LOST in (s['error'] or '')]
    assert len(lost) == len(plan['steps']) == c.engine.settings.max_attempts
    assert {s['destination'] for s in lost} == {first['destination']}
    assert plan['state'] == 'failed' and c.placement['v1'] == 'a'


def test_restarted_conductor_reattaches_running_steps(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS, ON_A)
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    started = [m['step_id'] for m in c.executor.started]
    assert len(started) == 2
    # a new conductor process: new engine and executor, same database
    executor = cf.RecordingExecutor()
    for step_id in started:
        executor.jobs[step_id] = {'step_id': step_id, 'vm': 'v',
                                  'state': 'running', 'progress': None,
                                  'result': None}
    engine = runner.Engine(c.db, c.live, executor, c.engine.settings,
                              c.options, c.algorithms, clock=c.clock)
    assert engine.resume() == [plan['id']]
    c.engine, c.executor = engine, executor
    engine.run_once()
    assert sorted(executor.job_calls) == sorted(started)
    assert executor.started == []  # never started twice
    states = [s['state'] for s in c.db.steps(plan['id'])]
    assert states.count('running') == 2
    for step_id in started:
        step = c.db.get_step(step_id)
        c.result(dispatch.step_message(step, engine.settings))
    plan = drive(c, plan['id'])
    assert plan['state'] == 'completed'
    ids = [m['step_id'] for m in executor.started]
    assert not set(ids) & set(started) and len(ids) == 2


def test_abort_skips_pending_and_aborts_running(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS, ON_A)
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    c.engine.abort(plan['id'])
    c.engine.run_once()
    assert sorted(c.executor.aborted) == sorted(
        m['step_id'] for m in c.executor.started)
    for msg in c.executor.started:
        c.result(msg, state='aborted', error='aborted by request')
    c.engine.run_once()
    plan = c.db.get_plan(plan['id'])
    assert plan['state'] == 'aborted'
    assert sorted(s['state'] for s in plan['steps']) == [
        'aborted', 'aborted', 'skipped', 'skipped']
    assert all(s['host'] == 'a' for s in plan['steps'])  # no re-plan
    assert len(c.executor.started) == 2


def test_execute_refuses_a_plan_not_planned(tmp_path):
    from nova_livemig import exception
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    plan = c.db.create_plan('drain', {}, {'moves': []}, [], 'dry-run')
    with pytest.raises(exception.InvalidInput, match='dry-run'):
        c.engine.execute(plan['id'])
    assert c.db.get_plan(plan['id'])['state'] == 'dry-run'


def test_step_message_is_valid_for_every_algorithm():
    step = {'plan_id': 'p', 'id': 's', 'vm': 'v', 'source': 'a',
            'destination': 'b', 'deadline_s': 10.0,
            'predicted': {'algorithm': 'precopy', 'total_s': 1.0,
                          'downtime_ms': 1.0, 'bytes': 1,
                          'converges': True}}
    for algorithm in messages.ALGORITHMS:
        msg = dispatch.step_message(dict(step, algorithm=algorithm),
                                    settings_mod.Settings())
        assert msg['algorithm'] == algorithm
        assert (msg['postcopy_after_s'] is not None) == (
            algorithm == 'postcopy')


def test_invalid_step_is_skipped_not_sent(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    plan = cf.manual_plan(c, cf.move('v1', 'a', 'b',
                                     predicted={'total_s': 5.0}))
    c.engine.execute(plan['id'])
    c.engine.run_once()
    assert c.executor.started == []
    step = c.db.steps(plan['id'])[0]
    assert step['state'] == 'skipped' and step['host'] == 'a'
    assert 'predicted.algorithm' in step['error']
    assert c.db.get_plan(plan['id'])['state'] == 'failed'


def test_link_never_carries_more_than_scheduled(tmp_path):
    """Two moves on one link, scheduled one after the other at the same
    instant (a hand-over): the second starts only when the first ends."""
    c = cf.cluster(tmp_path, HOSTS, VMS[:2], {'v1': 'a', 'v2': 'b'})
    path = [['a', 'b']]
    plan = cf.manual_plan(
        c, cf.move('v1', 'a', 'c', path=path),
        cf.move('v2', 'b', 'c', start_s=5.0, end_s=10.0, path=path))
    c.engine.execute(plan['id'])
    c.engine.run_once()
    c.engine.run_once()
    assert [m['vm'] for m in c.executor.started] == ['v1']
    c.result(c.executor.started[0])
    c.engine.run_once()
    assert [m['vm'] for m in c.executor.started] == ['v1', 'v2']


def test_bus_outage_judges_no_host_gone(tmp_path):
    """No report from anyone and get_job timing out: the running step is
    not given up and no pending step is re-planned; all goes on after."""
    c = cf.cluster(tmp_path, HOSTS, VMS, ON_A)
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    c.executor.fail_job = True
    c.clock.now += 120  # every report stale
    for _ in range(3):
        c.engine.run_once()
        c.clock.now += 10
    assert c.executor.job_calls  # it asked
    states = sorted(s['state'] for s in c.db.steps(plan['id']))
    assert states == ['pending', 'pending', 'running', 'running']
    c.executor.fail_job = False
    for msg in c.executor.started:  # the agent still runs them
        c.executor.runs(msg)
    c.report()
    plan = drive(c, plan['id'])
    assert plan['state'] == 'completed'
    assert all(s['state'] == 'completed' for s in plan['steps'])


def test_dead_source_agent_is_given_up_vm_accounted_for(tmp_path):
    """The source agent dies mid-migration while others still report: the
    step fails where the VM was last seen, and the plan ends."""
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    c.executor.fail_job = True
    age(c, 60, 'b', 'c')
    c.engine.run_once()
    plan = c.db.get_plan(plan['id'])
    step = plan['steps'][0]
    assert step['state'] == 'failed' and 'gone' in step['error']
    assert step['host'] == 'a'
    # not the destination's fault: the same move waits for a to be back
    # (nothing is sent to a down agent), until its wait is over
    assert [s['state'] for s in plan['steps']] == ['failed', 'pending']
    c.engine.run_once()
    assert len(c.executor.started) == 1
    age(c, c.engine.settings.pending_max_wait_s + 10, 'b', 'c')
    c.engine.run_once()
    plan = c.db.get_plan(plan['id'])
    assert plan['state'] == 'failed' and 'v1' in plan['error']
    assert len(c.executor.started) == 1


def test_temporary_hop_runs_in_order(tmp_path):
    """A VM the scheduler sends through a spare host (a -> c, then c -> b,
    handed over at the same instant) takes the hops one after the other."""
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'},
                   sizes={'c': {'memory_mib': 1024}})
    plan = cf.manual_plan(c, cf.move('v1', 'a', 'c'),
                          cf.move('v1', 'c', 'b', start_s=5.0, end_s=10.0))
    c.engine.execute(plan['id'])
    c.engine.run_once()  # no room on c yet: the first hop waits...
    assert c.executor.started == []  # ...and so does the second
    c.sizes = {}
    c.report()
    plan = drive(c, plan['id'])
    assert [(m['source'], m['destination']) for m in c.executor.started] \
        == [('a', 'c'), ('c', 'b')]
    assert plan['state'] == 'completed' and c.placement['v1'] == 'b'


def test_executor_that_is_the_authority_decides_the_end(tmp_path):
    # With the nova executor, an agent's progress and result inform but
    # never end a step: Nova finishes its own bookkeeping after the
    # migration, so the step ends when the executor's job() says so.
    c = cf.cluster(tmp_path, HOSTS, VMS[:1], {'v1': 'a'})
    c.executor.job_is_authority = True
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    msg = c.executor.started[0]
    c.executor.runs(msg)
    c.engine.on_progress(messages.Progress.from_primitive({
        'step_id': msg['step_id'], 'vm': 'v1', 'elapsed_s': 1.0,
        'processed_bytes': 1, 'remaining_bytes': 1, 'total_bytes': 2,
        'dirty_rate_mib_s': 0.0, 'iteration': 1, 'phase': 'precopy'}))
    c.clock.now += 6
    c.engine.run_once()
    # progress did not silence the poll: the executor was asked
    assert c.executor.job_calls == [msg['step_id']]
    c.result(msg)  # the agent saw the VM leave; Nova is not done yet
    assert c.db.get_plan(plan['id'])['steps'][0]['state'] == 'running'
    c.executor.jobs[msg['step_id']] = {
        'step_id': msg['step_id'], 'vm': 'v1', 'state': 'completed',
        'progress': None,
        'result': {'step_id': msg['step_id'], 'vm': 'v1',
                   'state': 'completed', 'host': msg['destination'],
                   'stats': {'total_s': 1.0, 'downtime_ms': 5.0, 'bytes': 1,
                             'iterations': 1, 'postcopy': False},
                   'error': None}}
    c.engine.run_once()  # asked at once after the agent's result
    assert c.executor.job_calls == [msg['step_id']] * 2
    plan = c.db.get_plan(plan['id'])
    assert plan['steps'][0]['state'] == 'completed'
