"""``balance``: relieve hot hosts, then narrow the spread move by move.

A host's utilisation is the busy vcpus of its VMs over its vcpus; the spread
is their standard deviation (:mod:`nova_livemig.policies.spread`). Moves
are chosen one at a time, greedily:

1. **Relieve.** While a host is above ``cpu_target_util``, one of its VMs
   moves, whatever it gains: of those whose move alone brings the host
   under the target, the one that gains most per second; if none does,
   the one that gains most. Moves off hot hosts come before any other,
   the most gain per second first.
2. **Narrow.** Then, of the best move off each host (the VM that gains
   most: fewest moves), the one with the most *gain per second of
   migration* (:func:`~nova_livemig.policies.spread.spread_gain` over the
   predicted time of the VM alone on its source's link), until the best move
   left gains less than ``balance_min_gain`` or the plan holds
   ``balance_max_moves`` moves (0: no limit). The budget counts relief
   moves too: a budget too small to relieve every host leaves some listed
   in ``summary['hosts_not_relieved']``.

For each VM the destination is the up host, in every aggregate of its
source, with room under the allocation ratios and staying under
``cpu_target_util``, that gains most (the coolest, on hosts of one size;
ties: the widest path). Pinned VMs, and VMs no allowed algorithm can move
within the downtime target, stay. A VM moves at most once.

``Plan.summary`` gives the spread, hosts over the target and the busiest
host before and after, and ``spread_by_moves``: ``[[moves, stddev], ...]``
along the plan, so that an operator sees what each extra move buys.
"""

import bisect
import heapq
import math

from nova_livemig import graph as graph_mod
from nova_livemig import plan
from nova_livemig import policies
from nova_livemig.policies import consolidate
from nova_livemig.policies import spread as spread_mod
from nova_livemig.scheduling import predictions

#: coolest hosts looked at per VM and aggregate class
SCAN = 64
#: fitting destinations compared per aggregate class (hosts of different
#: sizes: the coolest is not always the one that gains most)
FITS_COMPARED = 4
#: points of ``summary['spread_by_moves']`` besides the first and the last
CURVE_POINTS = 10

utilisation = spread_mod.utilisation
spread = spread_mod.spread


class Balance(policies.Policy):
    name = 'balance'

    def plan(self, snapshot, graph, request, options, algorithms):
        return balance(snapshot, graph, options, algorithms)


def utilisation_figures(snapshot, target, when):
    """The spread figures of a placement, named ``..._{when}``: the
    standard deviation of host CPU use, the hosts over ``target`` and the
    busiest host's use.

    >>> from nova_livemig import model
    >>> snap = model.from_primitive({'version': 1, 'hosts': [
    ...     {'name': h, 'vcpus': 4, 'memory_mib': 1024} for h in 'ab'],
    ...     'vms': [{'id': 'v', 'host': 'a', 'vcpus': 4, 'memory_mib': 1,
    ...              'cpu_util': 1.0, 'dirty_rate_mib_s': 0.0}],
    ...     'network': {'switches': ['s'],
    ...     'links': [{'a': h, 'b': 's', 'gbit_s': 1.0} for h in 'ab']}})
    >>> utilisation_figures(snap, 0.8, 'now')['hosts_over_target_now']
    1
    """
    util = utilisation(snapshot)
    return {
        f'stddev_{when}': round(spread(util), 4),
        f'hosts_over_target_{when}': sum(1 for u in util.values()
                                         if u > target + 1e-9),
        f'max_util_{when}': round(max(util.values(), default=0.0), 4),
    }


def balance(snapshot, graph, options, algorithms):
    """Plan a balancing; see the module docstring.

    :returns: a :class:`~nova_livemig.plan.Plan`
    """
    state = _State(snapshot, graph, options, algorithms)
    stopped_by = state.run()
    moves, more = consolidate.build_moves(
        snapshot, state.finder, state.predictor, state.dest,
        order={m: (k, m) for m, k in state.sources.items()})
    target = options.cpu_target_util
    summary = {
        'cpu_target_util': target,
        **utilisation_figures(snapshot, target, 'before'),
        **utilisation_figures(
            snapshot.relocated({m.vm: m.destination for m in moves}),
            target, 'after'),
        'hosts_not_relieved': sorted(state.stuck)[:20],
        'migrations': len(moves),
        'migrations_relieve': state.relieve_moves,
        'migrations_narrow': len(state.dest) - state.relieve_moves,
        'gib_moved': round(sum(m.predicted.bytes_sent for m in moves)
                           / 2 ** 30, 2),
        'spread_by_moves': curve(state.curve, state.relieve_moves),
        'stopped_by': stopped_by,
        'balance_max_moves': options.balance_max_moves,
        'balance_min_gain': options.balance_min_gain,
    }
    return plan.Plan(policy='balance', moves=tuple(moves),
                     unplaced=tuple(more), summary=summary)


def curve(stddevs, relieve_moves, points=CURVE_POINTS):
    """``[[moves, stddev], ...]``: the spread before any move, after the
    relief, after every ``len / points`` moves and at the end.

    >>> curve([0.3, 0.2, 0.15, 0.12, 0.11], 1, points=2)
    [[0, 0.3], [1, 0.2], [2, 0.15], [4, 0.11]]
    """
    last = len(stddevs) - 1
    step = max(1, math.ceil(last / points)) if last > 0 else 1
    keep = sorted({0, last, min(relieve_moves, last)}
                  | set(range(0, last + 1, step)))
    return [[k, round(stddevs[k], 4)] for k in keep]


class _State:
    def __init__(self, snapshot, graph, options, algorithms):
        self.snapshot = snapshot
        self.options = options
        self.target = options.cpu_target_util
        self.predictor = predictions.Predictor(options, algorithms)
        self.finder = graph_mod.PathFinder(graph)
        self.util = utilisation(snapshot)
        self.n = max(len(self.util), 1)
        self.sum_util = sum(self.util.values())
        self.ss = spread_mod.sum_sq(self.util)
        self.curve = [math.sqrt(self.ss / self.n)]
        self.vcpus = {}
        self.mem = {}
        self.on = {n: [] for n in self.util}
        for vm in snapshot.vms.values():
            if vm.host in self.on:
                self.on[vm.host].append(vm)
                self.vcpus[vm.host] = self.vcpus.get(vm.host, 0) + vm.vcpus
                self.mem[vm.host] = self.mem.get(vm.host, 0) + vm.memory_mib
        self.dest = {}
        self.sources = {}
        self.moved = set()
        self.cost = {}
        self.stuck = set()
        self.relieve_moves = 0
        self.version = dict.fromkeys(self.util, 0)
        self.found = {}
        # hosts by aggregate set, sorted by utilisation (coolest first)
        self.by_agg = {}
        for name in self.util:
            agg = frozenset(snapshot.hosts[name].aggregates)
            self.by_agg.setdefault(agg, []).append((self.util[name], name))
        for lst in self.by_agg.values():
            lst.sort()
        self._classes = {}

    # -- the greedy loop ----------------------------------------------------
    def run(self):
        """Plan moves; returns why it stopped: ``balanced`` (no move
        left that gains), ``min_gain`` or ``max_moves``."""
        budget = self.options.balance_max_moves or math.inf
        min_gain = self.options.balance_min_gain
        heap = []
        for name in self.util:
            self._push(heap, name)
        stopped_by = 'balanced'
        while heap:
            key, name, version, epoch = heapq.heappop(heap)
            if version != self.version[name]:
                continue
            if epoch == len(self.dest):
                found = self.found[name]  # nothing moved since
            else:
                found = self._candidate(name)
                if found is None:
                    continue
                self.found[name] = found
                fresh = (found[0], name, version, len(self.dest))
                if heap and fresh[:2] > heap[0][:2]:
                    heapq.heappush(heap, fresh)  # no longer the best
                    continue
            relieve = found[0][0] == 0
            if len(self.dest) >= budget:
                stopped_by = 'max_moves'
                break
            if not relieve and found[1] < min_gain:
                stopped_by = 'min_gain'
                continue  # another host may still gain more per move
            self._apply(found[2], name, found[3], found[1])
            if relieve:
                self.relieve_moves += 1
            self._push(heap, name)
            self._push(heap, found[3])
        self.stuck |= {n for n, u in self.util.items()
                       if u > self.target + 1e-9}
        return stopped_by

    def _push(self, heap, name):
        self.version[name] += 1
        mean = self.sum_util / self.n
        if self.util[name] > min(mean, self.target) + 1e-9:
            found = self._candidate(name)
            if found is not None:
                self.found[name] = found
                heapq.heappush(heap, (found[0], name, self.version[name],
                                      len(self.dest)))

    def _candidate(self, name):
        """``(key, gain, vm, destination)`` of the best move off a host,
        or None; ``key`` sorts hosts over the target first, then by gain
        per second of migration.

        The VM is the one whose move gains most (fewest moves); on a host
        over the target, of those whose move alone brings it under, the
        one that gains most per second. Migration times are predicted for
        the VMs compared that way only.
        """
        hot = self.util[name] > self.target + 1e-9
        vcpus = self.snapshot.hosts[name].vcpus
        options = []
        for vm in self.on[name]:
            if (vm.pinned or vm.id in self.moved or vm.busy_vcpus <= 0):
                continue
            found = self._destination(vm, name)
            if found is None or found[0] <= 1e-12:
                continue
            covers = hot and (self.util[name] - vm.busy_vcpus / vcpus
                              <= self.target + 1e-9)
            options.append((not covers, -found[0], vm.id, vm, found[1]))
        options.sort()
        best = None
        for not_covers, neg_gain, _, vm, dest in options:
            if best is not None and (not_covers or not hot):
                break  # compared on gain: the first movable one wins
            cost_s = self.move_cost_s(vm)
            if not math.isfinite(cost_s):
                continue
            rate = -neg_gain / max(cost_s, 1e-3)
            if best is None or rate > best[4]:
                best = ((0 if hot else 1, -rate), -neg_gain, vm, dest, rate)
            if not_covers or not hot:
                break
        return None if best is None else best[:4]

    def _classes_for(self, req):
        found = self._classes.get(req)
        if found is None:
            found = [lst for agg, lst in self.by_agg.items() if req <= agg]
            self._classes[req] = found
        return found

    def _destination(self, vm, src):
        """``(gain, host)``: the allowed destination that gains most."""
        src_host = self.snapshot.hosts[src]
        share_src = vm.busy_vcpus / src_host.vcpus
        util_src = self.util[src]
        mean = self.sum_util / self.n
        found = []
        for lst in self._classes_for(frozenset(src_host.aggregates)):
            fits = 0
            for util, name in lst[:SCAN]:
                if name == src:
                    continue
                if util >= util_src:
                    break
                host = self.snapshot.hosts[name]
                share = vm.busy_vcpus / host.vcpus
                if (util + share > self.target + 1e-9
                        or self.vcpus.get(name, 0) + vm.vcpus
                        > host.vcpu_capacity
                        or self.mem.get(name, 0) + vm.memory_mib
                        > host.memory_capacity_mib):
                    continue
                found.append((-spread_mod.spread_gain(
                    util_src, share_src, util, share, mean, self.n), name))
                fits += 1
                if fits >= FITS_COMPARED:
                    break
        # the path is looked at only for the best (ties: the widest)
        found.sort()
        best = None
        for neg_gain, name in found:
            if best is not None and neg_gain > best[0] + 1e-9:
                break
            bw = self.finder.path(src, name)[1]
            if bw > 0 and (best is None or bw > best[1]):
                best = (neg_gain, bw, name)
        return None if best is None else (-best[0], best[2])

    def move_cost_s(self, vm):
        """Predicted time to move the VM alone from its NIC, inf when no
        allowed algorithm can."""
        found = self.cost.get(vm.id)
        if found is None:
            bw = self.finder.nic_gbit_s(vm.host)
            if bw is None:
                g = self.finder.graph.graph
                bw = max((a['free_gbit_s'] for a in g.adj[vm.host].values()),
                         default=0.0)
            algo = self.predictor.best(vm, bw) if bw > 0 else None
            found = (math.inf if algo is None else
                     self.predictor.predict(vm, algo, bw).total_s)
            self.cost[vm.id] = found
        return found

    # -- bookkeeping --------------------------------------------------------
    def _set_util(self, name, value):
        lst = self.by_agg[frozenset(self.snapshot.hosts[name].aggregates)]
        del lst[bisect.bisect_left(lst, (self.util[name], name))]
        self.sum_util += value - self.util[name]
        self.util[name] = value
        bisect.insort(lst, (value, name))

    def _apply(self, vm, src, dst, gain):
        self.moved.add(vm.id)
        self.dest[vm.id] = dst
        self.sources.setdefault(src, len(self.sources))
        self.on[src].remove(vm)
        self.on[dst].append(vm)
        for table, amount in ((self.vcpus, vm.vcpus),
                              (self.mem, vm.memory_mib)):
            table[src] -= amount
            table[dst] = table.get(dst, 0) + amount
        self._set_util(src, self.util[src]
                       - vm.busy_vcpus / self.snapshot.hosts[src].vcpus)
        self._set_util(dst, self.util[dst]
                       + vm.busy_vcpus / self.snapshot.hosts[dst].vcpus)
        self.ss = max(self.ss - gain, 0.0)
        self.curve.append(math.sqrt(self.ss / self.n))
