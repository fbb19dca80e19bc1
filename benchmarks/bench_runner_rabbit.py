"""The RabbitMQ part of :mod:`bench_runner`: the plan runner driving
fake-driver agents over a private RabbitMQ node.

Every agent (``agent.manager.Agent`` with ``drivers.fake``, ``time_scale =
0``: a migration is instant) runs in this process, one RPC server each,
sharing one transport; their host files are on tmpfs. The runner
(:class:`~nova_livemig.conductor.runner.Engine` with the ``agent``
executor) casts each step to its source agent and hears the result back
as a cast, as in a deployment. The baseline, on the same broker in the
same run, is a raw cast round trip (:mod:`bench_dispatch`'s echo).
"""

import json
import pathlib
import shutil
import statistics
import tempfile
import time

from benchmarks import bench_dispatch
from benchmarks import bench_runner
from nova_livemig import rpc
from nova_livemig.agent import manager as agent_mod
from nova_livemig.conductor import livemodel
from nova_livemig.conductor import settings as settings_mod
from nova_livemig.drivers import fake
from nova_livemig.executors import agent as agent_executor
from tests.unit import conductor_fixtures


def _conf(url, state_dir, snapshot, host):
    conf = bench_dispatch.make_conf(url, state_dir, snapshot, host)
    conf.set_override('report_interval_s', 2.0, group='agent')
    conf.set_override('monitor_interval_s', 0.01, group='agent')
    conf.set_override('job_poll_interval_s', 30.0, group='conductor')
    return conf


def _raw_round_trip_ms(transport, count=200):
    waiter = bench_dispatch.Waiter()
    servers = [
        rpc.get_server(transport, bench_dispatch.BACK_TOPIC, 'conductor',
                       [bench_dispatch.Back(waiter)]),
        rpc.get_server(transport, bench_dispatch.ECHO_TOPIC, 'echo',
                       [bench_dispatch.Echo(rpc.get_client(
                           transport, bench_dispatch.BACK_TOPIC, '1.0'))])]
    for server in servers:
        server.start()
    echo = rpc.get_client(transport, bench_dispatch.ECHO_TOPIC, '1.0',
                          server='echo')
    samples = []
    try:
        for i in range(count + 20):
            t0 = time.perf_counter()
            echo.cast({}, 'ping', n=i)
            waiter.wait([f'ping-{i}'])
            if i >= 20:  # warm-up left out
                samples.append(time.perf_counter() - t0)
    finally:
        for server in servers:
            server.stop()
            server.wait()
    return statistics.median(samples) * 1000.0


def run(n_hosts, n_steps, tmp, url=None):
    """Execute the plan over RabbitMQ; returns the figures."""
    rabbit = None
    if url is None:
        from tests.functional import rabbitmq
        why = rabbitmq.installed()
        if why is not None:
            raise SystemExit(f'--rabbit-hosts: {why}')
        rabbit = rabbitmq.RabbitServer(tempfile.mkdtemp(
            prefix='bench-rabbit-')).start()
        url = rabbit.url
    work = pathlib.Path(tempfile.mkdtemp(prefix='rabbit-', dir=tmp))
    try:
        return _run(n_hosts, n_steps, work, url)
    finally:
        if rabbit is not None:
            rabbit.stop()
            shutil.rmtree(rabbit.base_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def _run(n_hosts, n_steps, work, url):
    placement, hosts, step_fields = bench_runner.fleet(n_hosts, n_steps)
    snapshot = work / 'snapshot.json'
    snapshot.write_text(json.dumps({
        'version': 1, 'hosts': hosts,
        'vms': [{'id': v, 'host': h, 'vcpus': 2, 'memory_mib': 4096,
                 'cpu_util': 0.2, 'dirty_rate_mib_s': 10.0}
                for v, h in placement.items()],
        'network': {'switches': ['tor'], 'links': [
            {'a': h['name'], 'b': 'tor', 'gbit_s': 10.0} for h in hosts]}}))
    state_dir = str(work / 'state')
    conf = _conf(url, state_dir, str(snapshot), 'conductor')
    transport = rpc.get_transport(conf)
    out = {'hosts': n_hosts, 'steps': n_steps,
           'raw_round_trip_ms': _raw_round_trip_ms(transport)}
    live = livemodel.LiveModel(120)
    settings = settings_mod.Settings(tick_s=0.05, job_poll_interval_s=30.0,
                                     send_workers=8)
    executor = agent_executor.AgentExecutor(conf, transport)
    db, engine = bench_runner.make_engine(work, executor, live, settings)
    server = rpc.get_server(transport, rpc.CONDUCTOR_TOPIC, 'conductor',
                            [conductor_fixtures.ConductorSide(live, engine)])
    server.start()
    agents = []
    try:
        for host in hosts:
            hconf = _conf(url, state_dir, str(snapshot), host['name'])
            agents.append(agent_mod.Agent(hconf, fake.FakeDriver(hconf),
                                          transport))
            agents[-1].start()
        deadline = time.monotonic() + 120
        while len(live.hosts_up()) < n_hosts:
            if time.monotonic() > deadline:
                raise SystemExit('the agents did not all report')
            time.sleep(0.2)
        plan = db.create_plan('bench', {}, {'moves': []}, step_fields,
                              'planned')
        engine.execute(plan['id'])
        passes, cpu = [], []
        t_start = time.perf_counter()
        while db.plan_state(plan['id']) == 'executing':
            t0, c0 = time.perf_counter(), time.thread_time()
            engine.run_once()
            passes.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            engine._wake.wait(settings.tick_s)
            engine._wake.clear()
            if time.perf_counter() - t_start > 30 * 60:
                raise SystemExit('the plan did not end in 30 minutes')
        wall = time.perf_counter() - t_start
        final = db.get_plan(plan['id'])
        snap = live.snapshot()
        out.update({
            'plan_state': final['state'],
            'vms_moved': sum(1 for f in step_fields
                             if f['vm'] in snap.vms
                             and snap.vms[f['vm']].host
                             == f['destination']),
            'pass': bench_runner.summary_ms(passes),
            'pass_cpu': bench_runner.summary_ms(cpu),
            'wall_ms_per_step': wall * 1000.0 / n_steps,
            'runner_ms_per_step': sum(passes) * 1000.0 / n_steps})
    finally:
        for agent in agents:  # all stop listening at once, then wait
            agent._stopping.set()
            agent._server.stop()
        for agent in agents:
            agent.stop(timeout_s=1.0)
        server.stop()
        server.wait()
        transport.cleanup()
    return out
