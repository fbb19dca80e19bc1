"""Schema migrations with alembic, driven from code (no alembic.ini).

``nova-livemig-conductor --db-sync`` calls :func:`sync`; the conductor calls
it at startup when ``[database] auto_sync`` is set, else :func:`check`.
"""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from nova_livemig import exception

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       'migrations')


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


def sync(engine, revision='head'):
    """Upgrade the database to ``revision``; returns the revision reached."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)
    return current(engine)


def check(engine):
    """:raises InvalidInput: when the schema is not at the newest
    revision."""
    found, wanted = current(engine), head()
    if found != wanted:
        raise exception.InvalidInput(
            'database schema', found,
            f'revision {wanted}; run nova-livemig-conductor --db-sync')
