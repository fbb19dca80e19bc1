"""``balance``: relieve hot hosts and narrow the spread of CPU utilisation.

A host's utilisation is the busy vcpus of its VMs over its vcpus. Two
phases, each taking the hottest host first:

1. **Relieve.** While a host is above ``cpu_target_util``, move one of its
   VMs away. Of the VMs whose busy vcpus cover what is still too much, the
   cheapest to move (predicted migration time alone on its path: a small,
   quiet VM is cheaper than a large busy one); if none covers it, the one
   with the most relief per second of migration.
2. **Narrow.** While a host is more than :data:`SPREAD_BAND` above the mean
   utilisation, move a VM the same way, to a host that stays below the
   mean after it; a move must leave the pair closer than before.

Hosts left over the target (no VM of theirs fits anywhere) are listed in
``summary['hosts_not_relieved']``. A destination is up, in every aggregate
of the source, has room under the allocation ratios and stays under
``cpu_target_util``; the coolest one
wins (ties: the widest path). Pinned VMs, and VMs no allowed algorithm can
move within the downtime target, stay. A VM moves at most once.
``Plan.summary`` gives the standard deviation of host utilisation and the
hosts over the target, before and after.
"""

import bisect
import heapq
import math

from nova_livemig import graph as graph_mod
from nova_livemig import plan
from nova_livemig import policies
from nova_livemig.policies import consolidate
from nova_livemig.scheduling import predictions

#: phase 2 works on hosts this far above the mean utilisation (fraction)
SPREAD_BAND = 0.10
#: coolest hosts looked at per move and aggregate class
SCAN = 64


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


def utilisation(snapshot):
    """``{host: cpu util}`` for up hosts, from the VMs' busy vcpus."""
    busy = {n: 0.0 for n, h in snapshot.hosts.items() if h.state == 'up'}
    for vm in snapshot.vms.values():
        if vm.host in busy:
            busy[vm.host] += vm.busy_vcpus
    return {n: b / snapshot.hosts[n].vcpus for n, b in busy.items()}


def spread(utils):
    """Population standard deviation of host utilisation."""
    values = list(utils.values())
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def balance(snapshot, graph, options, algorithms):
    """Plan a balancing; see the module docstring.

    :returns: a :class:`~nova_livemig.plan.Plan`
    """
    state = _State(snapshot, graph, options, algorithms)
    target = options.cpu_target_util
    stuck = state.run(lambda h: target)
    relieve = len(state.dest)
    mean = sum(state.util.values()) / max(len(state.util), 1)
    state.run(lambda h: max(mean + SPREAD_BAND, 0.0), narrow=mean)
    moves, more = consolidate.build_moves(
        snapshot, state.finder, state.predictor, state.dest)
    summary = {
        'cpu_target_util': target,
        **utilisation_figures(snapshot, target, 'before'),
        **utilisation_figures(
            snapshot.relocated({m.vm: m.destination for m in moves}),
            target, 'after'),
        'hosts_not_relieved': sorted(stuck)[:20],
        'migrations': len(moves),
        'migrations_relieve': relieve,
        'migrations_narrow': len(state.dest) - relieve,
        'gib_moved': round(sum(m.predicted.bytes_sent for m in moves)
                           / 2 ** 30, 2),
    }
    return plan.Plan(policy='balance', moves=tuple(moves),
                     unplaced=tuple(more), summary=summary)


class _State:
    def __init__(self, snapshot, graph, options, algorithms):
        self.snapshot = snapshot
        self.options = options
        self.predictor = predictions.Predictor(options, algorithms)
        self.finder = graph_mod.PathFinder(graph)
        self.util = utilisation(snapshot)
        self.vcpus = {}
        self.mem = {}
        self.on = {n: [] for n in self.util}
        for vm in snapshot.vms.values():
            if vm.host in self.on:
                self.on[vm.host].append(vm)
                self.vcpus[vm.host] = self.vcpus.get(vm.host, 0) + vm.vcpus
                self.mem[vm.host] = self.mem.get(vm.host, 0) + vm.memory_mib
        self.dest = {}
        self.moved = set()
        self.cost = {}
        # hosts by aggregate set, sorted by utilisation (coolest first)
        self.by_agg = {}
        for name in self.util:
            agg = frozenset(snapshot.hosts[name].aggregates)
            self.by_agg.setdefault(agg, []).append((self.util[name], name))
        for lst in self.by_agg.values():
            lst.sort()

    def _set_util(self, name, value):
        lst = self.by_agg[frozenset(self.snapshot.hosts[name].aggregates)]
        del lst[bisect.bisect_left(lst, (self.util[name], name))]
        self.util[name] = value
        bisect.insort(lst, (value, name))

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

    def run(self, limit, narrow=None):
        """Move VMs off hosts above ``limit(host)``; returns the hosts left
        above it (no VM on them could go anywhere)."""
        heap = [(-u, n) for n, u in self.util.items() if u > limit(n) + 1e-9]
        heapq.heapify(heap)
        stuck = []
        while heap:
            neg, name = heapq.heappop(heap)
            if (-neg != self.util[name]
                    or self.util[name] <= limit(name) + 1e-9):
                continue
            if not self._relieve(name, limit(name), narrow):
                stuck.append(name)
                continue
            if self.util[name] > limit(name) + 1e-9:
                heapq.heappush(heap, (-self.util[name], name))
        return stuck

    def _relieve(self, name, limit, narrow):
        host = self.snapshot.hosts[name]
        need = (self.util[name] - limit) * host.vcpus
        vms = [vm for vm in self.on[name] if not vm.pinned
               and vm.id not in self.moved and vm.busy_vcpus > 0
               and math.isfinite(self.move_cost_s(vm))]

        def key(vm):
            covers = vm.busy_vcpus >= need - 1e-9
            cost = max(self.move_cost_s(vm), 1e-6)
            return (not covers, cost if covers else -vm.busy_vcpus / cost)
        for vm in sorted(vms, key=key):
            dest = self._destination(vm, name, narrow)
            if dest is not None:
                self._apply(vm, name, dest)
                return True
        return False

    def _destination(self, vm, src, narrow):
        src_host = self.snapshot.hosts[src]
        req = frozenset(src_host.aggregates)
        after_src = self.util[src] - vm.busy_vcpus / src_host.vcpus
        best = None
        for agg, lst in self.by_agg.items():
            if not req <= agg:
                continue
            for util, name in lst[:SCAN]:
                host = self.snapshot.hosts[name]
                new = util + vm.busy_vcpus / host.vcpus
                if best is not None and new > best[0] + 1e-9:
                    break
                if name == src or new > self.options.cpu_target_util:
                    continue
                if narrow is not None and (new > narrow or new >= after_src):
                    continue
                if (self.vcpus.get(name, 0) + vm.vcpus > host.vcpu_capacity
                        or self.mem.get(name, 0) + vm.memory_mib
                        > host.memory_capacity_mib):
                    continue
                bw = self.finder.path(src, name)[1]
                if bw <= 0:
                    continue
                key = (round(new, 6), -bw, name)
                if best is None or key < best:
                    best = key
        return None if best is None else best[2]

    def _apply(self, vm, src, dst):
        self.moved.add(vm.id)
        self.dest[vm.id] = dst
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
