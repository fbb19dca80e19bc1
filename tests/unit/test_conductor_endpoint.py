"""The conductor's endpoint and service object: bad input is refused with
the field named and nothing recorded; plans over in-process RPC."""

import io
import threading
import time
import types

from oslo_config import cfg
import oslo_messaging
import pytest

from nova_livemig import conf as conf_mod
from nova_livemig import exception
from nova_livemig import model
from nova_livemig.cmd import control
from nova_livemig.conductor import manager
from nova_livemig.conductor import service
from nova_livemig.db import api as db_api
from tests import fixtures
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
    conf.set_override('executor', 'noop', 'conductor')
    conf.set_override('algorithms', ['precopy'], 'planner')
    for (group, name), value in overrides.items():
        conf.set_override(name, value, group)
    return conf


class Direct:
    """An endpoint called as the RPC server calls it: an expected
    exception (``oslo_messaging.expected_exceptions``) is the error the
    caller gets."""

    def __init__(self, endpoint):
        self.__dict__['endpoint'] = endpoint

    def __getattr__(self, name):
        value = getattr(self.endpoint, name)
        if name.startswith('_') or not callable(value):
            return value

        def call(*args, **kwargs):
            try:
                return value(*args, **kwargs)
            except oslo_messaging.ExpectedException as err:
                raise err.exc_info[1] from None
        return call

    def __setattr__(self, name, value):
        setattr(self.endpoint, name, value)


def report(name, vms, state='up', at=1000.0):
    return {'host': cf.host(name, state), 'vms': vms, 'measured_at': at,
            'driver': 'fake', 'migration_uri': None}


@pytest.fixture
def ep(tmp_path):
    conf = make_conf(tmp_path)
    db = db_api.from_conf(conf)
    executor = cf.RecordingExecutor()
    cond = service.Conductor(conf, db, executor, clock=fixtures.Clock(1000.0))
    endpoint = Direct(manager.ConductorEndpoint(cond))
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
        now = time.time()  # the service's clock is the real one
        ep.report_measurements({}, report('a', [dict(cf.vm('v1'),
                                                     host='a')], at=now))
        ep.report_measurements({}, report('b', [], at=now))
        api = control.BusPlans(control.conductor_api(conf, transport))
        out = io.StringIO()
        args = types.SimpleNamespace(
            action='create', plan_id=None, policy='drain', vm=[],
            host=['a'], dry_run=True, json=False, no_wait=False,
            interval=0.1, limit=50, marker=None, older_than_days=None)
        assert control.run_plan(args, conf, api, out) == 0
        assert 'v1' in out.getvalue() and 'dry run' in out.getvalue()
        assert control.run_plan(args, conf, api, io.StringIO()) == 0
        args.action, out = 'list', io.StringIO()
        assert control.run_plan(args, conf, api, out) == 0
        assert out.getvalue().count('dry-run') == 2
        assert '--marker' not in out.getvalue()
        args.limit, out = 1, io.StringIO()
        assert control.run_plan(args, conf, api, out) == 0
        newest = service.conductor.list_plans()[0]['id']
        assert f'plan list --marker {newest}' in out.getvalue()
        args.action, args.older_than_days, out = 'purge', 0, io.StringIO()
        assert control.run_plan(args, conf, api, out) == 0
        assert out.getvalue().startswith('purged 2 plans and 2 steps')
        args.older_than_days = None  # and no retention configured
        with pytest.raises(exception.LivemigError,
                           match='plan_retention_days'):
            control.run_plan(args, conf, api, io.StringIO())
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


# Paging and retention -------------------------------------------------------

DAY_S = 86400.0


def test_list_plans_pages_without_documents(ep):
    ids = [ep.create_plan({}, 'drain', [], ['a'], True)['id']
           for _ in range(3)]
    first = ep.list_plans({}, 2)
    assert 'document' not in first[0] and first[0]['dry_run']
    rest = ep.list_plans({}, 2, first[-1]['id'])
    assert sorted(p['id'] for p in first + rest) == sorted(ids)
    assert len(rest) == 1
    assert len(ep.list_plans({})) == 3


@pytest.mark.parametrize('limit, marker, field', [
    (0, None, 'limit'), ('5', None, 'limit'), (True, None, 'limit'),
    (5, '', 'marker'), (5, 7, 'marker'),
    # hostile: a number no database holds, a page no one reads, a marker
    # longer than any plan id
    (10 ** 400, None, 'limit'), (float('nan'), None, 'limit'),
    (manager.MAX_PAGE + 1, None, 'limit'), (5, 'x' * 10 ** 6, 'marker'),
])
def test_bad_list_plans_raises_naming_the_field(ep, limit, marker, field):
    with pytest.raises(exception.InvalidInput) as err:
        ep.list_plans({}, limit, marker)
    assert err.value.field == field


def _age(db, plan_id, days):
    """Make a plan ``days`` older than now."""
    import sqlalchemy as sa

    from nova_livemig.db import models
    with db.engine.begin() as conn:
        conn.execute(sa.update(models.Plan).where(
            models.Plan.id == plan_id).values(
            created_at=time.time() - days * DAY_S))


def test_purge_keeps_executing_and_recent_plans(ep):
    executing = ep.create_plan({}, 'drain', [], ['a'], False)
    ep.execute_plan({}, executing['id'])
    old_dry_run = ep.create_plan({}, 'drain', [], ['a'], True)
    recent = ep.create_plan({}, 'drain', [], ['a'], True)
    for plan in (executing, old_dry_run):
        _age(ep.conductor.db, plan['id'], 10)
    ep.conductor.clock.now = time.time()
    done = ep.purge_plans({}, 5)
    assert done == {'plans': 1, 'steps': 2, 'older_than_days': 5}
    left = {p['id']: p['state'] for p in ep.list_plans({})}
    assert left == {executing['id']: 'executing', recent['id']: 'dry-run'}
    with pytest.raises(exception.NotFound):
        ep.show_plan({}, old_dry_run['id'])


def test_purge_without_days_uses_the_retention_or_says_what_is_missing(ep):
    ep.create_plan({}, 'drain', [], ['a'], True)
    with pytest.raises(exception.InvalidInput,
                       match=r'\[conductor\] plan_retention_days'):
        ep.purge_plans({})
    ep.conductor.conf.set_override('plan_retention_days', 3, 'conductor')
    ep.conductor.clock.now = time.time() + 2 * DAY_S
    assert ep.purge_plans({})['plans'] == 0
    ep.conductor.clock.now = time.time() + 4 * DAY_S
    assert ep.purge_plans({}) == {'plans': 1, 'steps': 2,
                                  'older_than_days': 3}


@pytest.mark.parametrize('days', [-1, 1.5, '3', True, 10 ** 400,
                                  float('inf'), float('nan'),
                                  manager.MAX_DAYS + 1])
def test_bad_purge_days_are_refused(ep, days):
    with pytest.raises(exception.InvalidInput, match='older_than_days'):
        ep.purge_plans({}, days)


def test_running_conductor_applies_the_retention(tmp_path):
    conf = make_conf(tmp_path)
    conf.set_override('plan_retention_days', 1, 'conductor')
    db = db_api.from_conf(conf)
    old = db.create_plan('drain', {'dry_run': True}, {'moves': []}, [],
                         'dry-run')
    cond = service.Conductor(conf, db, cf.RecordingExecutor(),
                             clock=fixtures.Clock(time.time() + 2 * DAY_S))
    cond.start()
    try:
        deadline = time.monotonic() + 10
        while db.list_plans():
            assert time.monotonic() < deadline, 'the old plan is still there'
            time.sleep(0.05)
    finally:
        cond.stop()
    with pytest.raises(exception.NotFound):
        db.get_plan(old['id'])


def test_no_retention_thread_by_default(tmp_path):
    conf = make_conf(tmp_path)
    db = db_api.from_conf(conf)
    cond = service.Conductor(conf, db, cf.RecordingExecutor())
    cond.start()
    try:
        assert cond._retention is None
    finally:
        cond.stop()


# Safe defaults ---------------------------------------------------------------

def test_default_executor_is_nova_and_refuses_without_credentials(
        tmp_path, capsys):
    """The shipped default asks Nova; unconfigured, the conductor does not
    start, and says which options to set."""
    from nova_livemig.cmd import conductor as conductor_cmd
    conf_file = tmp_path / 'conductor.conf'
    conf_file.write_text(
        f'[database]\nconnection = sqlite:///{tmp_path}/c.sqlite\n')
    status = conductor_cmd.main(['--config-file', str(conf_file)],
                                stop_event=threading.Event())
    err = capsys.readouterr().err
    assert status == 2, err
    for name in ('[nova] auth_type', 'auth_url', 'username', 'password',
                 'project_name', 'user_domain_name', 'project_domain_name',
                 '[conductor] executor = nova'):
        assert name in err
    # refused before the database was touched: nothing was created
    assert not (tmp_path / 'c.sqlite').exists()


def test_half_configured_nova_names_the_missing_options_not_secrets(
        tmp_path, capsys):
    from nova_livemig.cmd import conductor as conductor_cmd
    conf_file = tmp_path / 'conductor.conf'
    conf_file.write_text(
        f'[database]\nconnection = sqlite:///{tmp_path}/c.sqlite\n'
        '[nova]\nauth_type = password\nusername = nova\n'
        'password = s3cr3t-Pa55\n')
    status = conductor_cmd.main(['--config-file', str(conf_file)],
                                stop_event=threading.Event())
    err = capsys.readouterr().err
    assert status == 2, err
    assert '[nova] auth_url' in err
    assert '[conductor] executor = nova' in err
    assert 's3cr3t-Pa55' not in err


def test_unknown_executor_is_still_a_plugin_error(tmp_path):
    conf = make_conf(tmp_path)
    conf.set_override('executor', 'warp', 'conductor')
    with pytest.raises(exception.PluginLoadError, match='installed: '):
        service.load_executor(conf)


def test_shipped_defaults_are_the_real_ones():
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], default_config_files=[], default_config_dirs=[])
    assert conf.conductor.executor == 'nova'
    assert conf.agent.driver == 'libvirt'
    assert conf.conductor.plan_retention_days == 0
