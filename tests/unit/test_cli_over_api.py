"""``nova-livemig plan ...`` and ``migrate`` through the REST API: the
real command in-process, the real API (wsgi-intercept on
``http://livemig.test``) in front of a real conductor endpoint over
``fake://`` RPC, tokens checked by keystonemiddleware (its fixture
stands in for Keystone). The command prints what it printed when it
spoke RPC itself: the same tables, the same exit statuses.
"""

import io
import json
import os
import threading
import time
import types

import pytest
import wsgi_intercept
from wsgi_intercept import requests_intercept

from nova_livemig.cmd import cli
from nova_livemig.cmd import control
from tests.unit import conductor_fixtures as cf
from tests.unit.api import stack
from tests.unit.api import test_osc

URL = test_osc.ENDPOINT
#: a host where nothing listens (connection refused)
NOWHERE = 'http://127.0.0.1:9'


#: the fixture: the API in-process on ``http://livemig.test``, in front of
#: a conductor whose hosts a, b, c hold v1 and v2 on a
api = test_osc.api


@pytest.fixture
def no_cloud(tmp_path, monkeypatch):
    """No clouds.yaml and no OS_* variable, whatever the machine has."""
    for name in list(os.environ):
        if name.startswith('OS_'):
            monkeypatch.delenv(name)
    monkeypatch.setenv('HOME', str(tmp_path))
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(tmp_path / 'none.yaml'))
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path))


def run(capsys, *argv, token=stack.ADMIN_TOKEN, url=URL):
    """``nova-livemig ARGV --api-url URL --os-token TOKEN``; returns
    ``(exit status, stdout, stderr)``."""
    status = cli.run([*argv, '--api-url', url, '--os-token', token])
    out = capsys.readouterr()
    return status, out.out, out.err


def bus(api):
    """The same calls over the conductor's RPC API, as the command made
    them before it went through the API."""
    return control.BusPlans(control.conductor_api(api.conf, api.transport))


def bus_print(api, action, plan_id=None, fmt='table', limit=None):
    args = types.SimpleNamespace(
        action=action, plan_id=plan_id, json=fmt == 'json', limit=limit,
        marker=None, policy=None, vm=[], host=[], interval=None)
    out = io.StringIO()
    status = control.run_plan(args, None, bus(api), out)
    return status, out.getvalue()


def create(capsys, *extra):
    status, out, err = run(capsys, 'plan', 'create', '--policy', 'drain',
                           '--host', 'a', '--format', 'json', *extra)
    assert status == 0, err
    return json.loads(out)


class Completing(cf.RecordingExecutor):
    """An executor whose steps complete a moment after they start."""

    def __init__(self, engine):
        super().__init__()
        self.engine = engine

    def start(self, step, fence=None):
        super().start(step, fence)
        threading.Timer(0.05, self._done, (step,)).start()

    def _done(self, step):
        from nova_livemig import messages
        self.engine.on_result(messages.Result.from_primitive({
            'step_id': step['step_id'], 'vm': step['vm'],
            'state': 'completed', 'host': step['destination'],
            'stats': {'total_s': 1.0, 'downtime_ms': 10.0, 'bytes': 1,
                      'iterations': 1, 'postcopy': False},
            'error': None}))


def test_create_list_show_print_what_the_bus_printed(api, capsys):
    status, out, err = run(capsys, 'plan', 'create', '--policy', 'drain',
                           '--host', 'a', '--dry-run')
    assert status == 0, err
    assert out.splitlines()[0].endswith('state dry-run  (dry run)')
    plan_id = out.split()[1]
    assert {line.split()[1] for line in out.splitlines()[2:4]} == {
        'v1', 'v2'}
    for argv, action, pid in ((('plan', 'show', plan_id), 'show', plan_id),
                              (('plan', 'list'), 'list', None)):
        status, out, err = run(capsys, *argv)
        assert (status, out) == bus_print(api, action, pid), err
        status, out, err = run(capsys, *argv, '--format', 'json')
        bus_status, bus_out = bus_print(api, action, pid, 'json')
        assert status == bus_status == 0
        assert json.loads(out) == json.loads(bus_out)


def test_list_pages_with_the_next_marker(api, capsys):
    first, second = create(capsys, '--dry-run'), create(capsys, '--dry-run')
    status, out, _ = run(capsys, 'plan', 'list', '--limit', '1')
    assert status == 0
    assert second['id'] in out and first['id'] not in out
    assert f'plan list --marker {second["id"]}' in out
    status, out, _ = run(capsys, 'plan', 'list', '--marker', second['id'])
    assert status == 0 and first['id'] in out and second['id'] not in out


def test_execute_follows_the_plan_to_its_end(api, capsys):
    engine = api.service.conductor.engine
    engine.executor = Completing(engine)
    plan = create(capsys)
    status, out, err = run(capsys, 'plan', 'execute', plan['id'],
                           '--interval', '0.05')
    assert status == 0, err
    assert 'VM placement after the plan:' in out
    placed = out.split('VM placement after the plan:')[1].split()
    assert dict(zip(placed[0:4:2], placed[1:4:2])) == {
        step['vm']: step['destination'] for step in plan['steps']}
    assert run(capsys, 'plan', 'show', plan['id'])[1].splitlines()[0] \
        .endswith('state completed')


def test_execute_no_wait_then_abort(api, capsys):
    plan = create(capsys)
    status, out, err = run(capsys, 'plan', 'execute', plan['id'],
                           '--no-wait')
    assert status == 0, err
    assert 'state executing' in out.splitlines()[0]
    status, out, err = run(capsys, 'plan', 'abort', plan['id'],
                           '--no-wait', '--format', 'json')
    view = json.loads(out)
    assert view['state'] in ('aborting', 'aborted')
    assert status == control.exit_status(view)


def test_purge_deletes_the_finished_plans(api, capsys):
    create(capsys, '--dry-run')
    create(capsys, '--dry-run')
    kept = create(capsys)
    status, out, err = run(capsys, 'plan', 'purge', '--older-than-days',
                           '0')
    assert status == 0, err
    assert out == ('purged 2 plans and 4 steps that finished more than 0 '
                   'days ago\n')
    status, out, _ = run(capsys, 'plan', 'list', '--format', 'json')
    assert [p['id'] for p in json.loads(out)] == [kept['id']]
    status, out, err = run(capsys, 'plan', 'purge')
    assert status == 2 and out == ''
    assert '--older-than-days: got None' in err
    assert 'plan_retention_days' in err


def test_migrate_one_vm(api, capsys):
    status, out, err = run(capsys, 'migrate', 'v1', '--no-wait')
    assert status == 0, err
    assert 'policy single  state executing' in out.splitlines()[0]
    assert eventually(lambda: [s['vm'] for s in api.executor.started]) \
        == ['v1']
    status, out, err = run(capsys, 'migrate', 'v1', '--to', 'b')
    assert status == 2 and out == ''
    assert 'openstack server migrate --live-migration --host' in err


@pytest.mark.parametrize('argv, status, words', [
    (('plan', 'create', '--policy', 'drain', '--host', 'zz'), 2,
     "hosts: got 'zz'; allowed: a host name of the snapshot"),
    (('plan', 'create', '--policy', 'nosuch'), 2, "policy: got 'nosuch'"),
    (('plan', 'show', 'nope'), 2, "unknown plan 'nope' (HTTP 404)"),
    (('plan', 'list', '--marker', 'nope'), 2, '--marker: '),
    (('migrate', 'zz', '--no-wait'), 2, "'zz'"),
])
def test_the_api_refusal_names_the_field(api, capsys, argv, status, words):
    got, out, err = run(capsys, *argv)
    assert (got, out) == (status, '')
    assert err.startswith('nova-livemig: error: ') and words in err
    assert 'Traceback' not in err and len(err.splitlines()) == 1


def test_a_reader_cannot_execute_and_no_token_is_echoed(api, capsys):
    plan = create(capsys)
    for action in ('execute', 'abort'):
        status, out, err = run(capsys, 'plan', action, plan['id'],
                               token=stack.READER_TOKEN)
        assert (status, out) == (2, '')
        assert f'livemig:plan:{action}' in err and '(HTTP 403)' in err
        assert stack.READER_TOKEN not in err
    assert api.executor.started == []
    secret = 'not-a-valid-token-s3cret'
    status, out, err = run(capsys, 'plan', 'list', token=secret)
    assert (status, out) == (2, '')
    assert '(HTTP 401)' in err and '--os-token' in err
    assert secret not in err


def test_an_api_that_is_not_there(capsys, no_cloud):
    status, out, err = run(capsys, 'plan', 'list', url=NOWHERE)
    assert (status, out) == (1, '')
    assert err.startswith(f'nova-livemig: error: cannot reach the API at '
                          f'{NOWHERE} (connection refused')
    assert stack.ADMIN_TOKEN not in err


def test_an_api_that_fails(capsys, no_cloud):
    def broken(environ, start_response):
        start_response('500 Internal Server Error',
                       [('Content-Type', 'application/json')])
        return [b'{"error": {"code": 500, "message": "internal error"}}']
    requests_intercept.install()
    wsgi_intercept.add_wsgi_intercept('broken.test', 80, lambda: broken)
    try:
        status, out, err = run(capsys, 'plan', 'show', 'p1',
                               url='http://broken.test')
    finally:
        wsgi_intercept.remove_wsgi_intercept('broken.test', 80)
        requests_intercept.uninstall()
    assert (status, out) == (1, '')
    assert 'the API failed (HTTP 500): internal error' in err


def test_clouds_yaml_and_the_os_variables(api, capsys, no_cloud, tmp_path,
                                          monkeypatch):
    clouds = tmp_path / 'clouds.yaml'
    clouds.write_text(json.dumps({'clouds': {
        'lab': {'auth_type': 'admin_token',
                'auth': {'endpoint': URL, 'token': stack.ADMIN_TOKEN}},
        'moved': {'auth_type': 'admin_token',
                  'auth': {'endpoint': NOWHERE,
                           'token': stack.ADMIN_TOKEN}}}}))
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(clouds))
    status, out, err = _plain(capsys, 'plan', 'list', '--os-cloud', 'lab')
    assert (status, out) == (0, 'no plans\n'), err
    # --api-url replaces the endpoint the cloud gives
    assert _plain(capsys, 'plan', 'list', '--os-cloud', 'moved')[0] == 1
    assert _plain(capsys, 'plan', 'list', '--os-cloud', 'moved',
                  '--api-url', URL)[:2] == (0, 'no plans\n')
    monkeypatch.setenv('OS_CLOUD', 'lab')
    assert _plain(capsys, 'plan', 'list')[:2] == (0, 'no plans\n')
    status, out, err = _plain(capsys, 'plan', 'list', '--os-cloud', 'nope')
    assert (status, out) == (2, '')
    assert err.startswith("nova-livemig: error: --os-cloud: got 'nope'; ")
    monkeypatch.delenv('OS_CLOUD')
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(tmp_path / 'none'))
    for name, value in (('OS_AUTH_TYPE', 'admin_token'),
                        ('OS_ENDPOINT', URL),
                        ('OS_TOKEN', stack.READER_TOKEN)):
        monkeypatch.setenv(name, value)
    assert _plain(capsys, 'plan', 'list')[:2] == (0, 'no plans\n')
    status, _, err = _plain(capsys, 'plan', 'create', '--policy', 'drain')
    assert status == 2 and '(HTTP 403)' in err
    assert stack.READER_TOKEN not in err


def test_no_way_to_the_api_is_an_error_naming_the_options(capsys,
                                                          no_cloud):
    status, out, err = _plain(capsys, 'plan', 'list')
    assert (status, out) == (2, '')
    assert err.startswith('nova-livemig: error: --os-cloud: got None; '
                          'allowed: a cloud of clouds.yaml')
    assert '--api-url with --os-token' in err and 'auth_url' in err


def eventually(value, limit_s=30.0):
    """``value()`` once it is truthy (the conductor starts steps in a
    thread of its own), or its last value after ``limit_s``."""
    deadline = time.monotonic() + limit_s
    got = value()
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
        got = value()
    return got


def _plain(capsys, *argv):
    status = cli.run(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err
