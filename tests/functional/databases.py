"""The SQL servers of the functional tests: SQLite always, MariaDB and
PostgreSQL when ``tools/databases.sh`` started them.

That script writes the servers' URLs to ``/run/nova-livemig-db/urls.env``
(root only); the variables ``NOVA_LIVEMIG_TEST_MYSQL_URL`` and
``NOVA_LIVEMIG_TEST_POSTGRESQL_URL`` in the environment win over the
file. :func:`fresh_url` makes an empty database per test and drops it
afterwards. A backend that is not there is skipped, naming why, except
under ``CI=true`` (:func:`tests.fixtures.skip_or_fail`). No URL with its
password ever reaches a message: :func:`nova_livemig.db.api.masked_url`.
"""

import contextlib
import os
import uuid

import sqlalchemy as sa

from nova_livemig.db import api as db_api
from tests import fixtures

BACKENDS = ('sqlite', 'mysql', 'postgresql')
URLS_FILE = os.environ.get('NOVA_LIVEMIG_DB_DIR',
                           '/run/nova-livemig-db') + '/urls.env'
_VARIABLE = {'mysql': 'NOVA_LIVEMIG_TEST_MYSQL_URL',
             'postgresql': 'NOVA_LIVEMIG_TEST_POSTGRESQL_URL'}
_DRIVER = {'mysql': ('pymysql', 'PyMySQL'),
           'postgresql': ('psycopg2', 'psycopg2-binary')}
_NAME = {'mysql': 'MariaDB', 'postgresql': 'PostgreSQL'}


def _from_file():
    found = {}
    try:
        with open(URLS_FILE) as f:
            for line in f:
                key, sep, value = line.strip().partition('=')
                if sep:
                    found[key] = value
    except OSError:
        pass
    return found


def server_url(backend):
    """The URL of the test user's database on ``backend``; skips (or fails
    under CI) when the server or its Python driver is missing."""
    variable = _VARIABLE[backend]
    url = os.environ.get(variable) or _from_file().get(variable)
    if not url:
        fixtures.skip_or_fail(
            f'{_NAME[backend]} is not set up: run tools/databases.sh as '
            f'root (or set {variable})', 'databases')
    module, package = _DRIVER[backend]
    try:
        __import__(module)
    except ImportError:
        fixtures.skip_or_fail(f'{package} is not installed (pip install '
                              f'"nova-livemig[{backend}]")', 'databases')
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as err:
        fixtures.skip_or_fail(
            f'{_NAME[backend]} at {db_api.masked_url(url)} does not answer '
            f'({type(err.orig).__name__}); run tools/databases.sh',
            'databases')
    finally:
        engine.dispose()
    return url


@contextlib.contextmanager
def fresh_url(backend, tmp_path):
    """An empty database on ``backend`` for one test; its URL."""
    if backend == 'sqlite':
        yield f'sqlite:///{tmp_path}/livemig.sqlite'
        return
    server = sa.engine.make_url(server_url(backend))
    name = f'{server.database}_{uuid.uuid4().hex[:12]}'
    admin = sa.create_engine(server, isolation_level='AUTOCOMMIT')
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE {quoted}'))
        yield server.set(database=name).render_as_string(
            hide_password=False)
    finally:
        force = ' WITH (FORCE)' if backend == 'postgresql' else ''
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS {quoted}{force}'))
        admin.dispose()
