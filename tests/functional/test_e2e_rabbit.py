"""End to end over a real RabbitMQ: a conductor and four agents (fake
driver, one shared state_dir), each a separate process started from its
console script with a config file written here.

Every scenario ends with the same consistency check, read from the fake
hosts' state files (the truth) and the conductor's plan:

* every VM is on exactly one host, and no VM appeared or vanished;
* every step has ended, and says where its VM is: a completed step's VM
  went to its destination, a failed, aborted or skipped one left it where
  the next attempt starts (or, for the last, where it is now);
* no step was started twice (the agents' logs name each start).
"""

import collections
import json
import os
import re
import subprocess
import time

import pytest

from nova_livemig.cmd import demo
from tests import fixtures

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

HOSTS = ('h1', 'h2', 'h3', 'h4')
ENDED = ('completed', 'failed', 'aborted')


def cluster_snapshot(vms_on_h1=8):
    hosts = [{'name': h, 'vcpus': 32, 'memory_mib': 65536, 'cpu_util': 0.1,
              'power_idle_w': 100.0, 'power_max_w': 300.0} for h in HOSTS]
    vms = [{'id': f'a{i}', 'host': 'h1', 'vcpus': 2, 'memory_mib': 2048,
            'cpu_util': 0.2, 'dirty_rate_mib_s': 5.0}
           for i in range(vms_on_h1)]
    vms += [{'id': 'b1', 'host': 'h2', 'vcpus': 2, 'memory_mib': 2048,
             'cpu_util': 0.2, 'dirty_rate_mib_s': 5.0},
            {'id': 'c1', 'host': 'h3', 'vcpus': 2, 'memory_mib': 2048,
             'cpu_util': 0.2, 'dirty_rate_mib_s': 5.0}]
    links = [{'a': h, 'b': 'tor', 'gbit_s': 10.0} for h in HOSTS]
    return {'version': 1, 'hosts': hosts, 'vms': vms,
            'network': {'switches': ['tor'], 'links': links}}


class Cluster(fixtures.ServiceCluster):
    """The processes of one scenario, and what to check at the end."""

    def __init__(self, rabbitmq, tmp_path, time_scale=0.5, vms_on_h1=8):
        self.state_dir = str(tmp_path / 'hosts')
        self.snapshot = cluster_snapshot(vms_on_h1)
        snap = tmp_path / 'cluster.json'
        snap.write_text(json.dumps(self.snapshot))
        self.publish = str(tmp_path / 'published.json')
        common = {
            'DEFAULT': {'transport_url': rabbitmq.url,
                        'rpc_response_timeout': 10, 'debug': 'false'},
            'oslo_messaging_rabbit': {'rabbit_retry_interval': 1,
                                      'rabbit_retry_backoff': 1,
                                      'rabbit_interval_max': 2,
                                      'kombu_reconnect_delay': 0.5},
            'fake_driver': {'state_dir': self.state_dir,
                            'snapshot_file': snap,
                            'time_scale': time_scale, 'noise': 0.1},
            'agent': {'driver': 'fake', 'report_interval_s': 0.5,
                      'progress_interval_s': 0.3,
                      'monitor_interval_s': 0.1},
            'conductor': {'host': 'cond', 'executor': 'agent',
                          'report_max_age_s': 3,
                          'publish_path': self.publish,
                          'topology_file': snap, 'job_poll_interval_s': 2,
                          'tick_s': 0.2, 'deadline_factor': 3,
                          'deadline_margin_s': 5},
            'database': {'connection':
                         f'sqlite:///{tmp_path}/livemig.sqlite'},
        }
        super().__init__(tmp_path, common, {host: {} for host in HOSTS})

    def start_all(self):
        super().start_all()
        self.wait_published(set(HOSTS))

    def wait_published(self, hosts, timeout_s=60):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with open(self.publish) as f:
                    snap = json.load(f)
                up = {h['name'] for h in snap['hosts']
                      if h['state'] == 'up'}
                if hosts <= up:
                    return snap
            except (OSError, ValueError):
                pass
            time.sleep(0.3)
        raise AssertionError(f'hosts {hosts} never all reported')

    def wait_plan(self, plan_id, predicate, timeout_s=90):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            view = self.call('show_plan', plan_id)
            if predicate(view):
                return view
            time.sleep(0.3)
        raise AssertionError(f'plan {plan_id} stuck: {view["state"]} '
                             f'{view["totals"]}')

    def placement(self):
        return demo.read_placement(self.state_dir)

    def check_consistent(self, view):
        placement = self.placement()
        where = collections.Counter(
            vm for vms in placement.values() for vm in vms)
        assert sorted(where) == sorted(v['id']
                                       for v in self.snapshot['vms'])
        assert set(where.values()) == {1}, where
        host_of = {vm: h for h, vms in placement.items() for vm in vms}
        assert view['state'] in ENDED
        by_vm = collections.defaultdict(list)
        for s in view['steps']:
            assert s['state'] in ('completed', 'failed', 'aborted',
                                  'skipped'), s
            by_vm[s['vm']].append(s)
        for vm, steps in by_vm.items():
            steps.sort(key=lambda s: s['seq'])
            for prev, nxt in zip(steps, steps[1:]):
                assert prev['host'] == nxt['source'], (prev, nxt)
            last = steps[-1]
            assert last['host'] == host_of[vm], (last, host_of[vm])
            if last['state'] == 'completed':
                assert last['host'] == last['destination']
        starts = collections.Counter()
        for name in HOSTS:
            try:
                with open(self.log(name)) as f:
                    starts.update(re.findall(r'step (\S+): migrating',
                                             f.read()))
            except OSError:
                pass
        assert starts and max(starts.values()) == 1, starts
        started = {s['id'] for s in view['steps'] if s['started_at']}
        assert set(starts) <= started
        return host_of


@pytest.fixture
def cluster(rabbitmq, tmp_path):
    c = Cluster(rabbitmq, tmp_path)
    c.start_all()
    yield c
    c.stop_all()


@pytest.fixture
def api_url(cluster):
    """The API (no Keystone) in front of the cluster's conductor: the
    command reaches the conductor through it, without bus credentials."""
    from nova_livemig.cmd import api as api_cmd
    conf = api_cmd.build_conf(['--config-file', str(cluster.conductor_conf)])
    conf.set_override('auth_strategy', 'noauth', 'api')
    server = api_cmd.serve(api_cmd.make_application(conf), '127.0.0.1', 0)
    yield f'http://127.0.0.1:{server.server_port}'
    server.shutdown()
    server.server_close()


def _cli(url, *args):
    return subprocess.run(
        [os.path.join(fixtures.BIN, 'nova-livemig'), *args, '--api-url', url,
         '--os-token', 'admin'], capture_output=True, text=True,
        timeout=180, check=False)


def test_drain_through_the_cli(cluster, api_url):
    made = _cli(api_url, 'plan', 'create', '--policy', 'drain', '--host',
                'h1', '--json')
    assert made.returncode == 0, made.stderr
    plan_id = json.loads(made.stdout)['id']
    run = _cli(api_url, 'plan', 'execute', plan_id, '--interval', '0.3')
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'steps done' in run.stdout and 'GiB left' in run.stdout
    assert '\x1b[' not in run.stdout  # plain text in a log
    view = cluster.call('show_plan', plan_id)
    host_of = cluster.check_consistent(view)
    assert view['state'] == 'completed'
    assert cluster.placement()['h1'] == []
    assert {host_of[f'a{i}'] for i in range(8)} <= {'h2', 'h3', 'h4'}


def test_consolidation(cluster):
    view = cluster.call('create_plan', 'consolidate', [], [], False)
    assert view['steps'], view['document']
    cluster.call('execute_plan', view['id'])
    view = cluster.wait_plan(view['id'], lambda v: v['state'] in ENDED)
    cluster.check_consistent(view)
    assert view['state'] == 'completed'
    used = [h for h, vms in cluster.placement().items() if vms]
    assert len(used) < 3  # 3 hosts held VMs before


@pytest.fixture
def slow_cluster(rabbitmq, tmp_path):
    """Migrations of about 3 s: a dead agent is seen gone (3 s without a
    report) while the plan still has steps to start."""
    c = Cluster(rabbitmq, tmp_path, time_scale=1.5)
    c.start_all()
    yield c
    c.stop_all()


def test_agent_killed_mid_plan(slow_cluster):
    cluster = slow_cluster
    view = cluster.call('create_plan', 'drain', [], ['h1'], False)
    cluster.call('execute_plan', view['id'])
    view = cluster.wait_plan(view['id'], lambda v: v['totals']['done'] >= 1)
    pending = [s for s in view['steps'] if s['state'] == 'pending']
    assert pending, 'the plan ended before the agent could be killed'
    victim = max(pending, key=lambda s: s['planned_start_s'])['destination']
    killed_at = time.time()
    cluster.kill(victim)
    view = cluster.wait_plan(view['id'], lambda v: v['state'] in ENDED,
                             timeout_s=120)
    cluster.check_consistent(view)
    # once seen gone (no report for report_max_age_s), nothing more went
    # to the dead host: its pending steps were re-planned elsewhere
    seen_gone = killed_at + 3 + 1.5
    late = [s for s in view['steps'] if s['destination'] == victim
            and (s['started_at'] or 0) > seen_gone]
    assert late == []
    replanned = [s for s in view['steps'] if s['destination'] == victim
                 and s['state'] == 'skipped']
    assert replanned and all(
        any(t['replaces'] == s['id'] and t['destination'] != victim
            for t in view['steps']) for s in replanned)
    assert view['state'] == 'completed'
    assert cluster.placement()['h1'] == []


def test_conductor_restarted_mid_plan(cluster):
    view = cluster.call('create_plan', 'drain', [], ['h1'], False)
    cluster.call('execute_plan', view['id'])
    cluster.wait_plan(view['id'], lambda v: v['totals']['counts'].get(
        'running', 0) >= 1)
    cluster.kill('conductor')  # SIGKILL: no clean stop
    time.sleep(1.0)
    cluster.start('conductor')
    view = cluster.wait_plan(view['id'], lambda v: v['state'] in ENDED,
                             timeout_s=120)
    cluster.check_consistent(view)
    assert view['state'] == 'completed'
    assert cluster.placement()['h1'] == []
    with open(cluster.log('conductor')) as f:
        assert f'resuming plan {view["id"]}' in f.read()


def test_rabbitmq_restarted_mid_plan(cluster, rabbitmq):
    view = cluster.call('create_plan', 'drain', [], ['h1'], False)
    cluster.call('execute_plan', view['id'])
    cluster.wait_plan(view['id'], lambda v: v['totals']['counts'].get(
        'running', 0) >= 1)
    rabbitmq.restart(down_s=2.0)
    view = cluster.wait_plan(view['id'], lambda v: v['state'] in ENDED,
                             timeout_s=180)
    cluster.check_consistent(view)
    assert cluster.placement()['h1'] == []
