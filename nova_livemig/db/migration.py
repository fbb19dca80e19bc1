"""Schema migrations with alembic, driven from code (no alembic.ini).

``nova-livemig-conductor --db-sync`` calls :func:`sync`; the conductor calls
it at startup when ``[database] auto_sync`` is set, else :func:`check`.

:func:`sync` upgrades under a lock that every conductor of the database
takes, so that conductors starting together on a fresh or outdated
database run each script once: the first upgrades, the others wait and
then find the schema at the head. The lock is MariaDB's ``GET_LOCK``,
PostgreSQL's session advisory lock, or for an SQLite file an exclusive
``flock`` on the file itself (SQLite locks with ``fcntl``, which ``flock``
leaves alone); an in-memory SQLite database has one user and no lock.
"""

import contextlib
import fcntl
import os
import time

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script
import sqlalchemy as sa

from nova_livemig import exception

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       'migrations')
#: the name of the schema lock (MariaDB) and its key (PostgreSQL: a
#: bigint, the first bytes of "livemig" in ASCII)
LOCK_NAME = 'nova_livemig.schema'
LOCK_KEY = 0x6c6976656d6967
#: how long :func:`sync` waits for another conductor's upgrade
LOCK_TIMEOUT_S = 300.0
_POLL_S = 0.1


def _config(connection=None):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', SCRIPTS)
    cfg.attributes['connection'] = connection
    return cfg


def head():
    """The newest revision the scripts know."""
    return alembic_script.ScriptDirectory.from_config(
        _config()).get_current_head()


def current(engine):
    """The revision the database is at, or None when it is empty."""
    with engine.connect() as conn:
        return alembic_migration.MigrationContext.configure(
            conn).get_current_revision()


def sync(engine, revision='head', timeout_s=LOCK_TIMEOUT_S):
    """Upgrade the database to ``revision`` under the schema lock.

    :returns: the revision reached
    :raises InvalidInput: naming ``[database] connection`` when another
        upgrade held the lock for ``timeout_s`` seconds
    """
    with schema_lock(engine, timeout_s):
        with engine.begin() as conn:
            command.upgrade(_config(conn), revision)
    return current(engine)


@contextlib.contextmanager
def schema_lock(engine, timeout_s=LOCK_TIMEOUT_S):
    """Hold the schema lock of ``engine``'s database (see the module)."""
    dialect = engine.dialect.name
    if dialect == 'sqlite':
        path = engine.url.database
        if path in (None, '', ':memory:') or 'uri' in engine.url.query:
            yield
            return
        try:
            # an empty file is an empty SQLite database: created private
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
        except OSError:
            yield  # SQLite says why it cannot open it
            return
        try:
            _wait(lambda: _try_flock(fd), timeout_s)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        return
    if dialect not in ('mysql', 'mariadb', 'postgresql'):
        yield  # a dialect without a known lock: as before
        return
    with engine.connect().execution_options(
            isolation_level='AUTOCOMMIT') as conn:
        if dialect == 'postgresql':
            take = sa.text('SELECT pg_try_advisory_lock(:key)')
            give = sa.text('SELECT pg_advisory_unlock(:key)')
            args = {'key': LOCK_KEY}
        else:
            take = sa.text('SELECT GET_LOCK(:name, 0)')
            give = sa.text('SELECT RELEASE_LOCK(:name)')
            args = {'name': LOCK_NAME}
        _wait(lambda: bool(conn.scalar(take, args)), timeout_s)
        try:
            yield
        finally:
            conn.scalar(give, args)


def _try_flock(f):
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait(try_lock, timeout_s):
    deadline = time.monotonic() + timeout_s
    while not try_lock():
        if time.monotonic() > deadline:
            raise exception.InvalidInput(
                '[database] connection', None,
                f'a database whose schema lock is free within {timeout_s} '
                's (another conductor is upgrading it, or died doing it)')
        time.sleep(_POLL_S)


def check(engine):
    """:raises InvalidInput: when the schema is not at the newest
    revision."""
    found, wanted = current(engine), head()
    if found != wanted:
        raise exception.InvalidInput(
            'database schema', found,
            f'revision {wanted}; run nova-livemig-conductor --db-sync')
