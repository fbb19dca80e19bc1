"""The conductor's endpoint on an untrusted bus: casts are taken only when
signed by the agent they concern and consistent with the topology, the
clock and the step; calls are bounded; refusals are one short line."""

import json
import logging
import os

import pytest

from nova_livemig import exception
from nova_livemig import signing
from nova_livemig.conductor import manager
from nova_livemig.conductor import service
from nova_livemig.db import api as db_api
from tests import fixtures
from tests.unit import conductor_fixtures as cf
from tests.unit import test_conductor_endpoint as te

KEYS = {h: (h * 64)[:64].encode() for h in ('a', 'b', 'c')}
STATS = {'total_s': 1.0, 'downtime_ms': 1.0, 'bytes': 1, 'iterations': 1,
         'postcopy': False}


def _signed(host, method, key=None, **args):
    """The context of ``method(**args)`` signed by the agent of ``host``
    (with ``key``, its own by default)."""
    key = KEYS.get(host) if key is None else key
    return signing.Signer(lambda h: key, 'agent', host).context(
        {}, method, args, 'conductor')


def _make(tmp_path, require_signed=True):
    keys = tmp_path / 'keys'
    keys.mkdir()
    for host, key in KEYS.items():
        path = keys / f'{host}.key'
        path.write_bytes(key)
        os.chmod(path, 0o600)
    topology = tmp_path / 'topology.json'
    topology.write_text(json.dumps({
        'version': 1, 'hosts': [cf.host(h) for h in KEYS], 'vms': [],
        'network': {'switches': ['tor'], 'links': [
            {'a': h, 'b': 'tor', 'gbit_s': 10.0} for h in KEYS]}}))
    conf = te.make_conf(tmp_path)
    conf.set_override('agent_keys_dir', str(keys), 'message_security')
    conf.set_override('require_signed', require_signed, 'message_security')
    conf.set_override('topology_file', str(topology), 'conductor')
    executor = cf.RecordingExecutor()
    cond = service.Conductor(conf, db_api.from_conf(conf), executor,
                             clock=fixtures.Clock(1000.0))
    _, verifier = signing.for_conductor(conf)
    ep = te.Direct(manager.ConductorEndpoint(cond, verifier))
    ep.executor = executor
    vms = [dict(cf.vm('v1'), host='a'), dict(cf.vm('v2'), host='a')]
    for host in KEYS:
        rep = te.report(host, vms if host == 'a' else [])
        ep.report_measurements(_signed(host, 'report_measurements',
                                       report=rep), rep)
    return ep


@pytest.fixture
def ep(tmp_path):
    return _make(tmp_path)


@pytest.fixture
def lax(tmp_path):
    """A conductor that takes unsigned messages (a rollout)."""
    return _make(tmp_path, require_signed=False)


def _placement(ep):
    snap = ep.conductor.live.snapshot()
    return ({v.id: v.host for v in snap.vms.values()},
            {h.name: h.state for h in snap.hosts.values()})


def _refusals(caplog):
    lines = [r.getMessage() for r in caplog.records
             if r.levelno >= logging.WARNING]
    assert all(len(line) < 1000 for line in lines), lines
    return lines


def test_signed_reports_build_the_model(ep):
    assert _placement(ep) == ({'v1': 'a', 'v2': 'a'},
                              {'a': 'up', 'b': 'up', 'c': 'up'})


@pytest.mark.parametrize('ctxt_of, why', [
    (lambda rep: {}, 'unsigned'),
    # the agent of b speaks for a: it has only its own key
    (lambda rep: _signed('b', 'report_measurements', report=rep),
     'the host of the agent that signed it'),
    # someone claims to be a's agent without a's key
    (lambda rep: _signed('a', 'report_measurements', key=b'x' * 64,
                         report=rep), 'bad signature'),
    # a's own signature, over another report
    (lambda rep: _signed('a', 'report_measurements',
                         report=te.report('a', [], at=1001.0)),
     'bad signature'),
])
def test_forged_reports_are_refused_and_change_nothing(ep, caplog, ctxt_of,
                                                       why):
    before = _placement(ep)
    forged = te.report('a', [], at=1002.0)  # would hide v1 and v2
    ep.report_measurements(ctxt_of(forged), forged)
    assert _placement(ep) == before
    lines = _refusals(caplog)
    assert len(lines) == 1 and 'report_measurements' in lines[0]
    assert why in lines[0]


def test_a_replayed_report_is_refused(ep, caplog):
    rep = te.report('b', [dict(cf.vm('v9'), host='b')], at=1001.0)
    ctxt = _signed('b', 'report_measurements', report=rep)
    ep.report_measurements(ctxt, rep)
    assert 'v9' in _placement(ep)[0]
    ep.report_measurements(ctxt, rep)
    assert ['replayed' in line for line in _refusals(caplog)] == [True]


def test_a_report_naming_a_switch_is_refused_and_planning_goes_on(lax,
                                                                  caplog):
    rep = dict(te.report('tor', []), host=cf.host('tor'))
    lax.report_measurements({}, rep)
    lines = _refusals(caplog)
    assert len(lines) == 1 and 'not a switch' in lines[0]
    assert 'tor' not in _placement(lax)[1]
    plan = lax.create_plan({}, 'drain', [], ['a'], False)
    assert len(plan['steps']) == 2


def test_a_report_from_the_future_is_refused(lax, caplog):
    before = _placement(lax)
    lax.report_measurements({}, te.report('b', [], at=1000.0 + 3600))
    lines = _refusals(caplog)
    assert len(lines) == 1 and 'measured_at' in lines[0]
    assert _placement(lax) == before
    # the next genuine report is taken (it would be ignored as older)
    lax.report_measurements({}, te.report(
        'b', [dict(cf.vm('v9'), host='b')], at=1001.0))
    assert _placement(lax)[0]['v9'] == 'b'


def test_an_absurdly_old_report_is_refused(lax, caplog):
    lax.report_measurements({}, te.report('d', [], at=1.0))
    assert 'd' not in _placement(lax)[1]
    assert 'stale on arrival' in _refusals(caplog)[0]


def _running_step(ep):
    plan = ep.create_plan({}, 'drain', [], ['a'], False)
    ep.execute_plan({}, plan['id'])
    ep.conductor.engine.run_once()
    return ep.executor.started[0]


def _result(step, **changes):
    return dict({'step_id': step['step_id'], 'vm': step['vm'],
                 'state': 'completed', 'host': step['destination'],
                 'stats': STATS, 'error': None}, **changes)


@pytest.mark.parametrize('forge', [
    # unsigned
    lambda s, r: ({}, r),
    # moved to a host that does not exist, by the right agent
    lambda s, r: (lambda r2: (_signed(s['source'], 'migration_result',
                                      result=r2), r2))(
        dict(r, host='nowhere')),
    # failed, "on" a third host
    lambda s, r: (lambda r2: (_signed(s['source'], 'migration_result',
                                      result=r2), r2))(
        dict(r, state='failed', error='x', host='c')),
    # by the agent of the destination, which does not run the step
    lambda s, r: (_signed(s['destination'], 'migration_result', result=r),
                  r),
    # by a key nobody holds
    lambda s, r: (_signed(s['source'], 'migration_result', key=b'y' * 64,
                          result=r), r),
])
def test_forged_results_are_refused_and_the_step_runs_on(ep, caplog, forge):
    step = _running_step(ep)
    caplog.clear()
    ctxt, result = forge(step, _result(step))
    ep.migration_result(ctxt, result)
    assert ep.conductor.db.get_step(step['step_id'])['state'] == 'running'
    assert _placement(ep)[0][step['vm']] == 'a'
    assert len(_refusals(caplog)) == 1
    # the genuine result is taken
    genuine = _result(step)
    ep.migration_result(_signed(step['source'], 'migration_result',
                                result=genuine), genuine)
    row = ep.conductor.db.get_step(step['step_id'])
    assert (row['state'], row['host']) == ('completed', step['destination'])


def test_a_result_for_a_step_not_running_is_refused(ep, caplog):
    plan = ep.create_plan({}, 'drain', [], ['a'], False)
    step = plan['steps'][0]
    msg = {'step_id': step['id'], 'vm': step['vm'],
           'destination': step['destination']}
    result = _result(msg)
    ep.migration_result(_signed('a', 'migration_result', result=result),
                        result)
    assert ep.conductor.db.get_step(step['id'])['state'] == 'pending'
    assert 'not running' in _refusals(caplog)[-1]


def test_progress_only_from_the_agent_running_the_step(ep, caplog):
    step = _running_step(ep)
    progress = {'step_id': step['step_id'], 'vm': step['vm'],
                'elapsed_s': 1.0, 'processed_bytes': 1,
                'remaining_bytes': 1, 'total_bytes': 2,
                'dirty_rate_mib_s': 1.0, 'iteration': 1, 'phase': 'precopy'}
    ep.migration_progress(_signed('b', 'migration_progress',
                                  progress=progress), progress)
    assert ep.conductor.db.get_step(step['step_id'])['progress'] is None
    assert 'signed' in _refusals(caplog)[-1]
    ep.migration_progress(_signed('a', 'migration_progress',
                                  progress=progress), progress)
    assert ep.conductor.db.get_step(step['step_id'])['progress']


# Calls: bounded arguments, brief errors ---------------------------------

@pytest.mark.parametrize('args, field', [
    (('drain', [f'v{i}' for i in range(manager.MAX_ITEMS + 1)], [],
      False), 'vms'),
    (('drain', [], ['h' * 256], False), 'hosts'),
    (('drain', ['v' * 10_000_000], [], False), 'vms'),
    (('p' * 10_000_000, [], ['a'], False), 'policy'),
])
def test_oversized_create_plan_is_refused_briefly(ep, args, field):
    with pytest.raises(exception.InvalidInput) as err:
        ep.create_plan({}, *args)
    assert err.value.field == field
    assert len(str(err.value)) < 1000
    assert ep.conductor.db.list_plans() == []


def test_the_documented_maximum_is_accepted():
    most = ['v' * manager.MAX_NAME] * manager.MAX_ITEMS
    assert manager._strings('vms', most) is most


@pytest.mark.parametrize('method, args', [
    ('show_plan', ('z' * 10_000_000,)),
    ('migrate_vm', ('z' * 10_000_000, None)),
    ('migrate_vm', ('v1', 'z' * 10_000_000)),
])
def test_a_huge_bad_id_gives_a_short_error(ep, method, args):
    with pytest.raises(exception.InvalidInput) as err:
        getattr(ep, method)({}, *args)
    assert len(str(err.value)) < 1000


def test_call_errors_are_expected_exceptions_without_tracebacks(tmp_path,
                                                                caplog):
    """Over a real (in-process) RPC server: the client gets a short error,
    the server logs no traceback."""
    from nova_livemig import rpc
    from nova_livemig.cmd import conductor as conductor_cmd
    from nova_livemig.conductor import rpcapi
    conf = te.make_conf(tmp_path)
    transport = rpc.get_transport(conf)
    running = conductor_cmd.Service(conf, db_api.from_conf(conf), transport)
    running.conductor.engine.executor = cf.RecordingExecutor()
    running.start()
    try:
        api = rpcapi.ConductorAPI(transport, timeout=10)
        with pytest.raises(Exception) as err:  # noqa: B017 - any remote
            api.show_plan({}, 'z' * 10_000_000)
        assert 'plan_id' in str(err.value)
        assert len(str(err.value)) < 5000
        with pytest.raises(Exception) as err:  # noqa: B017
            api.create_plan({}, 'nosuch', [], [], False)
        assert 'nosuch' in str(err.value)
    finally:
        running.stop()
        rpc.cleanup(transport)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert all(len(r.getMessage()) < 5000 for r in caplog.records)
