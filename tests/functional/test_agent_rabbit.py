"""Two agent processes (hosts a and b, fake driver, one shared state
directory) and a test-side conductor endpoint, over a private RabbitMQ."""

import os
import subprocess
import sys
import time

import oslo_messaging
import pytest

from nova_livemig import messages
from nova_livemig import rpc
from nova_livemig.agent import rpcapi
from tests import fixtures
from tests.unit import fakehosts

pytestmark = pytest.mark.rabbitmq


def _agent_conf(tmp_path, host, url, snapshot):
    path = tmp_path / f'{host}.conf'
    path.write_text(
        f'[DEFAULT]\ntransport_url = {url}\n'
        f'log_file = {tmp_path / f"{host}.log"}\ndebug = false\n'
        f'[agent]\nhost = {host}\ndriver = fake\nreport_interval_s = 0.5\n'
        'progress_interval_s = 0.1\nmonitor_interval_s = 0.02\n'
        f'[fake_driver]\nstate_dir = {tmp_path / "state"}\n'
        f'snapshot_file = {snapshot}\ntime_scale = 1.0\nnoise = 0.0\n')
    return path


@pytest.fixture(scope='module')
def bus(rabbitmq, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('agents')
    snapshot = fakehosts.write_snapshot(tmp_path)
    procs = {}
    for host in ('a', 'b'):
        conf_file = _agent_conf(tmp_path, host, rabbitmq.url, snapshot)
        with open(tmp_path / f'{host}.err', 'w') as err:
            procs[host] = subprocess.Popen(
                [sys.executable, '-m', 'nova_livemig.cmd.agent',
                 '--config-file', str(conf_file)],
                cwd=fixtures.ROOT, stdout=subprocess.DEVNULL, stderr=err)
    conf = fakehosts.make_conf(tmp_path)
    conf.set_override('transport_url', rabbitmq.url)
    transport = rpc.get_transport(conf)
    stub = fixtures.ConductorStub()
    server = rpc.get_server(transport, rpc.CONDUCTOR_TOPIC, 'conductor',
                            [stub])
    server.start()
    api = rpcapi.AgentAPI(transport, timeout=5)
    deadline = time.monotonic() + 60
    for host in ('a', 'b'):
        while True:
            try:
                api.measure({}, host)
                break
            except oslo_messaging.MessagingTimeout:
                assert time.monotonic() < deadline, (
                    f'agent {host} did not answer: '
                    + (tmp_path / f'{host}.err').read_text()[-2000:])
    yield {'api': api, 'stub': stub, 'tmp': tmp_path, 'procs': procs}
    fixtures.stop_processes(procs.values(), grace_s=30)
    server.stop()
    server.wait()
    transport.cleanup()


def _vms(bus, host):
    report = messages.HostReport.from_primitive(bus['api'].measure({}, host))
    return sorted(v['id'] for v in report.vms)


def _log(bus, host):
    return (bus['tmp'] / f'{host}.log').read_text()


def test_measure_call_and_periodic_reports(bus):
    report = messages.HostReport.from_primitive(bus['api'].measure({}, 'a'))
    assert report.host['name'] == 'a' and report.migration_uri == 'fake://a'
    for host in ('a', 'b'):
        bus['stub'].wait_for('report_measurements',
                             lambda r, h=host: r.host['name'] == h)


def test_live_migrate_cast_gives_progress_then_result(bus):
    step = fakehosts.step(step_id='rabbit-1', vm='vm3', total_s=1.0)
    bus['api'].live_migrate({}, 'a', step.to_primitive())
    stub = bus['stub']
    progress = stub.wait_for('migration_progress',
                             lambda p: p.step_id == 'rabbit-1')
    assert progress[0].vm == 'vm3'
    result = stub.wait_for('migration_result',
                           lambda r: r.step_id == 'rabbit-1')[0]
    assert (result.state, result.host, result.error) == ('completed', 'b',
                                                         None)
    assert result.stats['total_s'] == pytest.approx(1.0)
    assert len([p for p in stub.got['migration_progress']
                if p.step_id == 'rabbit-1']) >= 3
    # the VM moved between the two agent processes' hosts
    assert 'vm3' in _vms(bus, 'b') and 'vm3' not in _vms(bus, 'a')
    job = bus['api'].get_job({}, 'a', 'rabbit-1')
    assert job['state'] == 'completed' and job['result']['host'] == 'b'


def test_garbled_live_migrate_is_rejected_and_nothing_happens(bus):
    before = _vms(bus, 'a')
    garbled = dict(fakehosts.step(step_id='rabbit-bad', vm='vm4')
                   .to_primitive(), algorithm='teleport')
    bus['api'].live_migrate({}, 'a', garbled)
    deadline = time.monotonic() + 10
    while 'live_migrate rejected' not in _log(bus, 'a'):
        assert time.monotonic() < deadline, _log(bus, 'a')[-2000:]
        time.sleep(0.1)
    assert ("MigrationStep.algorithm: got 'teleport'; allowed: one of "
            'precopy') in _log(bus, 'a')
    time.sleep(1.0)
    stub = bus['stub']
    assert not [r for r in stub.got['migration_result']
                if r.step_id == 'rabbit-bad']
    assert not [p for p in stub.got['migration_progress']
                if p.step_id == 'rabbit-bad']
    assert bus['api'].get_job({}, 'a', 'rabbit-bad')['state'] == 'unknown'
    assert _vms(bus, 'a') == before


def test_agent_log_masks_the_transport_password(bus):
    log = _log(bus, 'a')
    assert 'transport rabbit://guest:***@127.0.0.1:' in log
    assert 'guest:guest' not in log
    assert all(p.poll() is None for p in bus['procs'].values())
    assert os.path.exists(bus['tmp'] / 'state' / 'b.json')
