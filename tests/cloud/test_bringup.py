"""The bring-up script: idempotent, and no password in any output or in
a file others can read; the devstack plugin's settings are in the running
cloud's configuration."""

import configparser
import os
import stat
import subprocess

from tests.cloud.conftest import CLOUD_ETC
from tests.cloud.conftest import CLOUD_LOG
from tests.cloud.conftest import ROOT


def _pids():
    run = '/run/nova-livemig-cloud'
    return {name: open(os.path.join(run, name)).read().strip()
            for name in os.listdir(run) if name.endswith('.pid')}


def _secrets():
    values = []
    for line in (CLOUD_ETC / 'secrets.env').read_text().splitlines():
        values.append(line.partition('=')[2])
    assert len(values) == 4 and all(len(v) >= 16 for v in values)
    return values


def test_up_again_changes_nothing_and_prints_no_secret(cloud):
    before = _pids()
    proc = subprocess.run(['bash', '-x', str(ROOT / 'tools/cloud/up.sh')],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Every daemon still runs, the same process: nothing was restarted.
    assert _pids() == before
    # Traced (bash -x), the run still shows no password.
    output = proc.stdout + proc.stderr
    for secret in _secrets():
        assert secret not in output


def test_credentials_are_root_only(cloud):
    for path in [CLOUD_ETC, *CLOUD_ETC.rglob('*')]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f'{path} is {oct(mode)}'


def test_logs_hold_no_secret(cloud):
    secrets = _secrets()
    for path in CLOUD_LOG.rglob('*.log'):
        text = path.read_text(errors='replace')
        for secret in secrets:
            assert secret not in text, f'a password is in {path}'


def _ini(path):
    parser = configparser.RawConfigParser(strict=False)
    parser.read(path)
    return parser


def test_devstack_plugin_configured_the_weigher_and_the_executor(cloud):
    nova = _ini(CLOUD_ETC / 'nova' / 'nova.conf')
    classes = nova.get('filter_scheduler', 'weight_classes').split(',')
    assert classes == ['nova.scheduler.weights.all_weighers',
                       'nova_livemig.weigher.MigrationCostWeigher']
    assert nova.get('nova_livemig', 'snapshot_path') == \
        '/var/lib/nova-livemig-cloud/livemig/snapshot.json'
    livemig = _ini(CLOUD_ETC / 'livemig' / 'nova-livemig.conf')
    assert livemig.get('conductor', 'executor') == 'nova'
    assert livemig.get('conductor', 'publish_path') == \
        nova.get('nova_livemig', 'snapshot_path')
    # The executor's Nova credentials work against this cloud's Keystone.
    assert livemig.get('nova', 'auth_url') == cloud.env['OS_AUTH_URL'][:-3]
    assert livemig.get('nova', 'username') == 'nova'
