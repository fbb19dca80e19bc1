"""The conductor's endpoint and service object: bad input is refused with
the field named and nothing recorded; plans over in-process RPC."""

import io
import types

import pytest
from oslo_config import cfg

from nova_livemig.conductor import manager
from nova_livemig import conf as conf_mod
from nova_livemig import exception
from nova_livemig.conductor import service
from nova_livemig import model
from nova_livemig.cmd import control
from nova_livemig.db import api as db_api
from tests.unit import conductor_fixtures as cf


def make_conf(tmp_path, **overrides):
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], default_config_files=[], default_config_dirs=[])
    conf.set_override('connection', f'sqlite:///{tmp_path}/c.sqlite',
                      'database')
    conf.set_override('publish_path', str(tmp_path / 'snapshot.json'),
                      'conductor')
    conf.set_override('host', 'cond-1', 'conductor')
    conf.set_override('algorithms', ['precopy'], 'planner')
    for (group, name), value in overrides.items():
        conf.set_override(name, value, group)
    return conf


def report(name, vms, state='up', at=1000.0):
    return {'host': cf.host(name, state), 'vms': vms, 'measured_at': at,
            'driver': 'fake', 'migration_uri': None}


@pytest.fixture
def ep(tmp_path):
    conf = make_conf(tmp_path)
    db = db_api.from_conf(conf)
    executor = cf.RecordingExecutor()
    cond = service.Conductor(conf, db, executor, clock=cf.Clock(1000.0))
    endpoint = manager.ConductorEndpoint(cond)
    endpoint.report_measurements({}, report('a', [
        dict(cf.vm('v1'), host='a'), dict(cf.vm('v2'), host='a')]))
    endpoint.report_measurements({}, report('b', []))
    cond.clock.now += 1.0  # published at most once a second
    endpoint.report_measurements({}, report('c', []))
    endpoint.executor = executor
    return endpoint


def test_reports_build_and_publish_the_model(ep, tmp_path):
    snap = model.load(str(tmp_path / 'snapshot.json'))
    assert sorted(snap.hosts) == ['a', 'b', 'c']
    assert snap.vms['v1'].host == 'a'
    ep.report_measurements({}, report('d', []))  # within the second
    assert 'd' not in model.load(str(tmp_path / 'snapshot.json')).hosts
    assert 'd' in ep.conductor.live.snapshot().hosts


@pytest.mark.parametrize('garbled', [
    None, 'text', {'host': {'name': 'd'}},
    dict(report('d', []), measured_at='yesterday'),
    dict(report('d', []), extra=1),
])
def test_garbled_report_is_dropped(ep, garbled):
    ep.report_measurements({}, garbled)
    assert 'd' not in ep.conductor.live.snapshot().hosts


def test_garbled_or_unknown_result_is_dropped(ep):
    plan = ep.create_plan({}, 'drain', [], ['a'], False)
    ep.execute_plan({}, plan['id'])
    ep.conductor.engine.run_once()
    msg = ep.executor.started[0]
    ep.migration_result({}, {'step_id': msg['step_id'], 'vm': msg['vm'],
                             'state': 'exploded'})
    ep.migration_result({}, {'step_id': 'nope', 'vm': msg['vm'],
                             'state': 'completed', 'host': 'b',
                             'stats': {'total_s': 1.0, 'downtime_ms': 1.0,
                                       'bytes': 1, 'iterations': 1,
                                       'postcopy': False},
                             'error': None})
    assert ep.conductor.db.get_step(msg['step_id'])['state'] == 'running'


@pytest.mark.parametrize('args, field', [
    (('nosuch', [], ['a'], False), 'policy'),
    ((None, [], ['a'], False), 'policy'),
    (('drain', 'v1', ['a'], False), 'vms'),
    (('drain', [], [3], False), 'hosts'),
    (('drain', [], ['a'], 'yes'), 'dry_run'),
    (('drain', [], ['zz'], False), 'hosts'),
])
def test_bad_create_plan_raises_naming_the_field(ep, args, field):
    with pytest.raises(exception.InvalidInput) as err:
        ep.create_plan({}, *args)
    assert err.value.field == field
    assert ep.conductor.db.list_plans() == []


def test_dry_run_plan_is_a_record_only(ep):
    plan = ep.create_plan({}, 'drain', [], ['a'], True)
    assert plan['state'] == 'dry-run' and plan['dry_run']
    assert len(plan['steps']) == 2
    with pytest.raises(exception.InvalidInput, match='dry-run'):
        ep.execute_plan({}, plan['id'])
    assert ep.list_plans({})[0]['state'] == 'dry-run'


def test_migrate_vm_to_a_host_and_smart(ep):
    view = ep.migrate_vm({}, 'v1', 'c')
    assert view['state'] == 'executing'
    assert [(s['vm'], s['destination']) for s in view['steps']] == [
        ('v1', 'c')]
    view = ep.migrate_vm({}, 'v2', None)
    assert view['steps'][0]['destination'] in ('b', 'c')
    for dest, match in (('a', 'other than a'), ('zz', 'host of the live'),
                        (5, 'non-empty string')):
        with pytest.raises(exception.InvalidInput, match=match):
            ep.migrate_vm({}, 'v1', dest)
    with pytest.raises(exception.InvalidInput, match='nosuch'):
        ep.migrate_vm({}, 'nosuch', None)


def test_show_and_abort_unknown_plan(ep):
    with pytest.raises(exception.NotFound):
        ep.show_plan({}, 'nope')
    with pytest.raises(exception.InvalidInput):
        ep.abort_plan({}, '')


def test_cli_over_in_process_rpc(tmp_path):
    """nova-livemig plan create/list/show over fake:// to a real server."""
    from nova_livemig import rpc
    from nova_livemig.cmd import conductor as conductor_cmd
    conf = make_conf(tmp_path)
    db = db_api.from_conf(conf)
    transport = rpc.get_transport(conf)
    service = conductor_cmd.Service(conf, db, transport)
    service.conductor.engine.executor = cf.RecordingExecutor()
    service.start()
    try:
        ep = manager.ConductorEndpoint(service.conductor)
        ep.report_measurements({}, report('a', [dict(cf.vm('v1'),
                                                     host='a')]))
        ep.report_measurements({}, report('b', []))
        api = control.conductor_api(conf, transport)
        out = io.StringIO()
        args = types.SimpleNamespace(
            action='create', plan_id=None, policy='drain', vm=[],
            host=['a'], dry_run=True, json=False, no_wait=False,
            interval=0.1)
        assert control.run_plan(args, conf, api, out) == 0
        assert 'v1' in out.getvalue() and 'dry run' in out.getvalue()
        args.action, out = 'list', io.StringIO()
        assert control.run_plan(args, conf, api, out) == 0
        assert 'dry-run' in out.getvalue()
        args.action, args.policy = 'create', 'nosuch'
        with pytest.raises(exception.LivemigError, match='nosuch') as err:
            control.run_plan(args, conf, api, io.StringIO())
        assert err.value.exit_code == 2
        args.action, args.plan_id = 'show', 'no-such-plan'
        with pytest.raises(exception.LivemigError, match='no-such-plan'):
            control.run_plan(args, conf, api, io.StringIO())
    finally:
        service.stop()
        rpc.cleanup(transport)
