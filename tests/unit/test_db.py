"""The database: schema migrations agree with the models; the API's
compare-and-set changes and leases."""

import pytest
import sqlalchemy as sa
from alembic import autogenerate
from alembic import migration as alembic_migration

from nova_livemig import exception
from nova_livemig.db import api as db_api
from nova_livemig.db import migration
from nova_livemig.db import models

STEP = dict(vm='v1', source='a', destination='b', algorithm='precopy',
            predicted={'total_s': 1.0}, path=[['a', 'tor']],
            planned_start_s=0.0, planned_end_s=1.0)


@pytest.fixture
def db(tmp_path):
    d = db_api.Database(f'sqlite:///{tmp_path}/db.sqlite')
    d.sync()
    return d


def test_migrations_and_models_agree(tmp_path):
    engine = sa.create_engine(f'sqlite:///{tmp_path}/m.sqlite')
    migration.sync(engine)
    with engine.connect() as conn:
        ctx = alembic_migration.MigrationContext.configure(
            conn, opts={'compare_type': True})
        diff = autogenerate.compare_metadata(ctx, models.Base.metadata)
    assert diff == []


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
