"""No command shows a password: each console script runs with secret-
bearing URLs that cannot work (a database driver that is not installed,
a transport URL that does not parse or names no driver) and a ``[nova]``
password, and fails; the passwords appear in nothing it prints or logs,
while the error names the option at fault."""

import subprocess
import urllib.parse

import pytest

from nova_livemig.cmd import redact
from nova_livemig.db import api as db_api
from tests import fixtures
from tests.unit import fakehosts

DB_SECRET = 'Db-S3cret.7q'
MQ_SECRET = 'Mq-S3cret.4z'
NOVA_SECRET = 'Nova-S3cret.9k'
#: a password with an unescaped "/": oslo.messaging's parser then quotes
#: its first part as a port number
SLASH_SECRET = 'Mq-S3c/ret.2w'
SECRETS = (DB_SECRET, MQ_SECRET, NOVA_SECRET, SLASH_SECRET.split('/')[0],
           SLASH_SECRET.split('/')[1])

#: a driver that is not installed (test-requirements install neither)
MISSING_DB = f'postgresql+psycopg2://livemig:{DB_SECRET}@db.invalid/livemig'
UNKNOWN_DB = f'nosuchdb://livemig:{DB_SECRET}@db.invalid/livemig'
QUERY_DB = f'postgresql+psycopg2://livemig@db.invalid/x?password={DB_SECRET}'
BAD_MQ = f'rabbit://livemig:{SLASH_SECRET}@127.0.0.1:5672/'
UNKNOWN_MQ = f'nosuchbus://livemig:{MQ_SECRET}@127.0.0.1:5672/'


def _config(tmp_path, connection, transport_url):
    path = tmp_path / 'livemig.conf'
    path.write_text(
        f'[DEFAULT]\ntransport_url = {transport_url}\n'
        f'[database]\nconnection = {connection}\n'
        '[conductor]\nexecutor = nova\n'
        '[nova]\nauth_type = password\n'
        'auth_url = http://keystone.invalid/identity/v3\n'
        f'username = livemig\npassword = {NOVA_SECRET}\n'
        'project_name = service\nuser_domain_name = Default\n'
        'project_domain_name = Default\n'
        f'[agent]\nhost = a\ndriver = fake\n'
        f'[fake_driver]\nstate_dir = {tmp_path / "state"}\n'
        f'snapshot_file = {fakehosts.write_snapshot(tmp_path)}\n')
    return path


def _run(tmp_path, script, args, connection, transport_url):
    conf = _config(tmp_path, connection, transport_url)
    return subprocess.run(
        [f'{fixtures.BIN}/{script}', *args, '--config-file', str(conf)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        check=False)


def _db_cases():
    sql_ok = 'sqlite:///{tmp}/livemig.sqlite'
    for connection in (MISSING_DB, UNKNOWN_DB, QUERY_DB):
        yield ('nova-livemig-conductor', ['--db-sync'], connection,
               'fake://', '[database] connection')
        yield ('nova-livemig-conductor', [], connection, 'fake://',
               '[database] connection')
        yield ('nova-livemig', ['history', 'export'], connection,
               'fake://', '[database] connection')
    for url in (BAD_MQ, UNKNOWN_MQ):
        yield ('nova-livemig-conductor', [], sql_ok, url, 'transport_url')
        yield ('nova-livemig-agent', [], sql_ok, url, 'transport_url')
    # nova-livemig reaches the conductor through the API: an endpoint
    # and a token are the secrets it is given
    yield ('nova-livemig', ['plan', 'list', '--api-url',
                            f'http://livemig:{MQ_SECRET}@api.invalid/'],
           sql_ok, 'fake://', '--api-url')
    yield ('nova-livemig', ['plan', 'list', '--api-url', 'http://127.0.0.1:9',
                            '--os-token', MQ_SECRET], sql_ok, 'fake://',
           'cannot reach the API')


@pytest.mark.parametrize('script, args, connection, url, field',
                         list(_db_cases()))
def test_no_command_shows_a_password(tmp_path, script, args, connection,
                                     url, field):
    done = _run(tmp_path, script, args,
                connection.format(tmp=tmp_path), url)
    shown = done.stdout + done.stderr
    assert done.returncode != 0, shown
    assert field in shown, shown
    for secret in SECRETS:
        assert secret not in shown, shown
        assert urllib.parse.quote(secret, safe='') not in shown, shown


def test_masked_database_urls():
    assert db_api.masked_url(MISSING_DB) == \
        'postgresql+psycopg2://livemig:***@db.invalid/livemig'
    assert DB_SECRET not in db_api.masked_url(QUERY_DB)
    assert db_api.masked_url('mysql+pymysql//u:pw@h') == '<unparsable URL>'


def test_scrub_hides_every_secret_option(tmp_path):
    from nova_livemig.cmd import conductor
    conf = conductor.build_conf(
        ['--config-file', str(_config(tmp_path, MISSING_DB, BAD_MQ))])
    text = (f'connect {MISSING_DB} as livemig/{NOVA_SECRET} via {BAD_MQ} '
            f'(port {SLASH_SECRET.split("/")[0]!r})')
    scrubbed = redact.scrub(text, conf)
    for secret in (DB_SECRET, NOVA_SECRET, SLASH_SECRET):
        assert secret not in scrubbed
    assert 'postgresql+psycopg2://livemig:***@db.invalid' in scrubbed

