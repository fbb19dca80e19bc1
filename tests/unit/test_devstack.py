"""The devstack plugin's phases, run against a stand-in for devstack.

They check the configuration the plugin writes and the services it starts
in each mode; and shellcheck, where it is installed (always in CI).
"""

import configparser
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUB = pathlib.Path(__file__).resolve().parent / 'devstack_stub'
SECRET = 'pw-not-for-logs-4711'


def _stack(tmp_path, mode, phases, nova_conf_text=''):
    dest = tmp_path / 'opt'
    dest.mkdir()
    (dest / 'nova-livemig').symlink_to(ROOT)
    nova_conf = tmp_path / 'nova.conf'
    nova_conf.write_text(nova_conf_text)
    log = tmp_path / 'calls.log'
    log.touch()
    plugin = '"$DEST/nova-livemig/devstack'
    script = [f'source {STUB}/functions', f'source {plugin}/settings"']
    script += [f'source {plugin}/plugin.sh" {p}' for p in phases]
    env = {
        'PATH': os.environ['PATH'], 'HOME': str(tmp_path),
        'DEST': str(dest), 'DATA_DIR': str(tmp_path / 'data'),
        'STUB_DIR': str(STUB), 'STUB_LOG': str(log),
        'NOVA_CONF': str(nova_conf), 'NOVA_BIN_DIR': '/usr/local/bin',
        'STACK_USER': subprocess.check_output(['id', '-un'],
                                              text=True).strip(),
        'ENABLE_DEBUG_LOG_LEVEL': 'True', 'LIVEMIG_MODE': mode,
        'LIVEMIG_CONF_DIR': str(tmp_path / 'etc'),
        'RABBIT_PASSWORD': SECRET, 'ENABLED_SERVICES': 'n-api',
        'SERVICE_PASSWORD': SECRET + '-svc',
        'SERVICE_PROJECT_NAME': 'service',
        'SERVICE_DOMAIN_NAME': 'Default', 'REGION_NAME': 'RegionOne',
        'KEYSTONE_SERVICE_URI': 'http://127.0.0.1/identity',
    }
    proc = subprocess.run(['bash', '-x', '-c', '\n'.join(script)], env=env,
                          capture_output=True, text=True, timeout=60)
    return proc, tmp_path, log.read_text().splitlines()


def _ini(path):
    parser = configparser.RawConfigParser()
    parser.read(path)
    return parser


ALL_PHASES = ['stack install', 'stack post-config', 'stack extra']


def test_allinone_configures_and_starts_both(tmp_path):
    proc, tmp, calls = _stack(
        tmp_path, 'allinone', ALL_PHASES,
        '[filter_scheduler]\n'
        'weight_classes = nova.scheduler.weights.all_weighers\n')
    assert proc.returncode == 0, proc.stderr
    conf = _ini(tmp / 'etc' / 'nova-livemig.conf')
    assert conf.get('DEFAULT', 'transport_url').startswith('rabbit://')
    assert conf.get('agent', 'driver') == 'libvirt'
    assert conf.get('conductor', 'executor') == 'nova'
    assert conf.get('nova', 'auth_type') == 'password'
    assert conf.get('nova', 'password') == SECRET + '-svc'
    nova = _ini(tmp / 'nova.conf')
    assert nova.get('filter_scheduler', 'weight_classes') == (
        'nova.scheduler.weights.all_weighers,'
        'nova_livemig.weigher.MigrationCostWeigher')
    assert nova.get('nova_livemig',
                    'snapshot_path').endswith('snapshot.json')
    started = [c.split()[1] for c in calls if c.startswith('run_process')]
    assert started == ['nl-conductor', 'nl-agent']
    assert any(c.startswith('setup_develop') for c in calls)
    assert any('--db-sync' in c for c in calls)


def test_weigher_added_once(tmp_path):
    text = ('[filter_scheduler]\n'
            'weight_classes = nova.scheduler.weights.all_weighers,'
            'nova_livemig.weigher.MigrationCostWeigher\n')
    proc, tmp, _ = _stack(tmp_path, 'controller', ALL_PHASES, text)
    assert proc.returncode == 0, proc.stderr
    classes = _ini(tmp / 'nova.conf').get('filter_scheduler',
                                          'weight_classes')
    assert classes.count('MigrationCostWeigher') == 1


def test_compute_runs_agent_only_and_leaves_nova_alone(tmp_path):
    proc, tmp, calls = _stack(tmp_path, 'compute', ALL_PHASES)
    assert proc.returncode == 0, proc.stderr
    started = [c.split()[1] for c in calls if c.startswith('run_process')]
    assert started == ['nl-agent']
    assert not any('--db-sync' in c for c in calls)
    assert (tmp / 'nova.conf').read_text() == ''


def test_unstack_stops_services(tmp_path):
    proc, _, calls = _stack(tmp_path, 'allinone', ['unstack'])
    assert proc.returncode == 0, proc.stderr
    assert [c for c in calls if c.startswith('stop_process')] == [
        'stop_process nl-conductor', 'stop_process nl-agent']


def test_bad_mode_is_refused(tmp_path):
    proc, _, _ = _stack(tmp_path, 'everything', [])
    assert proc.returncode != 0
    assert ('LIVEMIG_MODE must be allinone, controller or compute'
            in proc.stderr)


def test_credentials_never_reach_the_log(tmp_path):
    # Run traced (bash -x), as devstack does: the rabbit password must not
    # appear in what the job log would show.
    proc, tmp, _ = _stack(tmp_path, 'allinone', ALL_PHASES)
    assert proc.returncode == 0, proc.stderr
    conf_text = (tmp / 'etc' / 'nova-livemig.conf').read_text()
    assert SECRET in conf_text  # written where it belongs...
    assert SECRET not in proc.stdout + proc.stderr  # ...and nowhere else


def test_shellcheck():
    if shutil.which('shellcheck') is None:
        if os.environ.get('CI') == 'true':
            pytest.fail('shellcheck is not installed (CI installs it)')
        pytest.skip('shellcheck is not installed')
    files = [ROOT / 'devstack' / 'plugin.sh', ROOT / 'devstack' / 'settings',
             ROOT / 'devstack' / 'lib' / 'livemig']
    proc = subprocess.run(['shellcheck', '-s', 'bash', '-x',
                           '-e', 'SC2034,SC1090,SC1091']
                          + [str(f) for f in files],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout
