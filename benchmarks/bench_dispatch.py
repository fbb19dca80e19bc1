"""Control-plane overhead of dispatching migrations.

Dispatches N instant migrations (fake driver, ``time_scale = 0``) from a
minimal conductor loop to an agent and back: ``live_migrate`` cast ->
agent validates, starts a monitor thread, the driver moves the VM between
two state files -> ``migration_result`` cast -> the conductor side
validates the Result. The baseline, measured in the same run over the
same transport, is a raw oslo.messaging cast round trip (cast to an echo
endpoint that casts straight back). Both are measured one at a time
(latency; raw and dispatch alternate so both see the same machine load)
and with ten in flight (throughput: ten VMs, one step each per wave).

Transport: ``--transport-url`` if given; else a private RabbitMQ node
(tests/functional/rabbitmq.py) when rabbitmq-server is installed; else
``fake://`` (in-process).

    .venv/bin/python benchmarks/bench_dispatch.py [--count 1000]
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oslo_config import cfg  # noqa: E402

from nova_livemig import conf as conf_mod  # noqa: E402
from nova_livemig import messages  # noqa: E402
from nova_livemig import rpc  # noqa: E402
from nova_livemig.agent import manager as agent_mod  # noqa: E402
from nova_livemig.agent import rpcapi  # noqa: E402
from nova_livemig.drivers import fake  # noqa: E402

VMS = 10
ECHO_TOPIC = 'bench-echo'
BACK_TOPIC = 'bench-back'


class Waiter:
    """Endpoint of the conductor side: wakes whoever waits for a key."""

    def __init__(self):
        self.cond = threading.Condition()
        self.seen = {}

    def arrived(self, key, value):
        with self.cond:
            self.seen[key] = value
            self.cond.notify_all()

    def wait(self, keys, timeout_s=60.0):
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while not all(k in self.seen for k in keys):
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = [k for k in keys if k not in self.seen]
                    raise TimeoutError(f'{len(missing)} replies missing, '
                                       f'first {missing[0]}')
                self.cond.wait(left)
            return [self.seen.pop(k) for k in keys]


class ConductorSide:
    """The conductor endpoint methods the agent casts to."""

    def __init__(self, waiter):
        self.waiter = waiter

    def migration_result(self, ctxt, result):
        result = messages.Result.from_primitive(result)
        self.waiter.arrived(result.step_id, result)

    def migration_progress(self, ctxt, progress):
        pass

    def report_measurements(self, ctxt, report):
        pass


class Echo:
    """The baseline: casts straight back."""

    def __init__(self, back):
        self.back = back

    def ping(self, ctxt, n):
        self.back.prepare().cast(ctxt, 'pong', n=n)


class Back:
    def __init__(self, waiter):
        self.waiter = waiter

    def pong(self, ctxt, n):
        self.waiter.arrived(f'ping-{n}', n)


def make_conf(url, state_dir, snapshot, host):
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], project='nova-livemig-bench', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('transport_url', url)
    conf.set_override('host', host, group='agent')
    conf.set_override('report_interval_s', 3600.0, group='agent')
    conf.set_override('monitor_interval_s', 0.001, group='agent')
    conf.set_override('job_history', 100000, group='agent')
    conf.set_override('state_dir', state_dir, group='fake_driver')
    conf.set_override('snapshot_file', snapshot, group='fake_driver')
    conf.set_override('time_scale', 0.0, group='fake_driver')
    return conf


def write_snapshot(path):
    data = {'version': 1,
            'hosts': [{'name': n, 'vcpus': 64, 'memory_mib': 262144}
                      for n in ('a', 'b')],
            'vms': [{'id': f'vm{i}', 'host': 'a', 'vcpus': 1,
                     'memory_mib': 512, 'cpu_util': 0.1,
                     'dirty_rate_mib_s': 1.0} for i in range(VMS)],
            'network': {'switches': ['tor'], 'links': [
                {'a': 'a', 'b': 'tor', 'gbit_s': 10.0},
                {'a': 'b', 'b': 'tor', 'gbit_s': 10.0}]}}
    path.write_text(json.dumps(data))


def step(i, where):
    vm = f'vm{i % VMS}'
    source = where[vm]
    destination = 'b' if source == 'a' else 'a'
    where[vm] = destination
    return source, messages.MigrationStep(
        plan_id='bench', step_id=f'bench-{i}', vm=vm, source=source,
        destination=destination, algorithm='precopy', max_downtime_ms=500.0,
        bandwidth_mib_s=0.0, deadline_s=60.0, postcopy_after_s=None,
        predicted={'algorithm': 'precopy', 'total_s': 1.0,
                   'downtime_ms': 10.0, 'bytes': 536870912,
                   'converges': True, 'iterations': 1},
        destination_uri=None).to_primitive()


def summary(samples_s):
    ms = sorted(s * 1000.0 for s in samples_s)
    return {'mean_ms': statistics.fmean(ms), 'p50_ms': ms[len(ms) // 2],
            'p95_ms': ms[int(len(ms) * 0.95) - 1], 'max_ms': ms[-1]}


def run(url, count):
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='bench-dispatch-'))
    snapshot = tmp / 'snapshot.json'
    write_snapshot(snapshot)
    # the fake hosts' state files on tmpfs when there is one: on ext4 the
    # atomic rename of a replaced file flushes it (auto_da_alloc), a disk
    # cost of the simulation, not of the control plane
    shm = pathlib.Path('/dev/shm')
    state_dir = (tempfile.mkdtemp(prefix='bench-state-', dir=shm)
                 if shm.is_dir() and os.access(shm, os.W_OK)
                 else str(tmp / 'state'))
    out = {'state_dir': state_dir}
    conf = make_conf(url, state_dir, str(snapshot), 'a')
    transport = rpc.get_transport(conf)
    waiter = Waiter()
    servers = [
        rpc.get_server(transport, rpc.CONDUCTOR_TOPIC, 'conductor',
                       [ConductorSide(waiter)]),
        rpc.get_server(transport, BACK_TOPIC, 'conductor', [Back(waiter)]),
        rpc.get_server(transport, ECHO_TOPIC, 'a', [Echo(rpc.get_client(
            transport, BACK_TOPIC, '1.0'))]),
    ]
    for server in servers:
        server.start()
    agents = []
    for host in ('a', 'b'):
        hconf = make_conf(url, state_dir, str(snapshot), host)
        agents.append(agent_mod.Agent(hconf, fake.FakeDriver(hconf),
                                      transport))
        agents[-1].start()
    api = rpcapi.AgentAPI(transport, timeout=30)
    echo = rpc.get_client(transport, ECHO_TOPIC, '1.0', server='a')
    for host in ('a', 'b'):
        api.measure({}, host)  # both agents are listening
    where = {f'vm{i}': 'a' for i in range(VMS)}
    try:
        # warm-up, not measured
        for i in range(20):
            echo.cast({}, 'ping', n=-1 - i)
            waiter.wait([f'ping-{-1 - i}'])
        for i in range(20):
            source, s = step(10 ** 6 + i, where)
            api.live_migrate({}, source, s)
            waiter.wait([s['step_id']])

        def timed(key_of):
            t0 = time.perf_counter()
            waiter.wait([key_of()])
            return time.perf_counter() - t0

        def latency():
            # raw and dispatch alternate, so both see the same load
            raw, disp = [], []
            for i in range(count):
                raw.append(timed(lambda i=i: ping(i, 0)))
                disp.append(timed(lambda i=i: migrate(i, 0)))
            diff = sorted((d - r) * 1000.0 for r, d in zip(raw, disp))
            return summary(raw), summary(disp), diff[len(diff) // 2]

        def throughput(send):
            # VMS in flight at a time: one step per VM per wave
            t0 = time.perf_counter()
            for first in range(0, count, VMS):
                keys = [send(i) for i in range(first, min(first + VMS,
                                                           count))]
                waiter.wait(keys, timeout_s=120)
            return (time.perf_counter() - t0) * 1000.0 / count

        def ping(i, base):
            echo.cast({}, 'ping', n=base + i)
            return f'ping-{base + i}'

        def migrate(i, base):
            source, s = step(base + i, where)
            api.live_migrate({}, source, s)
            return s['step_id']

        (out['raw_latency'], out['dispatch_latency'],
         out['paired_overhead_p50_ms']) = latency()
        out['raw_throughput_ms'] = throughput(lambda i: ping(i, count))
        out['dispatch_throughput_ms'] = throughput(
            lambda i: migrate(i, count))
        results = [a.get_job(f'bench-{i}')['state'] for a in agents
                   for i in range(2 * count)]
        out['completed'] = results.count('completed')
    finally:
        for agent in agents:
            agent.stop()
        for server in servers:
            server.stop()
            server.wait()
        transport.cleanup()
        shutil.rmtree(state_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=1000)
    parser.add_argument('--transport-url', default=None)
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    if args.count < 20:
        parser.error(f'--count: got {args.count}; allowed: 20 or more')
    rabbit = None
    url = args.transport_url
    if url is None:
        from tests.functional import rabbitmq
        if rabbitmq.installed() is None:
            rabbit = rabbitmq.RabbitServer(tempfile.mkdtemp(
                prefix='bench-rabbit-')).start()
            url = rabbit.url
        else:
            url = 'fake://'
    try:
        out = run(url, args.count)
    finally:
        if rabbit is not None:
            rabbit.stop()
            shutil.rmtree(rabbit.base_dir, ignore_errors=True)
    out['transport'] = rpc.masked_url(url)
    out['count'] = args.count
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    raw, disp = out['raw_latency'], out['dispatch_latency']
    print(f'transport {out["transport"]}, {args.count} migrations '
          f'({out["completed"]} completed), fake state in '
          f'{out["state_dir"]}')
    print('one at a time (ms)       mean     p50     p95     max')
    for name, s in (('raw cast round trip', raw),
                    ('migration dispatch', disp)):
        print(f'  {name:<20} {s["mean_ms"]:7.2f} {s["p50_ms"]:7.2f} '
              f'{s["p95_ms"]:7.2f} {s["max_ms"]:7.2f}')
    print(f'control-plane overhead per migration: {disp["p50_ms"]:.2f} ms '
          f'end to end (p50), {out["paired_overhead_p50_ms"]:.2f} ms above '
          'the raw round trip (p50 of paired differences; goal < 10 ms)')
    print(f'{VMS} in flight: {out["dispatch_throughput_ms"]:.2f} ms per '
          f'migration, raw {out["raw_throughput_ms"]:.2f} ms per round trip')
    return 0


if __name__ == '__main__':
    sys.exit(main())
