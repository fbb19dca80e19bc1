"""The ``migration_records`` table and its database API: one record per
step, listed in the order the steps finished, counted after a time, kept
when plans are purged; and the ``before`` column of steps."""

import copy

import pytest

from nova_livemig import exception
from nova_livemig.history import record

STEP = dict(vm='v1', source='a', destination='b', algorithm='precopy',
            predicted={'total_s': 1.0}, path=[], planned_start_s=0.0,
            planned_end_s=1.0)


def rec(step_id, finished_at, vm='vm-1', zero_pages=8844):
    data = copy.deepcopy(record.EXAMPLE)
    data.update(step_id=step_id, finished_at=finished_at, vm=vm)
    data['after']['zero_pages'] = zero_pages
    return data


def test_add_is_idempotent_per_step(db):
    assert db.add_migration_record(rec('s1', 10.0)) is True
    assert db.add_migration_record(rec('s1', 99.0, zero_pages=1)) is False
    stored = db.list_migration_records()
    assert stored == [rec('s1', 10.0)]  # the first one stays


def test_add_needs_a_step_and_a_time(db):
    for key in ('step_id', 'finished_at'):
        data = rec('s1', 10.0)
        del data[key]
        with pytest.raises(exception.InvalidInput) as info:
            db.add_migration_record(data)
        assert info.value.field == f'record.{key}'
    assert db.count_migration_records() == 0


def test_list_orders_by_finished_at_with_since_limit_and_pages(db):
    times = [50.0, 10.0, 30.0, 20.0, 40.0]
    for i, at in enumerate(times):
        db.add_migration_record(rec(f's{i}', at))
    def at(rows):
        return [r['finished_at'] for r in rows]
    assert at(db.list_migration_records()) == sorted(times)
    assert at(db.list_migration_records(since=30.0)) == [30.0, 40.0, 50.0]
    assert at(db.list_migration_records(limit=2)) == [10.0, 20.0]
    assert at(db.list_migration_records(limit=2, offset=2)) == [30.0, 40.0]
    assert at(db.list_migration_records(since=15.0, limit=2,
                                        offset=3)) == [50.0]
    assert at(db.list_migration_records(limit=2,
                                        newest_first=True)) == [50.0, 40.0]
    # stored as given: each reads back as a valid record
    for row in db.list_migration_records():
        assert record.from_primitive(row).step_id == row['step_id']


def test_count_after_a_time(db):
    for i, at in enumerate([10.0, 20.0, 30.0]):
        db.add_migration_record(rec(f's{i}', at))
    assert db.count_migration_records() == 3
    assert db.count_migration_records(after=20.0) == 1
    assert db.count_migration_records(after=5.0) == 3
    assert db.count_migration_records(after=30.0) == 0


def test_records_outlive_purged_plans(db):
    plan = db.create_plan('drain', {}, {'moves': []}, [STEP], 'planned')
    step = plan['steps'][0]
    db.add_migration_record(rec(step['id'], 10.0))
    db.set_plan_state(plan['id'], 'completed')
    assert db.purge_plans(before=float('inf')) == (1, 1)
    assert [r['step_id'] for r in db.list_migration_records()] == [
        step['id']]


def test_step_keeps_its_before(db):
    before = record.EXAMPLE['before']
    plan = db.create_plan('drain', {}, {'moves': []},
                          [dict(STEP, before=before), STEP], 'planned')
    steps = db.get_plan(plan['id'])['steps']
    assert steps[0]['before'] == before
    assert steps[1]['before'] is None
    assert record.before_from_primitive(steps[0]['before']).memory_mib == 256
