"""The database API and its schema migrations on SQLite, MariaDB and
PostgreSQL: the database tests of ``tests/unit`` (those that take the
``db`` fixture), run once per backend, and what only a real server shows:
the scripts agree with the models on each dialect, and fresh conductors
racing to create the schema all start.

MariaDB and PostgreSQL come from ``tools/databases.sh``; without them
these are skipped, naming why (under ``CI=true``, they fail).
"""

import inspect
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from nova_livemig.db import api as db_api
from nova_livemig.db import leases
from nova_livemig.db import migration
from nova_livemig.db import models
from tests import fixtures
from tests.functional import databases
from tests.unit import test_db
from tests.unit import test_history_db
from tests.unit import test_lease

RACERS = 6


def _adopt(module, prefix):
    """Every test of ``module`` that takes ``db``, under this module."""
    for name, func in vars(module).items():
        if (name.startswith('test_') and callable(func)
                and 'db' in inspect.signature(func).parameters):
            globals()[f'test_{prefix}_{name[5:]}'] = func


_adopt(test_db, 'db')
_adopt(test_history_db, 'history')
_adopt(test_lease, 'lease')


@pytest.fixture(params=databases.BACKENDS)
def url(request, tmp_path):
    """An empty database on each backend."""
    with databases.fresh_url(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def db(url):
    """A database with the current schema, on each backend."""
    database = db_api.Database(url)
    database.sync()
    yield database
    database.engine.dispose()


@pytest.fixture
def clock():
    return fixtures.Clock()


def test_migrations_and_models_agree(url):
    engine = sa.create_engine(url)
    try:
        migration.sync(engine)
        assert test_db.schema_diff(engine) == []
    finally:
        engine.dispose()


def test_sync_is_idempotent_and_check_needs_it(url):
    d = db_api.Database(url)
    try:
        assert migration.current(d.engine) is None
        assert d.sync() == migration.head()
        assert d.sync() == migration.head()
        d.check()
    finally:
        d.engine.dispose()


def test_fresh_conductors_racing_on_the_schema_all_start(url, tmp_path):
    """Six ``nova-livemig-conductor --db-sync`` at once on an empty
    database: each exits 0 and the schema ends at the head, once."""
    conf = tmp_path / 'db.conf'
    fixtures.write_conf(conf, {'database': {'connection': url}})
    os.chmod(conf, 0o600)
    command = [os.path.join(fixtures.BIN, 'nova-livemig-conductor'),
               '--config-file', str(conf), '--db-sync']
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(RACERS)]
    results = [(p.wait(120), *p.communicate()) for p in procs]
    failed = [(rc, err[-500:]) for rc, _out, err in results if rc != 0]
    sys.stdout.write(f'{RACERS - len(failed)} of {RACERS} racers exited 0\n')
    assert failed == []
    engine = sa.create_engine(url)
    try:
        assert migration.current(engine) == migration.head()
        with engine.connect() as conn:
            versions = conn.execute(sa.text(
                'SELECT version_num FROM alembic_version')).all()
    finally:
        engine.dispose()
    assert [v[0] for v in versions] == [migration.head()]
    secret = sa.engine.make_url(url).password
    if secret:
        assert not any(secret in out + err for _rc, out, err in results)


def test_times_keep_their_milliseconds(db):
    """Epoch times survive to the millisecond (MySQL's FLOAT rounded
    them to 128 s)."""
    now = 1796403172.123
    grant = leases.acquire(db.engine, 'conductor', 'a', 0.5, now=now)
    assert leases.read(db.engine, 'conductor').expires_at == pytest.approx(
        grant.expires_at, abs=1e-3)
    assert leases.acquire(db.engine, 'conductor', 'b', 10,
                          now=now + 0.4) is None
    assert leases.acquire(db.engine, 'conductor', 'b', 10,
                          now=now + 0.6) is not None


def test_upgrade_from_0003_keeps_rows_and_their_times(url):
    engine = sa.create_engine(url)
    at = 1796403172.25
    try:
        migration.sync(engine, '0003')
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO leases (name, holder, expires_at) "
                "VALUES ('periodic', 'c1', :at)"), {'at': at})
        migration.sync(engine)
        assert test_db.schema_diff(engine) == []
        with engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE leases SET expires_at = :at"), {'at': at})
    finally:
        engine.dispose()
    d = db_api.Database(url)
    try:
        grant = leases.read(d.engine, 'periodic')
    finally:
        d.engine.dispose()
    assert (grant.holder, grant.epoch) == ('c1', 0)
    assert grant.expires_at == pytest.approx(at, abs=1e-3)


def test_no_column_is_single_precision_on_mysql():
    """Every floating column is a DOUBLE on MySQL/MariaDB (their FLOAT
    rounds an epoch time to 128 s): :data:`models.SECONDS`."""
    from sqlalchemy.dialects import mysql
    dialect = mysql.dialect()
    floats = [f'{table.name}.{column.name}'
              for table in models.Base.metadata.tables.values()
              for column in table.columns
              if isinstance(column.type, sa.Float)
              and column.type.compile(dialect=dialect) != 'DOUBLE']
    assert floats == []
