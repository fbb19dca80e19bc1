"""Scheduled policies: schedule lines, firing times, the lease, dry runs."""

import pytest

from nova_livemig import exception
from nova_livemig.conductor import periodic
from nova_livemig.db import api as db_api
from tests import fixtures

HOUR = 3600.0
# 2026-01-01 00:00 UTC
T0 = 1767225600.0


class FakeConductor:
    def __init__(self, db):
        self.db = db
        self.executed = []

    def create_plan(self, policy, vms=(), hosts=(), dry_run=False,
                    origin='api'):
        plan = self.db.create_plan(
            policy, {'dry_run': dry_run}, {'moves': []},
            [dict(vm='v', source='a', destination='b', algorithm='precopy',
                  predicted={}, path=[], planned_start_s=0.0,
                  planned_end_s=1.0)],
            'dry-run' if dry_run else 'planned', origin=origin)
        return {'id': plan['id'], 'steps': plan['steps']}

    def execute_plan(self, plan_id):
        self.executed.append(plan_id)
        self.db.set_plan_state(plan_id, 'executing')


@pytest.mark.parametrize('line, field_value', [
    ('consolidate', 'consolidate'),
    ('consolidate | 0 3 * *', '0 3 * *'),
    ('consolidate | 0 3 * * * | sometimes', 'sometimes'),
    ('nosuch | 0 3 * * *', 'nosuch'),
    ('consolidate | 61 3 * * *', '61 3 * * *'),
])
def test_bad_schedule_lines_are_rejected(line, field_value):
    with pytest.raises(exception.InvalidInput) as err:
        periodic.parse_schedule([line], ['consolidate', 'drain'])
    assert err.value.field == '[periodic] schedule[0]'
    assert err.value.value == field_value


def test_one_line_per_policy():
    with pytest.raises(exception.InvalidInput, match='one line per policy'):
        periodic.parse_schedule(['drain | 0 3 * * *', 'drain | 0 4 * * *'])


def test_due():
    entry = periodic.Entry('drain', '0 3 * * *')
    assert not periodic.due(entry, T0, T0 + 2 * HOUR)
    assert periodic.due(entry, T0, T0 + 3 * HOUR)
    off = periodic.Entry('drain', '0 3 * * *', 'disabled')
    assert not periodic.due(off, T0, T0 + 30 * HOUR)


def runner(db, holder, conductor, lines, dry_run=False, clock=None):
    return periodic.Runner(db, conductor, periodic.parse_schedule(lines),
                           holder, lease_s=60, dry_run=dry_run,
                           clock=clock)


def test_fires_once_per_due_time_only_on_the_lease_holder(db):
    clock = fixtures.Clock(T0)
    conductor = FakeConductor(db)
    r1 = runner(db, 'c1', conductor, ['consolidate | 0 3 * * *'],
                clock=clock)
    r2 = runner(db, 'c2', conductor, ['consolidate | 0 3 * * *'],
                clock=clock)
    assert r1.run_once() == []  # first sight: counts from now
    assert r2.run_once() == []  # no lease
    clock.now = T0 + 3 * HOUR + 5
    assert len(r1.run_once()) == 1
    assert r2.run_once() == []
    assert r1.run_once() == []  # not again in the same period
    assert len(conductor.executed) == 1
    plans = db.list_plans()
    assert [p['origin'] for p in plans] == ['periodic:consolidate']


def test_missed_firings_fire_once_and_another_conductor_takes_over(db):
    clock = fixtures.Clock(T0)
    conductor = FakeConductor(db)
    r1 = runner(db, 'c1', conductor, ['drain | 0 * * * *'],
                clock=clock)
    r1.run_once()
    # c1 dies holding the lease; c2 takes over after it expires, 5 h later
    r2 = runner(db, 'c2', conductor, ['drain | 0 * * * *'],
                clock=clock)
    clock.now = T0 + 30
    assert r2.run_once() == []
    clock.now = T0 + 5 * HOUR + 10
    assert len(r2.run_once()) == 1  # once, not five times
    # the previous plan still executes: the next firing is skipped
    clock.now = T0 + 6 * HOUR + 10
    assert r2.run_once() == []


def test_dry_run_records_without_executing(db):
    clock = fixtures.Clock(T0)
    conductor = FakeConductor(db)
    r = runner(db, 'c1', conductor, ['consolidate | 0 3 * * * | dry-run',
                                     'drain | 0 3 * * *'],
               clock=clock)
    r.run_once()
    clock.now = T0 + 3 * HOUR
    created = r.run_once()
    assert len(created) == 2
    states = {p['policy']: p['state'] for p in db.list_plans()}
    assert states == {'consolidate': 'dry-run', 'drain': 'executing'}
    # [periodic] dry_run overrides every line
    r = runner(db, 'c1', conductor, ['balance | 0 4 * * *'], dry_run=True,
               clock=clock)
    r.run_once()
    clock.now = T0 + 4 * HOUR
    r.run_once()
    assert {p['policy']: p['state'] for p in db.list_plans()}[
        'balance'] == 'dry-run'


def test_conductor_runs_the_schedule_from_config(tmp_path):
    from nova_livemig.conductor import service
    from tests.unit import conductor_fixtures as cf
    from tests.unit import test_conductor_endpoint as te
    conf = te.make_conf(tmp_path)
    conf.set_override('enabled', True, 'periodic')
    conf.set_override('schedule', ['drain | 0 3 * * * | dry-run'],
                      'periodic')
    db = db_api.from_conf(conf)
    cond = service.Conductor(conf, db, cf.RecordingExecutor())
    cond.start()
    try:
        assert cond.periodic.entries == [
            periodic.Entry('drain', '0 3 * * *', 'dry-run')]
        fixtures.wait_until(lambda: db.last_run('drain'), interval_s=0.05,
                            what='the first firing')
        assert db.last_run('drain')[0] == '0 3 * * *'  # it ran once
        assert not db.acquire_lease(periodic.LEASE, 'other', 60)
    finally:
        cond.stop()
    assert db.acquire_lease(periodic.LEASE, 'other', 60)  # released
    db.release_lease(periodic.LEASE, 'other')
    conf.set_override('schedule', ['nosuch | 0 3 * * *'], 'periodic')
    with pytest.raises(exception.InvalidInput, match='nosuch'):
        service.Conductor(conf, db, cf.RecordingExecutor())
