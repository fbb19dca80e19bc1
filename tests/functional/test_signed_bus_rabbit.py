"""A forger on the bus: a conductor and two agents with signing keys,
each a process of its own, over a private RabbitMQ; the test process
holds a transport without their keys and casts a report, a result and
``live_migrate`` onto the bus. None takes effect and each is refused in
the log, while the agents' signed reports and the conductor's signed
steps still work."""

import json
import os
import time

from oslo_config import cfg
import pytest

from nova_livemig import conf as conf_mod
from nova_livemig import rpc
from nova_livemig import signing
from nova_livemig.agent import rpcapi as agent_rpcapi
from nova_livemig.cmd import demo
from nova_livemig.conductor import rpcapi as conductor_rpcapi
from tests import fixtures
from tests.functional import test_e2e_rabbit as e2e

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

HOSTS = ('h1', 'h2')
WRONG_KEY = b'f' * 64


class SignedCluster(fixtures.ServiceCluster):
    """A conductor holding the agents' keys, agents h1 and h2 (fake
    driver) each holding its own."""

    def __init__(self, rabbitmq, tmp_path):
        keys = tmp_path / 'keys'
        keys.mkdir()
        for host in HOSTS:
            signing.write_key(str(keys / f'{host}.key'))
        self.state_dir = str(tmp_path / 'hosts')
        snapshot = e2e.cluster_snapshot(vms_on_h1=2)
        snapshot['hosts'] = [h for h in snapshot['hosts']
                             if h['name'] in HOSTS]
        snapshot['vms'] = [v for v in snapshot['vms'] if v['host'] in HOSTS]
        snapshot['network']['links'] = [
            lk for lk in snapshot['network']['links'] if lk['a'] in HOSTS]
        snap = tmp_path / 'cluster.json'
        snap.write_text(json.dumps(snapshot))
        self.publish = str(tmp_path / 'published.json')
        common = {
            'DEFAULT': {'transport_url': rabbitmq.url,
                        'rpc_response_timeout': 10, 'debug': 'false'},
            'fake_driver': {'state_dir': self.state_dir,
                            'snapshot_file': snap, 'time_scale': 0.2,
                            'noise': 0.0},
            'agent': {'driver': 'fake', 'report_interval_s': 0.5,
                      'progress_interval_s': 0.3,
                      'monitor_interval_s': 0.1},
            'conductor': {'host': 'cond', 'executor': 'agent',
                          'report_max_age_s': 5,
                          'publish_path': self.publish,
                          'topology_file': snap, 'job_poll_interval_s': 2,
                          'tick_s': 0.2},
            'database': {'connection':
                         f'sqlite:///{tmp_path}/livemig.sqlite'},
            'message_security': {'agent_keys_dir': keys},
        }
        super().__init__(tmp_path, common, {
            host: {'message_security': {'key_file': keys / f'{host}.key'}}
            for host in HOSTS})

    def published(self):
        try:
            with open(self.publish) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def wait_published(self, check, what, timeout_s=60):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            snap = self.published()
            if snap is not None and check(snap):
                return snap
            time.sleep(0.3)
        raise AssertionError(f'never published: {what}')

    def read_log(self, name):
        try:
            with open(self.log(name)) as f:
                return f.read()
        except OSError:
            return ''


def _up(snap):
    return {h['name'] for h in snap['hosts'] if h['state'] == 'up'}


def _forger_transport(url):
    """A transport of someone on the bus without the agents' keys."""
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], default_config_files=[], default_config_dirs=[])
    conf.set_override('transport_url', url)
    return rpc.get_transport(conf)


@pytest.fixture
def cluster(rabbitmq, tmp_path):
    c = SignedCluster(rabbitmq, tmp_path)
    c.start_all()
    yield c
    c.stop_all()


def test_a_forger_without_keys_moves_nothing(cluster, rabbitmq):
    # the agents' signed reports build the model
    cluster.wait_published(lambda s: set(HOSTS) <= _up(s), 'both hosts up')
    plan = cluster.call('create_plan', 'drain', [], ['h1'], False)
    step = plan['steps'][0]
    before = demo.read_placement(cluster.state_dir)
    assert before['h1'] == ['a0', 'a1']

    transport = _forger_transport(rabbitmq.url)
    try:
        unsigned_cond = conductor_rpcapi.ConductorAPI(transport)
        wrong_cond = conductor_rpcapi.ConductorAPI(
            transport, signer=signing.Signer(lambda h: WRONG_KEY, 'agent',
                                             'h1'))
        ghost = {'host': {'name': 'ghost', 'vcpus': 64,
                          'memory_mib': 262144, 'state': 'up'},
                 'vms': [], 'measured_at': time.time(), 'driver': 'fake',
                 'migration_uri': None}
        unsigned_cond.report_measurements({}, ghost)
        result = {'step_id': step['id'], 'vm': step['vm'],
                  'state': 'completed', 'host': 'nowhere',
                  'stats': {'total_s': 1.0, 'downtime_ms': 1.0, 'bytes': 1,
                            'iterations': 1, 'postcopy': False},
                  'error': None}
        wrong_cond.migration_result({}, result)
        # the agents' API without keys (this conf has none): unsigned
        unsigned_agent = agent_rpcapi.AgentAPI(transport, timeout=10)
        assert unsigned_agent.signer is None
        move = {'plan_id': 'forged', 'step_id': 'forged-0', 'vm': 'a0',
                'source': 'h1', 'destination': 'h2',
                'algorithm': 'precopy', 'max_downtime_ms': 500.0,
                'bandwidth_mib_s': 0.0, 'deadline_s': 60.0,
                'postcopy_after_s': None,
                'predicted': {'algorithm': 'precopy', 'total_s': 1.0,
                              'downtime_ms': 10.0, 'bytes': 1,
                              'converges': True},
                'destination_uri': 'fake://h2'}
        unsigned_agent.live_migrate({}, 'h1', move)

        def refused():
            cond = cluster.read_log('conductor')
            agent = cluster.read_log('h1')
            return ('refusing report_measurements: unsigned' in cond
                    and 'refusing migration_result: bad signature' in cond
                    and 'refusing live_migrate: unsigned' in agent)
        fixtures.wait_until(refused, timeout_s=60, interval_s=0.2,
                            what='the three refusals in the logs')
    finally:
        transport.cleanup()

    # nothing took effect
    assert demo.read_placement(cluster.state_dir) == before
    assert 'step forged-0: migrating' not in cluster.read_log('h1')
    view = cluster.call('show_plan', plan['id'])
    assert {s['state'] for s in view['steps']} == {'pending'}
    assert all(s['host'] in (None, 'h1') for s in view['steps']), view
    # signed reports still come, and the ghost never joined the model
    os.unlink(cluster.publish)
    snap = cluster.wait_published(lambda s: set(HOSTS) <= _up(s),
                                  'both hosts up again')
    assert 'ghost' not in {h['name'] for h in snap['hosts']}
    assert sorted(v['id'] for v in snap['vms']
                  if v['host'] == 'h1') == ['a0', 'a1']
    for name in ('conductor', 'h1'):
        lines = [ln for ln in cluster.read_log(name).splitlines()
                 if 'refusing' in ln]
        assert lines and all(len(ln) < 600 for ln in lines), lines
        assert 'Traceback' not in cluster.read_log(name)

    # and the conductor's signed steps are carried out
    cluster.call('execute_plan', plan['id'])
    deadline = time.monotonic() + 90
    while True:
        view = cluster.call('show_plan', plan['id'])
        if view['state'] in e2e.ENDED:
            break
        assert time.monotonic() < deadline, view['totals']
        time.sleep(0.3)
    assert view['state'] == 'completed', view
    assert demo.read_placement(cluster.state_dir)['h1'] == []
