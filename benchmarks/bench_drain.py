"""Benchmark: drain one host of a 10,000-host, 100,000-VM cluster.

Prints figures; it is not a timed test. Run from the top of the tree::

    .venv/bin/python benchmarks/bench_drain.py            # full size
    .venv/bin/python benchmarks/bench_drain.py --hosts 1000 --vms 10000

It times (CPU seconds of this process) building and validating the
snapshot, building the link graph and planning a drain, and compares plans
with two cost-blind baselines run on the same VMs in the same process, under
the same hard rules (up, not the source, same aggregates, room under the
allocation ratios):

* ``first-fit``: the first host in snapshot order with room;
* ``spread``: the host with the most free memory (Nova's default RAM
  weigher).

Each baseline placement is then costed with the same models over the same
widest paths, so the predicted migration times compare like with like.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import synthetic  # noqa: E402  (benchmarks/ is not a package)

from nova_livemig import algorithms as algorithms_mod  # noqa: E402
from nova_livemig import graph as graph_mod  # noqa: E402
from nova_livemig import model
from nova_livemig import plan
from nova_livemig import policies
from nova_livemig.policies import drain  # noqa: E402
from nova_livemig.policies import ranking  # noqa: E402


def _timed(func, *args, **kwargs):
    """``(result, CPU seconds)``: process time, not wall time, so that the
    figures hold on a machine shared with other work."""
    start = time.process_time()
    result = func(*args, **kwargs)
    return result, time.process_time() - start


def busiest_hosts(snap, count):
    """Up hosts with the most VMs (ties: by name), the first ``count``."""
    n_vms = {}
    for vm in snap.vms.values():
        n_vms[vm.host] = n_vms.get(vm.host, 0) + 1
    hosts = sorted((h for h in snap.hosts.values() if h.state == 'up'),
                   key=lambda h: (-n_vms.get(h.name, 0), h.name))
    return [h.name for h in hosts[:count]]


def cost_blind(snap, host_name, pick):
    """Place the VMs of one host, cost-blind, as a plain scheduler would.

    :param pick: ``'first-fit'`` or ``'spread'``
    :returns: ``({vm id: destination}, [unplaced vm ids])``
    """
    usage = ranking.Usage(snap)
    src = snap.hosts[host_name]
    placed, unplaced = {}, []
    for vm in drain.hardest_first(snap.vms_on(host_name)):
        if vm.pinned:
            unplaced.append(vm.id)
            continue
        best, best_free = None, None
        for name, host in snap.hosts.items():
            if not ranking.allowed(src, host) or not usage.fits(vm, name):
                continue
            if pick == 'first-fit':
                best = name
                break
            free = host.memory_capacity_mib - usage.memory_mib[name]
            if best_free is None or free > best_free:
                best, best_free = name, free
        if best is None:
            unplaced.append(vm.id)
        else:
            usage.move(vm, best)
            placed[vm.id] = best
    return placed, unplaced


def costed(snap, ranker, host_name, placed):
    """Moves for a placement, predicted over the widest paths."""
    return [ranker.move(snap.vms[vm_id], host_name, dest)
            for vm_id, dest in placed.items()]


def figures(moves, max_downtime_ms):
    preds = [m.predicted for m in moves]
    return {
        'moves': len(moves),
        'sum_s': sum(p.total_s for p in preds),
        'max_s': max((p.total_s for p in preds), default=0.0),
        'gib': sum(p.bytes_sent for p in preds) / 1024 ** 3,
        'max_downtime_ms': max((p.downtime_ms for p in preds),
                               default=0.0),
        'miss_target': sum(not p.meets(max_downtime_ms) for p in preds),
        'destinations': len({m.destination for m in moves}),
        'cross_rack': sum(len(m.path) > 2 for m in moves),
    }


def _ratio(a, b):
    return f'{a / b:.2f}x' if b else 'n/a'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=10000)
    parser.add_argument('--vms', type=int, default=100000)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--host', help='host whose drain is timed; '
                                       'default: the up host with the '
                                       'most VMs')
    parser.add_argument('--sample', type=int, default=5,
                        help='hosts drained one at a time (each from the '
                             'same starting cluster) for the comparison')
    args = parser.parse_args(argv)

    doc, gen_s = _timed(synthetic.generate, n_hosts=args.hosts,
                        n_vms=args.vms, seed=args.seed)
    snap, validate_s = _timed(model.from_primitive, doc)
    graph, graph_s = _timed(graph_mod.LinkGraph, snap)
    options = plan.PlanningOptions()
    algorithms = algorithms_mod.load_algorithms(options.algorithms)
    hosts = busiest_hosts(snap, args.sample)
    host = args.host or hosts[0]
    if host not in hosts:
        hosts = [host, *hosts[:-1]]
    timed = None
    totals = {}
    for name in hosts:
        request = policies.PlanRequest(hosts=(name,))
        result, plan_s = _timed(drain.Drain().plan, snap, graph, request,
                                options, algorithms)
        if name == host:
            timed = (result, plan_s, plan.apply(snap, result.moves))
            _, apply_s = _timed(plan.apply, snap, result.moves)
        plan.apply(snap, result.moves)
        ranker = ranking.Ranker(graph, options, algorithms)
        rows = {'cost-aware drain': (result.moves, plan_s,
                                     len(result.unplaced))}
        for pick in ('first-fit', 'spread'):
            (placed, unplaced), pick_s = _timed(cost_blind, snap, name,
                                                pick)
            rows[pick] = (costed(snap, ranker, name, placed), pick_s,
                          len(unplaced))
        for key, (moves, secs, n_unplaced) in rows.items():
            acc = totals.setdefault(key, [[], 0.0, 0])
            acc[0].extend(moves)
            acc[1] += secs
            acc[2] += n_unplaced
    result, plan_s, _ = timed
    rows = {key: (figures(moves, options.max_downtime_ms), secs, n)
            for key, (moves, secs, n) in totals.items()}

    print(f'cluster: {len(snap.hosts)} hosts, {len(snap.vms)} VMs, '
          f'{len(snap.switches)} switches, {len(snap.links)} links '
          f'(seed {args.seed})')
    print(f'generate (not the product)   {gen_s:7.3f} s')
    print(f'build + validate snapshot    {validate_s:7.3f} s')
    print(f'build link graph             {graph_s:7.3f} s')
    print(f'plan drain of {host} ({len(snap.vms_on(host))} VMs) '
          f'{plan_s:7.3f} s')
    print(f'check plan (plan.apply)      {apply_s:7.3f} s')
    print(f'total, snapshot to plan      '
          f'{validate_s + graph_s + plan_s:7.3f} s')
    print()
    print(f'{len(hosts)} hosts drained one at a time, each from the same '
          'cluster; figures summed over them:')
    head = ('placement', 'plan CPU s', 'moves', 'unplaced', 'sum s', 'max s',
            'GiB', 'max dt ms', 'miss 500ms', 'dests', 'x-rack')
    print('{:<17}{:>11}{:>7}{:>9}{:>8}{:>8}{:>8}{:>10}{:>11}{:>7}{:>7}'
          .format(*head))
    for name, (f, secs, n_unplaced) in rows.items():
        print('{:<17}{:>11.3f}{:>7}{:>9}{:>8.1f}{:>8.1f}{:>8.1f}{:>10.1f}'
              '{:>11}{:>7}{:>7}'.format(
                  name, secs, f['moves'], n_unplaced, f['sum_s'],
                  f['max_s'], f['gib'], f['max_downtime_ms'],
                  f['miss_target'], f['destinations'], f['cross_rack']))
    print()
    ours = rows['cost-aware drain']
    for pick in ('first-fit', 'spread'):
        base = rows[pick]
        print(f'vs {pick}: planning time {_ratio(ours[1], base[1])}, '
              f'predicted migration time (sum) '
              f'{_ratio(ours[0]["sum_s"], base[0]["sum_s"])}, '
              f'longest migration {_ratio(ours[0]["max_s"], base[0]["max_s"])}'
              f', bytes {_ratio(ours[0]["gib"], base[0]["gib"])}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
