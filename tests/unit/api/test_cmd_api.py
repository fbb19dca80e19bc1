"""``nova-livemig-api`` and the uwsgi entry point: a real server on
loopback, a bad configuration refused with exit status 2 naming the
option, the uwsgi application built from its configuration files."""

import threading

import pytest
import requests

from nova_livemig.api import wsgi
from nova_livemig.cmd import api as api_cmd
from tests.unit.api import stack


@pytest.fixture
def noauth(tmp_path):
    running = stack.Stack(tmp_path, auth='noauth')
    running.report({'a': ['v1'], 'b': []})
    server = api_cmd.serve(running.app, '127.0.0.1', 0)
    try:
        yield f'http://127.0.0.1:{server.server_port}', running
    finally:
        server.shutdown()
        server.server_close()
        running.stop()


def test_loopback_server_with_noauth(noauth):
    url, _ = noauth
    assert requests.get(url + '/', timeout=30).json()['versions'][0][
        'id'] == 'v1'
    resp = requests.get(url + '/v1/plans', timeout=30)
    assert resp.status_code == 401
    assert resp.json()['error']['code'] == 401
    resp = requests.post(url + '/v1/plans', timeout=30,
                         headers={'X-Auth-Token': 'reader'},
                         json={'policy': 'drain', 'hosts': ['a']})
    assert resp.status_code == 403
    resp = requests.post(url + '/v1/plans', timeout=30,
                         headers={'X-Auth-Token': 'admin'},
                         json={'policy': 'drain', 'hosts': ['a']})
    assert resp.status_code == 201, resp.text
    assert resp.headers['x-openstack-request-id'].startswith('req-')
    listed = requests.get(url + '/v1/plans', timeout=30,
                          headers={'X-Auth-Token': 'reader'}).json()
    assert [p['id'] for p in listed['plans']] == [resp.json()['plan']['id']]


@pytest.mark.parametrize('line,option', [
    ('auth_strategy = anyone', 'auth_strategy'),
    ('port = 70000', 'port'),
    ('max_body_bytes = 1', 'max_body_bytes'),
])
def test_bad_configuration_exits_2_naming_the_option(tmp_path, capsys,
                                                     line, option):
    conf = tmp_path / 'api.conf'
    conf.write_text(f'[api]\n{line}\n')
    stop = threading.Event()
    stop.set()
    assert api_cmd.main(['--config-file', str(conf)], stop) == 2
    assert option in capsys.readouterr().err


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert api_cmd.main(['--config-file', str(tmp_path / 'nope')]) == 2
    assert '--config-file' in capsys.readouterr().err


def test_uwsgi_application_reads_its_config_files(tmp_path):
    conf = tmp_path / 'api.conf'
    conf.write_text('[api]\nauth_strategy = noauth\n'
                    f'[database]\nconnection = sqlite:///{tmp_path}/x.db\n')
    app = wsgi.init_application({'NOVA_LIVEMIG_CONFIG_FILES': str(conf)})
    import webob
    resp = webob.Request.blank('/v1').get_response(app)
    assert resp.status_int == 200 and resp.json['version']['id'] == 'v1'
    # noauth: the token names the persona, anything else is refused
    resp = webob.Request.blank('/v1/plans', headers={
        'X-Auth-Token': 'root-s3cret'}).get_response(app)
    assert resp.status_int == 401 and resp.json['error']['code'] == 401
    assert 's3cret' not in resp.text  # a token is never echoed
