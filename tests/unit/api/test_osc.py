"""``openstack livemig ...``: the real OpenStackClient shell, in-process,
against the API (wsgi-intercept on ``http://livemig.test``) in front of a
real conductor endpoint over ``fake://`` RPC, with a Keystone token
checked by keystonemiddleware (its fixture stands in for Keystone)."""

import json
import pathlib
import time

from openstackclient import shell
import pytest
import wsgi_intercept
from wsgi_intercept import requests_intercept

from nova_livemig import client as client_mod
from tests.unit.api import stack

HOST = 'livemig.test'
SAMPLES = pathlib.Path(__file__).resolve().parents[3] / 'doc' / \
    'api_samples'
ENDPOINT = f'http://{HOST}'


@pytest.fixture
def api(tmp_path):
    running = stack.Stack(tmp_path)
    running.report({'a': ['v1', 'v2'], 'b': [], 'c': []})
    requests_intercept.install()
    wsgi_intercept.add_wsgi_intercept(HOST, 80, lambda: running.app)
    try:
        yield running
    finally:
        wsgi_intercept.remove_wsgi_intercept(HOST, 80)
        requests_intercept.uninstall()
        running.stop()


def openstack(capsys, *argv, token=stack.ADMIN_TOKEN):
    """Run ``openstack ARGV`` with a token and the API's endpoint;
    returns ``(exit status, stdout, stderr)``."""
    _forget_client()
    status = shell.main(['--os-auth-type', 'admin_token', '--os-token',
                         token, '--os-endpoint', ENDPOINT, *argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def _write(path, data):
    path.write_text(json.dumps(data))
    return path


def _forget_client():
    """OSC keeps a plugin's client on the ClientManager class (a
    ``ClientCache`` descriptor) for the life of the process: each
    in-process ``openstack`` run must build its own, with its own token."""
    from osc_lib import clientmanager
    cache = vars(clientmanager.ClientManager).get('livemig')
    if cache is not None:
        cache._handle = None


def run_json(capsys, *argv, token=stack.ADMIN_TOKEN):
    status, out, err = openstack(capsys, *argv, '-f', 'json', token=token)
    assert status == 0, err
    return json.loads(out)


def planned(capsys, plan_id):
    """The plan once the conductor has planned it (a create may answer
    while it is still ``planning``)."""
    for _ in range(200):
        plan = run_json(capsys, 'livemig', 'plan', 'show', plan_id)
        if plan['state'] != 'planning':
            return plan
        time.sleep(0.05)
    raise AssertionError(f'plan {plan_id} is still planning')


def test_create_execute_show_with_a_token(api, capsys):
    """The issue's done-when: create with --policy drain --host, then
    execute and show, through the API with a token."""
    created = run_json(capsys, 'livemig', 'plan', 'create', '--policy',
                       'drain', '--host', 'a')
    plan = planned(capsys, created['id'])
    assert plan['state'] == 'planned' and plan['steps'] == 2
    executed = run_json(capsys, 'livemig', 'plan', 'execute', plan['id'])
    assert executed['state'] == 'executing'
    shown = run_json(capsys, 'livemig', 'plan', 'show', plan['id'],
                     token=stack.READER_TOKEN)
    assert shown['id'] == plan['id'] and shown['policy'] == 'drain'
    steps = run_json(capsys, 'livemig', 'step', 'list', plan['id'])
    assert sorted(s['vm'] for s in steps) == ['v1', 'v2']
    assert {s['source'] for s in steps} == {'a'}
    # the conductor was asked to start the moves
    assert sorted(s['vm'] for s in api.executor.started) == ['v1', 'v2']


def test_reader_cannot_execute_or_abort(api, capsys):
    plan = planned(capsys, run_json(capsys, 'livemig', 'plan', 'create',
                                    '--policy', 'drain', '--host',
                                    'a')['id'])
    for action in ('execute', 'abort', 'delete'):
        status, out, err = openstack(capsys, 'livemig', 'plan', action,
                                     plan['id'], token=stack.READER_TOKEN)
        assert status != 0
        assert 'livemig:plan:' in err and 'HTTP 403' in err
    assert run_json(capsys, 'livemig', 'plan', 'show',
                    plan['id'])['state'] == 'planned'
    assert api.executor.started == []


def test_list_formats_and_delete(api, capsys):
    ids = [planned(capsys, run_json(
        capsys, 'livemig', 'plan', 'create', '--policy', 'drain', '--host',
        'a', '--dry-run')['id'])['id'] for _ in range(2)]
    listed = run_json(capsys, 'livemig', 'plan', 'list', '--limit', '1')
    assert [p['id'] for p in listed] == ids[1:]
    status, out, _ = openstack(capsys, 'livemig', 'plan', 'list', '-f',
                               'value', '-c', 'id', '--state', 'dry-run')
    assert status == 0 and out.split() == ids[::-1]
    status, out, _ = openstack(capsys, 'livemig', 'plan', 'list', '-f',
                               'yaml')
    assert status == 0 and out.count('state: dry-run') == 2
    status, out, _ = openstack(capsys, 'livemig', 'plan', 'list')
    assert status == 0 and '| dry-run |' in out
    status, _, err = openstack(capsys, 'livemig', 'plan', 'delete', *ids)
    assert status == 0, err
    assert run_json(capsys, 'livemig', 'plan', 'list') == []


def test_bad_input_names_the_field(api, capsys):
    status, _, err = openstack(capsys, 'livemig', 'plan', 'create',
                               '--policy', 'drain', '--host', 'zz')
    assert status != 0 and 'zz' in err and 'HTTP 400' in err
    status, _, err = openstack(capsys, 'livemig', 'plan', 'show', 'nope')
    assert status != 0 and "unknown plan 'nope'" in err


def test_cluster_commands(api, capsys):
    snap = run_json(capsys, 'livemig', 'snapshot', 'show',
                    token=stack.READER_TOKEN)
    assert snap['hosts'] == 3 and snap['vms'] == 2
    assert snap['vms_per_host'] == {'a': 2, 'b': 0, 'c': 0}
    assert run_json(capsys, 'livemig', 'history', 'list') == []
    assert run_json(capsys, 'livemig', 'periodic', 'list') == []
    status, _, err = openstack(capsys, 'livemig', 'calibration', 'show')
    assert status != 0 and 'HTTP 404' in err


def test_client_raises_the_api_message(api):
    from keystoneauth1 import session
    from keystoneauth1 import token_endpoint
    sess = session.Session(auth=token_endpoint.Token(ENDPOINT,
                                                     stack.READER_TOKEN))
    client = client_mod.Client(sess)
    plans, marker = client.plans.list()
    assert plans == [] and marker is None
    with pytest.raises(client_mod.ClientError) as err:
        client.plans.create('drain', hosts=['a'])
    assert err.value.status == 403
    assert 'livemig:plan:create' in err.value.message


def test_whatif_plans_on_a_snapshot_file(api, capsys, tmp_path):
    request = json.loads((SAMPLES / 'whatif-req.json').read_text())
    snapshot = tmp_path / 'snapshot.json'
    moves = run_json(capsys, 'livemig', 'whatif', '--snapshot',
                     str(_write(snapshot, request['snapshot'])), '--policy',
                     'drain', '--host', 'cmp-1', token=stack.READER_TOKEN)
    assert [(m['vm'], m['source'], m['destination']) for m in moves] == [
        ('web-1', 'cmp-1', 'cmp-2')]
    assert moves[0]['start_s'] == 0.0 and moves[0]['total_s'] > 0
    assert run_json(capsys, 'livemig', 'plan', 'list') == []
    status, _, err = openstack(capsys, 'livemig', 'whatif', '--snapshot',
                               str(snapshot), '--policy', 'drain',
                               '--host', 'nowhere')
    assert status != 0 and "body.hosts[0]: got 'nowhere'" in err
