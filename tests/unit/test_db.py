"""The database: schema migrations agree with the models; the API's
compare-and-set changes and leases."""

from alembic import autogenerate
from alembic import migration as alembic_migration
import pytest
import sqlalchemy as sa

from nova_livemig import exception
from nova_livemig.db import api as db_api
from nova_livemig.db import migration
from nova_livemig.db import models

STEP = dict(vm='v1', source='a', destination='b', algorithm='precopy',
            predicted={'total_s': 1.0}, path=[['a', 'tor']],
            planned_start_s=0.0, planned_end_s=1.0)


def schema_diff(engine):
    """What the database of ``engine`` lacks or has more than the models
    (alembic's autogenerate comparison, column types included)."""
    with engine.connect() as conn:
        ctx = alembic_migration.MigrationContext.configure(
            conn, opts={'compare_type': True})
        return autogenerate.compare_metadata(ctx, models.Base.metadata)


def test_migrations_and_models_agree(tmp_path):
    engine = sa.create_engine(f'sqlite:///{tmp_path}/m.sqlite')
    migration.sync(engine)
    assert schema_diff(engine) == []


def test_a_model_change_without_migration_is_caught(tmp_path):
    """The agreement test can fail: a column the scripts lack shows up."""
    engine = sa.create_engine(f'sqlite:///{tmp_path}/m.sqlite')
    migration.sync(engine)
    meta = sa.MetaData()
    for table in models.Base.metadata.tables.values():
        table.to_metadata(meta)
    meta.tables['plans'].append_column(sa.Column('extra', sa.Integer))
    with engine.connect() as conn:
        ctx = alembic_migration.MigrationContext.configure(conn)
        diff = autogenerate.compare_metadata(ctx, meta)
    assert [d[0] for d in diff] == ['add_column']


def test_sync_is_idempotent_and_check_needs_it(tmp_path):
    d = db_api.Database(f'sqlite:///{tmp_path}/db.sqlite')
    with pytest.raises(exception.InvalidInput, match='--db-sync'):
        d.check()
    assert d.sync() == migration.head()
    assert d.sync() == migration.head()
    d.check()


def test_bad_url_is_rejected_naming_the_option():
    with pytest.raises(exception.InvalidInput,
                       match=r'\[database\] connection'):
        db_api.Database('nosuchdialect://x')


def test_plan_with_steps_round_trip(db):
    plan = db.create_plan('drain', {'hosts': ['a']}, {'moves': []},
                          [STEP, dict(STEP, vm='v2')], 'planned')
    again = db.get_plan(plan['id'])
    assert [s['vm'] for s in again['steps']] == ['v1', 'v2']
    assert again['steps'][0]['path'] == [['a', 'tor']]
    assert all(s['state'] == 'pending' for s in again['steps'])
    assert db.list_plans()[0]['step_counts'] == {'pending': 2}
    with pytest.raises(exception.NotFound):
        db.get_plan('nope')


def test_compare_and_set(db):
    plan = db.create_plan('drain', {}, {}, [STEP], 'planned')
    step_id = plan['steps'][0]['id']
    assert db.update_step(step_id, expect=('pending',), state='running')
    assert not db.update_step(step_id, expect=('pending',), state='running')
    assert db.set_plan_state(plan['id'], 'executing', expect=('planned',))
    assert not db.set_plan_state(plan['id'], 'executing',
                                 expect=('planned',))
    assert db.get_plan(plan['id'])['started_at'] is not None


def test_replace_step_is_all_or_nothing(db):
    plan = db.create_plan('drain', {}, {}, [STEP], 'planned')
    step_id = plan['steps'][0]['id']
    new = dict(STEP, destination='c')
    del new['vm']
    assert db.replace_step(step_id, ('failed',), {'state': 'failed'},
                           new) is None
    assert len(db.steps(plan['id'])) == 1
    db.update_step(step_id, state='failed')
    added = db.replace_step(step_id, ('failed',), {'state': 'failed'}, new)
    assert added['replaces'] == step_id and added['attempt'] == 2
    assert added['seq'] == 1 and added['destination'] == 'c'


def test_lease_one_holder_until_it_expires(db):
    assert db.acquire_lease('periodic', 'c1', 10, now=100.0)
    assert not db.acquire_lease('periodic', 'c2', 10, now=105.0)
    assert db.acquire_lease('periodic', 'c1', 10, now=105.0)  # renew
    assert not db.acquire_lease('periodic', 'c2', 10, now=114.0)
    assert db.acquire_lease('periodic', 'c2', 10, now=116.0)  # expired
    db.release_lease('periodic', 'c1')  # not the holder: no effect
    assert not db.acquire_lease('periodic', 'c1', 10, now=117.0)


# Paging and retention ------------------------------------------------------

def _plan(db, state, created_at, finished_at=None, steps=1):
    """A plan in ``state`` with its times set as given."""
    plan = db.create_plan('drain', {}, {'moves': ['big document']},
                          [STEP] * steps, state)
    with db.engine.begin() as conn:
        conn.execute(sa.update(models.Plan).where(
            models.Plan.id == plan['id']).values(
            created_at=created_at, finished_at=finished_at))
    return plan['id']


def test_list_pages_return_every_plan_once_newest_first(db):
    # three plans share one creation time: the id breaks the tie
    ids = [_plan(db, 'planned', t) for t in (5.0, 3.0, 3.0, 3.0, 1.0)]
    everything = [p['id'] for p in db.list_plans()]
    seen, marker = [], None
    while True:
        page = db.list_plans(limit=2, marker=marker)
        if not page:
            break
        assert len(page) <= 2
        seen += [p['id'] for p in page]
        marker = page[-1]['id']
    assert seen == everything
    assert sorted(seen) == sorted(ids)
    assert everything[0] == ids[0] and everything[-1] == ids[-1]


def test_list_loads_summaries_without_the_document(db):
    _plan(db, 'planned', 1.0, steps=2)
    summary = db.list_plans(limit=1)[0]
    assert 'document' not in summary
    assert summary['step_counts'] == {'pending': 2}
    assert summary['request'] == {}


def test_list_with_an_unknown_marker_says_so(db):
    with pytest.raises(exception.NotFound, match="plan 'nope'"):
        db.list_plans(limit=5, marker='nope')


def test_purge_deletes_old_finished_plans_and_keeps_the_rest(db):
    day = 86400.0
    old = {state: _plan(db, state, 1.0, 2.0 * day, steps=2)
           for state in ('completed', 'failed', 'aborted')}
    old['dry-run'] = _plan(db, 'dry-run', 1.0, steps=2)
    kept = {state: _plan(db, state, 1.0, None, steps=2)
            for state in ('planned', 'executing', 'aborting')}
    kept['recent'] = _plan(db, 'completed', 1.0, 9.0 * day, steps=2)
    kept['recent dry-run'] = _plan(db, 'dry-run', 9.0 * day, steps=2)

    assert db.purge_plans(before=5.0 * day) == (4, 8)
    left = {p['id'] for p in db.list_plans()}
    assert left == set(kept.values())
    for plan_id in old.values():
        with pytest.raises(exception.NotFound):
            db.get_plan(plan_id)
        assert db.steps(plan_id) == []
    assert all(len(db.steps(p)) == 2 for p in kept.values())
    assert db.purge_plans(before=5.0 * day) == (0, 0)


def test_purge_never_deletes_an_executing_plan_however_old(db):
    plan_id = _plan(db, 'executing', 1.0, None)
    assert db.purge_plans(before=1e12) == (0, 0)
    assert db.get_plan(plan_id)['state'] == 'executing'
