"""The scheduler on synthetic clusters: CPU per move, makespan against its
bound and against the Nova-default schedule of the same moves, all measured
in the same run.

Usage::

    python benchmarks/bench_schedule.py --sizes 1000,2000,5000,10000 [--seed 1]
    python benchmarks/bench_schedule.py --sizes 2000 --profile

For each size (about 10 VMs per host, the flavor mix and topology of
:mod:`synthetic`, seeded), the fragmented cluster is consolidated by the
``consolidate`` policy twice, with ``prefer_rack`` on and off (the two
plans differ: off, more moves cross the spine), and the moves of each plan
are scheduled by :func:`nova_livemig.scheduling.simulation.schedule`.
Printed per plan:

* plan and schedule CPU seconds (``time.process_time``), and the schedule's
  microseconds of CPU per move;
* the makespan against its lower bound
  (:func:`nova_livemig.scheduling.bounds.makespan_s`) and against the
  Nova-default schedule of the same moves (simulated in the same call), and
  whether the scheduler adopted Nova's order.

The goals of issue 13 are printed beside the figures with ``ok`` or
``MISSED``: plan plus schedule under 30 s CPU at 10,000 hosts, makespan at
most 1.15x its bound, never longer than the Nova-default schedule.
"""

import argparse
import cProfile
import dataclasses
import json
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import synthetic  # noqa: E402

from nova_livemig import algorithms as algorithms_mod  # noqa: E402
from nova_livemig import graph as graph_mod  # noqa: E402
from nova_livemig import model  # noqa: E402
from nova_livemig import plan  # noqa: E402
from nova_livemig.policies import consolidate  # noqa: E402
from nova_livemig.scheduling import simulation  # noqa: E402

#: goals of issue 13
GOAL_TOTAL_CPU_S = 30.0       # plan plus schedule, at 10,000 hosts
GOAL_VS_BOUND = 1.15
GOAL_VS_NOVA = 1.0


def _verdict(ok):
    return 'ok' if ok else 'MISSED'


def _cpu(func, *args, **kwargs):
    t0 = time.process_time()
    result = func(*args, **kwargs)
    return result, time.process_time() - t0


def run_plan(snap, graph, options, algorithms, profile=False):
    """Plan a consolidation and schedule its moves; the figures."""
    p, plan_s = _cpu(consolidate.consolidate, snap, graph, options,
                     algorithms)
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    sched, sched_s = _cpu(simulation.schedule, snap, graph, p.moves,
                          options, algorithms)
    if prof:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats(
            'cumulative').print_stats(25)
    nova = sched.nova
    moves = max(len(p.moves), 1)
    return {
        'moves': len(p.moves), 'plan_cpu_s': round(plan_s, 2),
        'schedule_cpu_s': round(sched_s, 2),
        'us_per_move': round(sched_s / moves * 1e6, 1),
        'makespan_s': round(sched.makespan_s, 1),
        'bound_s': round(sched.bound_s, 1),
        'vs_bound': round(sched.makespan_s / max(sched.bound_s, 1e-9), 3),
        'bound_reason': sched.bound_reason,
        'nova_makespan_s': round(nova.makespan_s, 1),
        'vs_nova': round(sched.makespan_s / max(nova.makespan_s, 1e-9), 3),
        'adopted_nova': bool(getattr(sched, 'adopted_nova', False)),
        'explanation': getattr(sched, 'explanation', ''),
        'unscheduled': len(sched.unscheduled),
        'nova_stuck': nova.stuck, 'nova_failed': nova.failed,
    }


def run_size(n_hosts, seed, algorithms, profile=False,
             prefer_rack_values=(True, False)):
    doc = synthetic.generate(n_hosts=n_hosts, n_vms=10 * n_hosts, seed=seed)
    snap = model.from_primitive(doc)
    graph = graph_mod.LinkGraph(snap)
    out = {'hosts': n_hosts, 'vms': len(snap.vms)}
    for prefer_rack in prefer_rack_values:
        options = dataclasses.replace(plan.PlanningOptions(),
                                      prefer_rack=prefer_rack)
        res = run_plan(snap, graph, options, algorithms, profile=profile)
        out['prefer_rack' if prefer_rack else 'anywhere'] = res
        print_one(n_hosts, prefer_rack, res)
    return out


def print_one(n_hosts, prefer_rack, r):
    total = r['plan_cpu_s'] + r['schedule_cpu_s']
    print(f"{n_hosts:>6} hosts, prefer_rack {'on ' if prefer_rack else 'off'}"
          f": {r['moves']} moves; plan {r['plan_cpu_s']} s + schedule "
          f"{r['schedule_cpu_s']} s CPU ({r['us_per_move']} us/move)"
          + (f" [goal plan+schedule < {GOAL_TOTAL_CPU_S:g} s: "
             f"{_verdict(total < GOAL_TOTAL_CPU_S)}]"
             if n_hosts >= 10000 else ''))
    print(f"        makespan {r['makespan_s']} s, bound {r['bound_s']} s "
          f"(x{r['vs_bound']} [goal <= {GOAL_VS_BOUND}: "
          f"{_verdict(r['vs_bound'] <= GOAL_VS_BOUND)}]; "
          f"{r['bound_reason']})")
    print(f"        Nova default {r['nova_makespan_s']} s (ours "
          f"x{r['vs_nova']} [goal <= 1: "
          f"{_verdict(r['vs_nova'] <= GOAL_VS_NOVA)}]"
          + ('; adopted Nova order' if r['adopted_nova'] else '')
          + f"); unscheduled {r['unscheduled']}, Nova stuck "
          f"{r['nova_stuck']}, Nova failed {r['nova_failed']}")
    sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sizes', default='1000,2000',
                        help='host counts, comma-separated')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--prefer-rack', choices=('both', 'on', 'off'),
                        default='both',
                        help='plan with prefer_rack on, off, or both')
    parser.add_argument('--profile', action='store_true',
                        help='print a cProfile of each schedule to stderr')
    parser.add_argument('--json', metavar='FILE',
                        help='also write the figures as JSON')
    args = parser.parse_args(argv)
    algorithms = algorithms_mod.load_algorithms(
        plan.PlanningOptions().algorithms)
    results = []
    for size in (int(s) for s in args.sizes.split(',')):
        results.append(run_size(
            size, args.seed, algorithms, profile=args.profile,
            prefer_rack_values={'both': (True, False), 'on': (True,),
                                'off': (False,)}[args.prefer_rack]))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
