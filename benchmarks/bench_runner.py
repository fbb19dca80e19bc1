"""The plan runner at fleet size: time per pass and per step dispatched.

Executes one plan of ``--steps`` steps (5 VMs per host move to the host
half the fleet away, two at a time per host, as a drain schedule does)
over ``--hosts`` simulated hosts with the real :class:`Engine`: the
SQLite database, the live model fed by host reports (a tenth of the hosts
report between two passes), the board and every rule of a pass. Two
parts:

* **in process** (full size): the executor records each step it starts
  and the benchmark delivers the step's completed result before the next
  pass, as agents do. Prints the runner's time per pass (median, p99,
  max), its time per step dispatched, and the baseline measured in the
  same run on the same input: the old ``dispatch.decide`` (which reads
  every step on every pass) against the board's decision, both on the
  plan with every step pending.
* **over RabbitMQ** (``--rabbit-hosts``, smaller: two shared cores do not
  hold a thousand agents): the ``agent`` executor casts each step to
  fake-driver agents (``time_scale = 0``, all in this process) on a
  private RabbitMQ node (tests/functional/rabbitmq.py), whose results come
  back as casts. Prints the same figures and the raw cast round trip on
  the same broker as its baseline.

    .venv/bin/python benchmarks/bench_runner.py [--hosts 1000 --steps 5000]
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nova_livemig import algorithms as algorithms_mod  # noqa: E402
from nova_livemig import messages  # noqa: E402
from nova_livemig import plan as plan_mod  # noqa: E402
from nova_livemig.conductor import board as board_mod  # noqa: E402
from nova_livemig.conductor import dispatch  # noqa: E402
from nova_livemig.conductor import livemodel  # noqa: E402
from nova_livemig.conductor import runner  # noqa: E402
from nova_livemig.conductor import settings as settings_mod  # noqa: E402
from nova_livemig.db import api as db_api  # noqa: E402
from nova_livemig.executors import NoopExecutor  # noqa: E402

VMS_PER_HOST = 5
PREDICTED = {'algorithm': 'precopy', 'total_s': 5.0, 'downtime_ms': 50.0,
             'bytes': 1, 'converges': True}
STATS = {'total_s': 0.1, 'downtime_ms': 1.0, 'bytes': 1, 'iterations': 1,
         'postcopy': False}


def host_name(i):
    return f'h{i:04d}'


def fleet(n_hosts, n_steps):
    """``(placement, host entries, step fields)`` of the benchmark plan."""
    n_vms = n_hosts * VMS_PER_HOST
    if n_steps > n_vms:
        raise SystemExit(f'--steps: got {n_steps}; allowed: at most '
                         f'{n_vms} (5 VMs per host)')
    placement = {f'vm{i:05d}': host_name(i // VMS_PER_HOST)
                 for i in range(n_vms)}
    hosts = [{'name': host_name(i), 'vcpus': 64, 'memory_mib': 262144}
             for i in range(n_hosts)]
    steps = []
    for i in range(n_steps):
        h, k = divmod(i, VMS_PER_HOST)
        src, dst = host_name(h), host_name((h + n_hosts // 2) % n_hosts)
        start = (k // 2) * 10.0  # two at a time per host, as scheduled
        steps.append({'vm': f'vm{i:05d}', 'source': src, 'destination': dst,
                      'algorithm': 'precopy', 'predicted': PREDICTED,
                      'path': [[src, livemodel.SWITCH],
                               [livemodel.SWITCH, dst]],
                      'planned_start_s': start, 'planned_end_s': start + 9.0,
                      'before': None})
    return placement, hosts, steps


def report(live, host, placement, on):
    live.update({'host': dict(host, state='up'), 'driver': 'fake',
                 'vms': [{'id': v, 'host': host['name'], 'vcpus': 2,
                          'memory_mib': 4096, 'cpu_util': 0.2,
                          'dirty_rate_mib_s': 10.0} for v in on],
                 'measured_at': time.time(), 'migration_uri': None})


def summary_ms(samples_s):
    ms = sorted(s * 1000.0 for s in samples_s)
    return {'passes': len(ms), 'median_ms': statistics.median(ms),
            'p99_ms': ms[min(len(ms) - 1, int(len(ms) * 0.99))],
            'max_ms': ms[-1], 'total_ms': sum(ms)}


class RecordingExecutor(NoopExecutor):
    """Records the steps started (``started``); the benchmark plays their
    agents, and the runner never asks (``job_poll_interval_s`` is long)."""


def make_engine(tmp, executor, live, settings):
    db = db_api.Database(f'sqlite:///{tmp}/bench.sqlite')
    db.sync()
    options = plan_mod.PlanningOptions(algorithms=('precopy',))
    algorithms = algorithms_mod.load_algorithms(options.algorithms)
    return db, runner.Engine(db, live, executor, settings, options,
                             algorithms)


def baseline(db, plan_id, live, settings, repeat):
    """The old decide and the board on the same input: every step of the
    plan pending. Returns seconds per call of each."""
    steps = db.steps(plan_id)
    snap = live.snapshot()
    placement = live.placement()
    t0 = time.perf_counter()
    for _ in range(repeat):
        old = dispatch.decide(steps, snap, settings)
    t_old = (time.perf_counter() - t0) / repeat
    board = board_mod.Board(steps)
    t0 = time.perf_counter()
    for _ in range(repeat):
        new = board.decide(placement, settings)
    t_new = (time.perf_counter() - t0) / repeat
    same = ([(a, s['id'], h) for a, s, h in old]
            == [(a, s['id'], h) for a, s, h in new])
    return t_old, t_new, same, len(new)


def in_process(n_hosts, n_steps, tmp, baseline_repeat, step_passes):
    placement, hosts, step_fields = fleet(n_hosts, n_steps)
    live = livemodel.LiveModel(120)
    by_host = {}
    for vm, h in placement.items():
        by_host.setdefault(h, []).append(vm)
    for host in hosts:
        report(live, host, placement, by_host.get(host['name'], []))
    settings = settings_mod.Settings(tick_s=0.5, job_poll_interval_s=3600)
    executor = RecordingExecutor()
    db, engine = make_engine(tmp, executor, live, settings)
    plan = db.create_plan('bench', {}, {'moves': []}, step_fields,
                          'planned')
    out = {}
    (out['old_decide_s'], out['board_decide_s'], out['same_decisions'],
     out['first_wave']) = baseline(db, plan['id'], live, settings,
                                   baseline_repeat)
    engine.execute(plan['id'])
    passes, cpu, results_s = [], [], []
    done = 0
    turn = 0
    running = []  # (pass it completes at, step message)
    while db.plan_state(plan['id']) == 'executing':
        t0, c0 = time.perf_counter(), time.thread_time()
        engine.run_once()
        passes.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        running += [(len(passes) + step_passes, m) for m in executor.started]
        executor.started = []
        started = [m for at, m in running if at <= len(passes)]
        running = [(at, m) for at, m in running if at > len(passes)]
        t0 = time.perf_counter()
        for msg in started:  # the agents: every step completes
            placement[msg['vm']] = msg['destination']
            engine.on_result(messages.Result(
                step_id=msg['step_id'], vm=msg['vm'], state='completed',
                host=msg['destination'], stats=STATS, error=None))
        results_s.append(time.perf_counter() - t0)
        done += len(started)
        # a tenth of the hosts report between two passes
        by_host = {}
        for vm, h in placement.items():
            by_host.setdefault(h, []).append(vm)
        for host in hosts[turn::10]:
            report(live, host, placement, by_host.get(host['name'], []))
        turn = (turn + 1) % 10
        if len(passes) > 20 * n_steps:
            raise SystemExit('the plan did not end')
    out['plan_state'] = db.plan_state(plan['id'])
    out['steps_started'] = done
    out['pass'] = summary_ms(passes)
    out['pass_cpu'] = summary_ms(cpu)
    out['load_average'] = os.getloadavg()[0]
    out['runner_ms_per_step'] = sum(passes) * 1000.0 / max(done, 1)
    out['results_ms_per_step'] = sum(results_s) * 1000.0 / max(done, 1)
    out['vms_moved'] = sum(1 for f in step_fields
                           if placement[f['vm']] == f['destination'])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--steps', type=int, default=5000)
    parser.add_argument('--baseline-repeat', type=int, default=1)
    parser.add_argument('--step-passes', type=int, default=10,
                        help='passes a step runs before its result comes '
                             '(10: 5 s at the default tick)')
    parser.add_argument('--rabbit-hosts', type=int, default=0,
                        help='hosts of the RabbitMQ part (0: skip it)')
    parser.add_argument('--rabbit-steps', type=int, default=0)
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    for name in ('hosts', 'steps'):
        if getattr(args, name) < 2:
            parser.error(f'--{name}: got {getattr(args, name)}; allowed: '
                         '2 or more')
    shm = pathlib.Path('/dev/shm')
    tmp = pathlib.Path(tempfile.mkdtemp(
        prefix='bench-runner-', dir=shm if shm.is_dir()
        and os.access(shm, os.W_OK) else None))
    try:
        out = {'in_process': in_process(args.hosts, args.steps, tmp,
                                        args.baseline_repeat,
                                        args.step_passes)}
        if args.rabbit_hosts:
            from benchmarks import bench_runner_rabbit
            out['rabbit'] = bench_runner_rabbit.run(
                args.rabbit_hosts, args.rabbit_steps or
                args.rabbit_hosts * VMS_PER_HOST, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print_report(args, out)
    return 0


def print_report(args, out):
    r = out['in_process']
    p = r['pass']
    print(f'in process: {args.steps} steps over {args.hosts} hosts, plan '
          f'{r["plan_state"]}, {r["vms_moved"]} VMs moved, '
          f'{r["steps_started"]} steps started')
    print(f'  runner pass (ms): median {p["median_ms"]:.1f}, p99 '
          f'{p["p99_ms"]:.1f}, max {p["max_ms"]:.1f} over {p["passes"]} '
          f'passes (goal: < 50)')
    c = r['pass_cpu']
    print(f'  runner pass CPU time (ms): median {c["median_ms"]:.1f}, p99 '
          f'{c["p99_ms"]:.1f}, max {c["max_ms"]:.1f} (load average '
          f'{r["load_average"]:.1f} on {os.cpu_count()} CPUs)')
    print(f'  dispatch overhead per step: {r["runner_ms_per_step"]:.2f} ms '
          f'of runner time, {r["results_ms_per_step"]:.2f} ms taking its '
          'result')
    ratio = r['old_decide_s'] / max(r['board_decide_s'], 1e-9)
    print(f'  baseline, same input (every step pending, {r["first_wave"]} '
          f'start): old decide {r["old_decide_s"] * 1000:.0f} ms, board '
          f'{r["board_decide_s"] * 1000:.1f} ms: {ratio:.0f}x faster, '
          f'same decisions: {r["same_decisions"]}')
    q = out.get('rabbit')
    if q:
        p = q['pass']
        print(f'over RabbitMQ: {q["steps"]} steps over {q["hosts"]} '
              f'fake-driver agents, plan {q["plan_state"]}, '
              f'{q["vms_moved"]} VMs moved')
        print(f'  runner pass (ms): median {p["median_ms"]:.1f}, p99 '
              f'{p["p99_ms"]:.1f}, max {p["max_ms"]:.1f} over '
              f'{p["passes"]} passes')
        c = q['pass_cpu']
        print(f'  runner pass CPU time (ms): median {c["median_ms"]:.1f}, '
              f'p99 {c["p99_ms"]:.1f}, max {c["max_ms"]:.1f} (the agents '
              'run in this process too)')
        print(f'  per step: {q["wall_ms_per_step"]:.2f} ms wall clock, '
              f'{q["runner_ms_per_step"]:.2f} ms of runner time; raw cast '
              f'round trip on the same broker {q["raw_round_trip_ms"]:.2f}'
              ' ms (p50)')


if __name__ == '__main__':
    sys.exit(main())
