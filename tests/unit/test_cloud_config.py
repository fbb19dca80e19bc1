"""tools/cloud's configuration: the templates render, the devstack
plugin's own functions (through tools/cloud/devstack-shim.sh) add the
nova-livemig settings to them, and no password reaches the output."""

import configparser
import os
import pathlib
import stat
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLOUD = ROOT / 'tools' / 'cloud'
SECRETS = {'CLOUD_DB_PASSWORD': 'db-pw-not-for-logs-1',
           'CLOUD_RABBIT_PASSWORD': 'rabbit-pw-not-for-logs-2',
           'CLOUD_ADMIN_PASSWORD': 'admin-pw-not-for-logs-3',
           'CLOUD_SERVICE_PASSWORD': 'svc-pw-not-for-logs-4'}


def _env(tmp_path):
    env = {'PATH': os.environ['PATH'], 'HOME': str(tmp_path),
           'CLOUD_ETC': str(tmp_path / 'etc'),
           'CLOUD_VAR': str(tmp_path / 'var'),
           'CLOUD_LOG': str(tmp_path / 'log'),
           'CLOUD_VENV': str(tmp_path / 'venv'),
           'CLOUD_HOST': '10.77.0.1', 'CLOUD_TOP': str(ROOT),
           'CLOUD_RABBIT_PORT': '16672', 'CLOUD_DB_PORT': '13306',
           'CLOUD_KEYSTONE_PORT': '15000',
           'CLOUD_AUTHTOKEN': 'auth_type = password',
           'CLOUD_NOVA_CLIENTS': '[placement]\nauth_type = password'}
    env.update(SECRETS)
    return env


def _render(env, template, out):
    return subprocess.run([sys.executable, str(CLOUD / 'render.py'),
                           str(CLOUD / 'templates' / template), str(out)],
                          env=env, capture_output=True, text=True)


def _ini(path):
    parser = configparser.RawConfigParser(strict=False)
    parser.read(path)
    return parser


def test_templates_render_root_only(tmp_path):
    env = _env(tmp_path)
    env.update(CLOUD_NODE='node2', CLOUD_NODE_ADDRESS='10.77.0.12')
    for template in sorted(os.listdir(CLOUD / 'templates')):
        out = tmp_path / template
        proc = _render(env, template, out)
        assert proc.returncode == 0, proc.stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert '${' not in out.read_text()
    compute = _ini(tmp_path / 'nova-compute.conf')
    assert compute.get('DEFAULT', 'host') == 'node2'
    assert compute.get('libvirt', 'live_migration_inbound_addr') == \
        '10.77.0.12'
    assert compute.get('libvirt', 'live_migration_permit_post_copy') == 'True'
    assert compute.get('libvirt', 'virt_type') == 'qemu'


def test_render_names_a_missing_value_and_writes_nothing(tmp_path):
    env = _env(tmp_path)
    del env['CLOUD_DB_PASSWORD']
    out = tmp_path / 'nova.conf'
    proc = _render(env, 'nova.conf', out)
    assert proc.returncode != 0
    assert 'CLOUD_DB_PASSWORD' in proc.stderr
    assert not out.exists()
    assert SECRETS['CLOUD_RABBIT_PASSWORD'] not in proc.stderr


def _shim(env, *args):
    return subprocess.run(['bash', '-x', str(CLOUD / 'devstack-shim.sh'),
                           *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_devstack_plugin_configures_the_cloud_controller(tmp_path):
    env = _env(tmp_path)
    (tmp_path / 'etc' / 'nova').mkdir(parents=True)
    nova_conf = tmp_path / 'etc' / 'nova' / 'nova.conf'
    assert _render(env, 'nova.conf', nova_conf).returncode == 0
    proc = _shim(env, 'configure')
    assert proc.returncode == 0, proc.stderr
    # Traced with bash -x, as in a devstack job: no password shows.
    for secret in SECRETS.values():
        assert secret not in proc.stdout + proc.stderr
    nova = _ini(nova_conf)
    assert nova.get('filter_scheduler', 'weight_classes') == (
        'nova.scheduler.weights.all_weighers,'
        'nova_livemig.weigher.MigrationCostWeigher')
    # The template's own settings and comments survive the plugin's edits.
    assert nova.get('conductor', 'workers') == '1'
    assert nova_conf.read_text().startswith('# The controller')
    livemig_conf = tmp_path / 'etc' / 'livemig' / 'nova-livemig.conf'
    livemig = _ini(livemig_conf)
    assert stat.S_IMODE(livemig_conf.stat().st_mode) == 0o600
    assert livemig.get('conductor', 'executor') == 'nova'
    assert livemig.get('conductor', 'publish_path') == \
        nova.get('nova_livemig', 'snapshot_path')
    assert livemig.get('DEFAULT', 'transport_url') == (
        'rabbit://openstack:' + SECRETS['CLOUD_RABBIT_PASSWORD']
        + '@10.77.0.1:16672/')
    assert livemig.get('nova', 'password') == SECRETS['CLOUD_SERVICE_PASSWORD']
    # Run again: the same files (idempotent, the weigher added once).
    before = nova_conf.read_text(), livemig_conf.read_text()
    assert _shim(env, 'configure').returncode == 0
    assert (nova_conf.read_text(), livemig_conf.read_text()) == before


def test_devstack_shim_refuses_an_unknown_phase(tmp_path):
    proc = _shim(_env(tmp_path), 'explode')
    assert proc.returncode == 2
    assert 'usage' in proc.stderr
