"""The conductor writes one history record for every step whose migration
ran (completed, failed or aborted), with what the planner knew when it
planned the step, also after a restart and under an executor that is the
authority (Nova); and the live model learns resident memory from them."""

import copy

from nova_livemig import messages
from nova_livemig.conductor import dispatch
from nova_livemig.conductor import runner
from nova_livemig.conductor import service
from nova_livemig.db import api as db_api
from nova_livemig.history import record
from tests import fixtures
from tests.unit import conductor_fixtures as cf
from tests.unit import test_conductor_endpoint as endpoint_tests

HOSTS = {'a': 'up', 'b': 'up', 'c': 'up'}
VMS = [cf.vm('v1', dirty=12.5), cf.vm('v2', memory_mib=4096, dirty=3.0)]
ON_A = {'v1': 'a', 'v2': 'a'}
#: what a driver measured: 512 MiB of zero pages (4 KiB each)
STATS = {'total_s': 3.5, 'downtime_ms': 120.0, 'bytes': 1_500_000_000,
         'iterations': 3, 'postcopy': False, 'normal_bytes': 1_400_000_000,
         'zero_pages': 512 * 256, 'postcopy_started_s': None}


def deliver(c, msg, state='completed', stats=STATS, error='boom',
            engine=None):
    """An agent's Result of a started step."""
    host = msg['destination'] if state == 'completed' else msg['source']
    c.placement[msg['vm']] = host
    (engine or c.engine).on_result(messages.Result.from_primitive({
        'step_id': msg['step_id'], 'vm': msg['vm'], 'state': state,
        'host': host, 'stats': copy.deepcopy(stats),
        'error': None if state == 'completed' else error}))


def records(c):
    return [record.from_primitive(r) for r in c.db.list_migration_records()]


def started_plan(tmp_path, vms=VMS, placement=ON_A, **kwargs):
    c = cf.cluster(tmp_path, HOSTS, vms, placement, **kwargs)
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    return c, plan


def test_completed_steps_are_recorded_with_what_the_planner_knew(tmp_path):
    c, plan = started_plan(tmp_path)
    planned = c.live.snapshot()
    moves = {m['vm']: m for m in plan['document']['moves']}
    for msg in list(c.executor.started):
        deliver(c, msg)
    c.engine.run_once()
    steps = {s['id']: s for s in c.db.steps(plan['id'])}
    got = records(c)
    assert sorted(r.step_id for r in got) == sorted(steps)
    for rec in got:
        step = steps[rec.step_id]
        vm = planned.vms[rec.vm]
        assert (rec.source, rec.destination, rec.algorithm) == (
            step['source'], step['destination'], step['algorithm'])
        assert rec.finished_at == step['finished_at']
        b = rec.before
        assert (b.memory_mib, b.vcpus, b.cpu_util, b.dirty_rate_mib_s) == (
            vm.memory_mib, vm.vcpus, vm.cpu_util, vm.dirty_rate_mib_s)
        assert b.path_gbit_s == moves[rec.vm]['bandwidth_gbit_s'] > 0
        assert b.max_downtime_ms == c.options.max_downtime_ms
        a = rec.after
        assert a.completed and not a.aborted
        assert (a.total_s, a.downtime_ms, a.bytes, a.iterations) == (
            3.5, 120.0, 1_500_000_000, 3)
        assert (a.normal_bytes, a.zero_pages) == (1_400_000_000, 131072)
        # the live model learnt the VM's resident memory
        assert c.live.snapshot().vms[rec.vm].resident_mib == \
            vm.memory_mib - 512


def test_failed_and_aborted_steps_are_recorded_skipped_ones_not(tmp_path):
    c, plan = started_plan(tmp_path, vms=VMS + [cf.vm('v3')],
                           placement=dict(ON_A, v3='a'))
    first, second = c.executor.started[:2]
    deliver(c, first, state='failed', stats=dict(STATS, zero_pages=None))
    deliver(c, second, state='aborted',
            stats=dict(STATS, downtime_ms=0.0, zero_pages=10))
    c.engine.abort(plan['id'])
    c.engine.run_once()
    steps = c.db.steps(plan['id'])
    by_state = {}
    for s in steps:
        by_state.setdefault(s['state'], []).append(s['id'])
    assert by_state.get('skipped')  # never ran: no record
    got = {r.step_id: r for r in records(c)}
    assert sorted(got) == sorted([first['step_id'], second['step_id']])
    failed, aborted = got[first['step_id']], got[second['step_id']]
    assert not failed.after.completed and not failed.after.aborted
    assert failed.after.downtime_ms is None  # no switchover happened
    assert aborted.after.aborted and not aborted.after.completed
    # neither completed: nothing learnt about resident memory
    snap = c.live.snapshot()
    assert snap.vms[first['vm']].resident_mib is None
    assert snap.vms[second['vm']].resident_mib is None


def test_a_replanned_step_has_its_own_record(tmp_path):
    c, plan = started_plan(tmp_path, vms=VMS[:1], placement={'v1': 'a'})
    first = c.executor.started[0]
    deliver(c, first, state='failed')
    retry = c.db.steps(plan['id'])[1]
    assert retry['before'] is not None  # planned on the live model
    c.clock.now += 1.0
    c.report()
    c.engine.run_once()
    deliver(c, c.executor.started[1])
    c.engine.run_once()
    got = records(c)
    assert [r.step_id for r in got] == [first['step_id'], retry['id']]
    assert [r.after.completed for r in got] == [False, True]
    assert got[1].destination == retry['destination']


def test_a_result_twice_or_without_statistics_adds_nothing(tmp_path):
    c, plan = started_plan(tmp_path)
    first, second = c.executor.started[:2]
    deliver(c, first)
    deliver(c, first)  # re-sent by the agent
    # given up without any statistics (the lost-result path)
    c.engine._finish(c.db.get_step(second['step_id']), {
        'step_id': second['step_id'], 'vm': second['vm'],
        'state': 'failed', 'host': 'a', 'stats': {},
        'error': 'agent gone'})
    assert [r.step_id for r in records(c)] == [first['step_id']]
    assert c.db.count_migration_records() == 1


def test_a_step_ending_after_a_restart_is_recorded(tmp_path):
    c, plan = started_plan(tmp_path)
    running = [m['step_id'] for m in c.executor.started]
    # a new conductor process: new engine and executor, same database
    engine = runner.Engine(c.db, c.live, cf.RecordingExecutor(),
                           c.engine.settings, c.options, c.algorithms,
                           clock=c.clock)
    engine.resume()
    for step_id in running:
        msg = dispatch.step_message(c.db.get_step(step_id),
                                    engine.settings)
        deliver(c, msg, engine=engine)
    got = records(c)
    assert sorted(r.step_id for r in got) == sorted(running)
    assert all(r.before.memory_mib in (2048, 4096) for r in got)


class AuthorityExecutor(cf.RecordingExecutor):
    """Like the ``nova`` executor: its job() ends steps, and it measures
    neither the downtime nor the passes."""

    job_is_authority = True
    unmeasured_stats = ('downtime_ms', 'iterations')


def _nova_result(msg, state='completed'):
    host = msg['destination'] if state == 'completed' else msg['source']
    return {'step_id': msg['step_id'], 'vm': msg['vm'], 'state': state,
            'progress': None,
            'result': {'step_id': msg['step_id'], 'vm': msg['vm'],
                       'state': state, 'host': host,
                       'stats': {'total_s': 9.0, 'downtime_ms': 0.0,
                                 'bytes': 700, 'iterations': 0,
                                 'postcopy': False},
                       'error': None if state == 'completed' else 'x'}}


def test_under_an_authority_executor_the_agents_statistics_win(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, VMS, ON_A)
    c.executor = c.engine.executor = AuthorityExecutor()
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    tuned, alone = c.executor.started[:2]
    deliver(c, tuned)  # the agent that tuned Nova's job reports
    assert c.db.count_migration_records() == 0  # Nova has not said yet
    for msg in (tuned, alone):
        c.executor.jobs[msg['step_id']] = _nova_result(msg)
        c.placement[msg['vm']] = msg['destination']
    c.clock.now += 6
    c.report()
    c.engine.run_once()
    got = {r.step_id: r.after for r in records(c)}
    # the driver's figures where an agent watched the job ...
    assert got[tuned['step_id']].zero_pages == 131072
    assert got[tuned['step_id']].downtime_ms == 120.0
    # ... Nova's alone elsewhere, without what Nova does not measure
    assert (got[alone['step_id']].total_s,
            got[alone['step_id']].bytes) == (9.0, 700)
    assert got[alone['step_id']].downtime_ms is None
    assert got[alone['step_id']].iterations is None
    assert got[alone['step_id']].zero_pages is None


def test_a_restarted_conductor_learns_resident_memory(tmp_path):
    conf = endpoint_tests.make_conf(tmp_path)
    db = db_api.from_conf(conf)
    data = copy.deepcopy(record.EXAMPLE)
    data.update(vm='v1', step_id='s-old', finished_at=900.0)
    data['before']['memory_mib'] = 2048
    data['after']['zero_pages'] = 1024 * 256  # 1 GiB of zero pages
    db.add_migration_record(data)
    cond = service.Conductor(conf, db, cf.RecordingExecutor(),
                             clock=fixtures.Clock(1000.0))
    cond.report(messages.HostReport.from_primitive(
        endpoint_tests.report('a', [dict(cf.vm('v1'), host='a'),
                                    dict(cf.vm('v2'), host='a')])))
    snap = cond.live.snapshot()
    assert snap.vms['v1'].resident_mib == 1024.0
    assert snap.vms['v2'].resident_mib is None
