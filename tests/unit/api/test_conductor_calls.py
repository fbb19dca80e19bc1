"""The conductor calls the REST API added (``ConductorAPI`` 1.2), on the
endpoint directly: bad arguments are refused naming the field, and a
refused call changes nothing."""

import copy

import pytest

from nova_livemig import exception
from nova_livemig.conductor import manager
from nova_livemig.conductor import rpcapi
from nova_livemig.conductor import service
from nova_livemig.db import api as db_api
from nova_livemig.history import record
from tests import fixtures
from tests.unit import conductor_fixtures as cf
from tests.unit import test_conductor_endpoint as tce
from tests.unit.api import stack


def endpoint(tmp_path, reported=True, overrides=None):
    tmp_path.mkdir(exist_ok=True)
    conf = stack.make_conf(tmp_path, overrides or {})
    cond = service.Conductor(conf, db_api.from_conf(conf),
                             cf.RecordingExecutor(),
                             clock=fixtures.Clock(1000.0))
    ep = tce.Direct(manager.ConductorEndpoint(cond))
    if reported:
        ep.report_measurements({}, tce.report('a', [
            dict(cf.vm('v1'), host='a')]))
        ep.report_measurements({}, tce.report('b', []))
    return ep


def test_the_version_is_1_2_on_both_sides():
    assert rpcapi.ConductorAPI.VERSION == '1.2'
    assert manager.ConductorEndpoint.target.version == '1.2'
    for name in ('delete_plan', 'list_history', 'show_snapshot',
                 'list_periodic', 'show_calibration', 'refit_calibration'):
        assert callable(getattr(rpcapi.ConductorAPI, name))
        assert callable(getattr(manager.ConductorEndpoint, name))


def test_delete_plan_only_when_not_executing(tmp_path):
    ep = endpoint(tmp_path)
    plan = ep.create_plan({}, 'drain', [], ['a'], False)
    ep.execute_plan({}, plan['id'])
    with pytest.raises(exception.InvalidInput, match='^plan state: got '
                       "'executing'"):
        ep.delete_plan({}, plan['id'])
    assert ep.show_plan({}, plan['id'])['state'] == 'executing'
    ep.abort_plan({}, plan['id'])
    dry = ep.create_plan({}, 'drain', [], ['a'], True)
    assert ep.delete_plan({}, dry['id']) is None
    with pytest.raises(exception.NotFound):
        ep.show_plan({}, dry['id'])
    assert ep.conductor.db.steps(dry['id']) == []
    with pytest.raises(exception.NotFound):
        ep.delete_plan({}, dry['id'])
    with pytest.raises(exception.InvalidInput, match='^plan_id'):
        ep.delete_plan({}, 'x' * 37)


def test_history_newest_first_and_bad_arguments(tmp_path):
    ep = endpoint(tmp_path)
    for i in (1, 2, 3):
        data = copy.deepcopy(record.EXAMPLE)
        data.update(step_id=f's{i}', finished_at=10.0 * i, vm=f'vm-{i}')
        ep.conductor.db.add_migration_record(data)
    assert [r['vm'] for r in ep.list_history({})] == ['vm-3', 'vm-2',
                                                      'vm-1']
    assert [r['vm'] for r in ep.list_history({}, limit=1, since=15.0)] == [
        'vm-3']
    for args, field in (({'limit': 0}, 'limit'),
                        ({'limit': manager.MAX_PAGE + 1}, 'limit'),
                        ({'since': -1}, 'since'),
                        ({'since': 'yesterday'}, 'since')):
        with pytest.raises(exception.InvalidInput, match=f'^{field}:'):
            ep.list_history({}, **args)


def test_snapshot_before_and_after_reports(tmp_path):
    with pytest.raises(exception.InvalidInput, match='no host reports'):
        endpoint(tmp_path / 'x', reported=False).show_snapshot({})
    snap = endpoint(tmp_path).show_snapshot({})
    assert [h['name'] for h in snap['hosts']] == ['a', 'b']
    assert [v['id'] for v in snap['vms']] == ['v1']


def test_calibration_without_a_file(tmp_path):
    ep = endpoint(tmp_path)
    with pytest.raises(exception.NotFound, match='calibration'):
        ep.show_calibration({})
    with pytest.raises(exception.InvalidInput,
                       match=r'^\[planner\] calibration_file'):
        ep.refit_calibration({})


def test_refit_without_records_changes_nothing(tmp_path):
    cal = tmp_path / 'cal.json'
    ep = endpoint(tmp_path, overrides={('planner', 'calibration_file'):
                                       str(cal)})
    with pytest.raises(exception.InvalidInput, match='^history:'):
        ep.refit_calibration({})
    assert not cal.exists()


def test_periodic_entries_with_their_next_run(tmp_path):
    ep = endpoint(tmp_path, overrides={
        ('periodic', 'schedule'): ['consolidate | 0 3 * * *',
                                   'balance | 0 4 * * * | disabled'],
        ('periodic', 'dry_run'): True})
    entries = ep.list_periodic({})
    assert [(e['policy'], e['mode']) for e in entries] == [
        ('consolidate', 'dry-run'), ('balance', 'disabled')]
    # the clock is at 1000 s: the next 03:00 UTC is 10800 s
    assert entries[0]['next_run_at'] == 10800.0
    assert entries[1]['next_run_at'] is None
