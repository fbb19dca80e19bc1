"""Fixtures of the unit tests, built on :mod:`tests.fixtures`."""

import pytest

from nova_livemig.db import api as db_api
from tests import fixtures
from tests.unit import fakehosts


@pytest.fixture
def clock():
    """A :class:`tests.fixtures.Clock` at 100 s; move it with ``.now``."""
    return fixtures.Clock()


@pytest.fixture
def db(tmp_path):
    """An empty database with the current schema (SQLite in tmp_path)."""
    database = db_api.Database(f'sqlite:///{tmp_path}/db.sqlite')
    database.sync()
    return database


@pytest.fixture
def agents(tmp_path):
    """Makes :class:`tests.fixtures.AgentCluster` s over the snapshot of
    :mod:`tests.unit.fakehosts`: ``agents(hosts=('a', 'b'), **overrides)``,
    overrides as in :func:`tests.unit.fakehosts.make_conf`. Each is
    stopped after the test."""
    made = []

    def make(hosts=('a', 'b'), **overrides):
        made.append(fixtures.AgentCluster(
            lambda host: fakehosts.make_conf(tmp_path, host, **overrides),
            hosts))
        return made[-1]
    yield make
    for cluster in made:
        cluster.stop()
