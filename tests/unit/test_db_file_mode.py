"""The conductor's SQLite database holds plans and migration history:
it is created readable by its owner only (0600) whatever the umask; its
WAL files follow the file; a missing directory is an error, as before."""

import os
import stat

import pytest

from nova_livemig import exception
from nova_livemig.db import api as db_api


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # the usual umask: new files world-readable
    yield
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_database_is_private(tmp_path, open_umask):
    path = tmp_path / 'livemig.sqlite'
    db = db_api.Database(f'sqlite:///{path}')
    db.sync()
    assert _mode(path) == 0o600
    for extra in (path.with_name(path.name + '-wal'),
                  path.with_name(path.name + '-shm')):
        if extra.exists():
            assert _mode(extra) == 0o600, extra
    db.engine.dispose()


def test_an_existing_file_keeps_its_mode(tmp_path, open_umask):
    path = tmp_path / 'livemig.sqlite'
    path.touch(mode=0o640)
    db_api.Database(f'sqlite:///{path}').sync()
    assert _mode(path) == 0o640


def test_memory_databases_create_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db_api.Database('sqlite://').sync()
    db_api.Database('sqlite:///:memory:').sync()
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_named_and_not_created(tmp_path):
    missing = tmp_path / 'no' / 'such'
    db = db_api.Database(f'sqlite:///{missing}/livemig.sqlite')
    with pytest.raises(exception.InvalidInput) as info:
        db.sync()
    assert str(info.value).startswith('[database] connection: got ')
    assert 'can be opened' in str(info.value)
    assert not (tmp_path / 'no').exists()
