"""End to end on real QEMU guests: conductor, three agents with the
``libvirt`` driver, RabbitMQ, the libvirt/QEMU namespace testbed.

Each process is started from its console script with a config file
written here; the agents run in the root namespace, each pointed at one
node's libvirtd (``qemu+tcp``: the testbed's private namespaces only).
``node3`` holds a quiet guest (1 MiB/s) and a busy one (40 MiB/s, more
than its 200 Mbit/s link carries); the conductor plans a drain of
``node3`` from the agents' measurements and executes it over RabbitMQ.
The plan must take pre-copy for the quiet guest and a post-copy (or
auto-converge) algorithm for the busy one; the plan must complete, both
guests must run on their destinations afterwards, once, with clean memory
checks, and the agents must have recorded statistics. The predicted and
measured times and pauses are printed, never asserted: they depend on how
busy the machine is (comparing them is the benchmarks' job,
``benchmarks/calibrate.py`` and ``benchmarks/history_grid.py``).
(``node3`` and not ``node1``: the other testbed tests use ``node1`` and
``node2``, and a drain moves every guest of its host.)
"""

import json
import os
import time

import pytest

from tests import fixtures

pytestmark = [pytest.mark.testbed(nodes=3), pytest.mark.rabbitmq,
              pytest.mark.slow]
testbed = fixtures.load_testbed()

QUIET = f'e2eq-{os.getpid()}'
BUSY = f'e2eb-{os.getpid()}'
DRAINED = 'node3'
ALGORITHMS = 'precopy,autoconverge,postcopy,hybrid'


@pytest.fixture
def guests(state):
    # A quiet guest only reads its memory (its checker scans it): page
    # sampling reads even a 1-2 MiB/s writer anywhere from 0 to 8 MiB/s
    # under load, and the planner rightly takes post-copy when the top of
    # that band would slow pre-copy down by a fifth (seen in CI)
    testbed.start_guest(DRAINED, QUIET, memory_mib=256, dirty_mib_s=0,
                        wws_mib=64, scan_s=2, state=state)
    testbed.start_guest(DRAINED, BUSY, memory_mib=256, dirty_mib_s=40,
                        wws_mib=128, scan_s=2, state=state)
    for name in (QUIET, BUSY):
        st = testbed.wait_for_status(name, min_scans=1, timeout_s=180,
                                     state=state)
        assert st['status'] == 'ok', st
    yield (QUIET, BUSY)
    fixtures.destroy_guests(state, (QUIET, BUSY))


class Cluster(fixtures.ServiceCluster):
    """A conductor and one libvirt agent per testbed node."""

    def __init__(self, rabbitmq, tmp_path, state):
        nodes = state['nodes']
        topo = {'version': 1,
                'hosts': [{'name': n['name'], 'vcpus': 2,
                           'memory_mib': 4096} for n in nodes],
                'vms': [],
                'network': {'switches': ['sw'], 'links': [
                    {'a': n['name'], 'b': 'sw', 'gbit_s': n['gbit_s']}
                    for n in nodes]}}
        topo_file = tmp_path / 'topology.json'
        topo_file.write_text(json.dumps(topo))
        self.publish = tmp_path / 'published.json'
        common = {
            'DEFAULT': {'transport_url': rabbitmq.url,
                        'rpc_response_timeout': 30, 'debug': 'false'},
            'oslo_messaging_rabbit': {'rabbit_retry_interval': 1,
                                      'rabbit_retry_backoff': 1,
                                      'rabbit_interval_max': 2},
            'agent': {'driver': 'libvirt', 'report_interval_s': 5,
                      'progress_interval_s': 1,
                      'monitor_interval_s': 0.5},
            # test network only: plain TCP without TLS, opted in
            'libvirt': {'live_migration_scheme': 'tcp',
                        'live_migration_with_native_tls': 'false',
                        'vm_id': 'name', 'dirty_rate_windows': 3},
            'planner': {'algorithms': ALGORITHMS, 'max_downtime_ms': 500},
            'conductor': {'host': 'cond', 'executor': 'agent',
                          'report_max_age_s': 60,
                          'publish_path': self.publish,
                          'topology_file': topo_file,
                          'job_poll_interval_s': 2, 'tick_s': 0.2,
                          'deadline_factor': 3, 'deadline_margin_s': 30},
            'database': {'connection':
                         f'sqlite:///{tmp_path}/livemig.sqlite'},
        }
        super().__init__(tmp_path, common, {
            n['name']: {'libvirt': {'connection_uri': n['libvirt_uri'],
                                    'migration_inbound_addr': n['address']}}
            for n in nodes})

    def wait_reported(self, vms, timeout_s=120):
        """Wait until the published snapshot shows every host up and
        ``vms`` on node3 with a measured dirty rate."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                snap = json.loads(self.publish.read_text())
                seen = {v['id']: v for v in snap['vms']}
                up = {h['name'] for h in snap['hosts'] if h['state'] == 'up'}
                if up >= set(self.agent_confs) and all(
                        seen.get(vm, {}).get('host') == DRAINED
                        for vm in vms):
                    return {vm: seen[vm] for vm in vms}
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(1.0)
        raise AssertionError(f'{vms} never reported on {DRAINED}')


@pytest.fixture
def cluster(rabbitmq, tmp_path, state, guests):
    c = Cluster(rabbitmq, tmp_path, state)
    c.start_all()
    yield c
    c.stop_all(grace_s=20)


def _running_on(state, name):
    import libvirt
    found = []
    for node in state['nodes']:
        conn = libvirt.open(node['libvirt_uri'])
        try:
            dom = conn.lookupByName(name)
            if dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING:
                found.append(node['name'])
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    return found


def _print_figures(steps, predicted):
    """Predicted against measured, per VM: figures for a person (and the
    test log), not assertions."""
    for step in steps:
        pred, stats = predicted.get(step['vm'], {}), step['stats'] or {}
        for key in ('total_s', 'downtime_ms', 'bytes'):
            want, got = pred.get(key), stats.get(key)
            ratio = (f'{got / want:.2f}x' if want and got is not None
                     else 'n/a')
            print(f'{step["vm"]} {step["algorithm"]} {key}: predicted '
                  f'{want}, measured {got} ({ratio})')


def test_drain_of_a_quiet_and_a_busy_guest(cluster, state):
    reported = cluster.wait_reported([QUIET, BUSY])
    assert reported[BUSY]['dirty_rate_mib_s'] > 15.0, reported
    assert reported[QUIET]['dirty_rate_mib_s'] < 10.0, reported
    view = cluster.call('create_plan', 'drain', [], [DRAINED], False)
    steps = {s['vm']: s for s in view['steps']}
    assert set(steps) >= {QUIET, BUSY}, (view['steps'], view['document'])
    assert steps[QUIET]['algorithm'] == 'precopy', (steps[QUIET],
                                                    reported[QUIET])
    assert steps[BUSY]['algorithm'] in ('postcopy', 'hybrid',
                                        'autoconverge'), steps[BUSY]
    predicted = {m['vm']: m['predicted'] for m in view['document']['moves']}
    cluster.call('execute_plan', view['id'])
    deadline = time.monotonic() + 300
    while True:
        view = cluster.call('show_plan', view['id'])
        if view['state'] in ('completed', 'failed', 'aborted'):
            break
        # a guard against a hung plan, not a timing: the test fails on
        # the plan's outcome below, however long it took
        assert time.monotonic() < deadline, view['totals']
        time.sleep(2.0)
    print(json.dumps({s['vm']: {k: s[k] for k in (
        'algorithm', 'state', 'host', 'elapsed_s', 'predicted_s', 'stats')}
        for s in view['steps']}, indent=1))
    print(json.dumps(predicted, indent=1))
    _print_figures(view['steps'], predicted)
    steps = {s['vm']: s for s in view['steps']
             if s['vm'] in (QUIET, BUSY)}
    for vm, step in steps.items():
        assert step['state'] == 'completed', step
        assert step['host'] != DRAINED, step
        assert _running_on(state, vm) == [step['host']]
        stats = step['stats']
        # outcomes only: how long it took and how long the guest paused
        # depend on how busy the machine is (prediction against
        # measurement is the calibration benchmark's job)
        assert stats['total_s'] > 0 and stats['bytes'] > 0, (vm, stats)
        assert stats['downtime_ms'] is not None, (vm, stats)
    assert steps[QUIET]['stats']['postcopy'] is False
    if steps[BUSY]['algorithm'] in ('postcopy', 'hybrid'):
        assert steps[BUSY]['stats']['postcopy'] is True
    for vm in (QUIET, BUSY):
        before = testbed.guest_status(vm, state)
        after = testbed.wait_for_status(
            vm, after_seq=before['seq'], min_scans=before['scans'] + 2,
            timeout_s=90, state=state)
        assert after['status'] == 'ok', after
