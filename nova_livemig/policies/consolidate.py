"""``consolidate``: pack VMs onto fewer hosts so the rest can power off.

Objectives, in order: fewest hosts in use, then fewest migrations, then
the cheapest ones. Hard rules: capacity under the allocation ratios, a CPU
headroom (busy vcpus at most ``cpu_target_util`` of a destination's vcpus),
aggregates (a VM only goes to hosts in every aggregate of its host), pinned
VMs stay, and a VM no allowed algorithm can move within the downtime target
stays (its host stays in use). Only hosts that are ``up`` take part.

How (multi-resource best-fit decreasing around a kept set):

1. Hosts holding pinned or unmovable VMs are kept. The others are ranked
   by what they can hold, largest first (capacity in the resource that
   binds the cluster, then in all), and among hosts of one size fullest
   first (fewest migrations: full hosts keep their VMs), and kept in that
   order until the kept hosts can hold the demand in memory, vcpus and
   busy CPU: about the size of the lower bound. On mixed host sizes,
   keeping the fullest hosts first would keep many small hosts where a
   few large ones do. The demand is counted over the whole cluster, and
   in a second packing per group of hosts that VMs may move between
   (aggregates); the packing with fewer hosts in use, then fewer
   migrations, wins.
2. The VMs of the other hosts, largest first, go to the kept host they fit
   most tightly (least memory left), searched in sorted indexes per
   aggregate class (with ``options.prefer_rack``, the default, in their own
   rack first, so that traffic stays off the spine, at the cost of a few
   hosts). When one
   fits nowhere, the next host in the ranking is kept too, and its VMs
   already placed elsewhere return home.
3. Each kept host, least loaded first, is emptied into the others when all
   its VMs fit there (tightest fit anywhere: hosts count before traffic).

Each move then takes the widest path and the fastest algorithm that meets
the downtime target across the dirty-rate error. ``Plan.summary`` reports
hosts in use before and after, the lower bound
(:func:`nova_livemig.scheduling.bounds.active_hosts`, counting the hosts
step 1 must keep), and power
(:mod:`nova_livemig.policies.power`): a freed host saves its whole draw.
"""

import bisect
import itertools

from nova_livemig import graph as graph_mod
from nova_livemig import plan
from nova_livemig import policies
from nova_livemig.policies import power
from nova_livemig.scheduling import bounds
from nova_livemig.scheduling import predictions

#: sorted-index entries looked at per VM and aggregate class before giving
#: up on a tight fit (memory is searched; vcpus and CPU are checked)
SCAN = 256
_EPS = 1e-6


class Consolidate(policies.Policy):
    name = 'consolidate'

    def plan(self, snapshot, graph, request, options, algorithms):
        return consolidate(snapshot, graph, options, algorithms)


def consolidate(snapshot, graph, options, algorithms):
    """Plan a consolidation; see the module docstring.

    :returns: a :class:`~nova_livemig.plan.Plan`
    """
    predictor = predictions.Predictor(options, algorithms)
    finder = graph_mod.PathFinder(graph)
    best = None
    for grouped in (False, True):
        packer = _Packer(snapshot, options, predictor, finder, grouped)
        packer.pick_kept()
        packer.place_pool()
        packer.empty_more()
        if best is None or packer.score() < best.score():
            best = packer
    packer = best
    moves, unplaced = build_moves(snapshot, packer.finder, packer.predictor,
                                  packer.destinations(),
                                  order=packer.source_order())
    summary = summarize(snapshot, moves, options,
                        kept=packer.must_keep())
    return plan.Plan(policy='consolidate', moves=tuple(moves),
                     unplaced=tuple(unplaced), summary=summary)


class _Packer:
    """One packing. ``grouped``: each group of hosts that VMs may move
    between keeps hosts until it holds its own demand; otherwise the
    whole cluster keeps hosts until it holds the whole demand (promotions
    then make up for a group left short). Neither wins on every cluster:
    :func:`consolidate` packs both ways and keeps the better."""

    def __init__(self, snapshot, options, predictor, finder, grouped):
        self.snapshot = snapshot
        self.options = options
        self.predictor = predictor
        self.finder = finder
        self.grouped = grouped
        self.hosts = [h for h in snapshot.hosts.values() if h.state == 'up']
        self.index = {h.name: i for i, h in enumerate(self.hosts)}
        n = len(self.hosts)
        self.cap = [(h.memory_capacity_mib, h.vcpu_capacity,
                     options.cpu_target_util * h.vcpus) for h in self.hosts]
        self.home_vms = [[] for _ in range(n)]
        for vm in snapshot.vms.values():
            i = self.index.get(vm.host)
            if i is not None:
                self.home_vms[i].append(vm)
        self.where = {}       # vm id -> host index, for VMs on up hosts
        self.members = [set() for _ in range(n)]
        self.free = [list(c) for c in self.cap]
        for i, vms in enumerate(self.home_vms):
            for vm in vms:
                self.where[vm.id] = i
                self.members[i].add(vm.id)
                self._take(i, vm)
        self.kept = [False] * n
        used = [sum(c[r] - f[r] for c, f in zip(self.cap, self.free))
                for r in range(3)]
        total = [sum(c[r] for c in self.cap) for r in range(3)]
        self.binding = max(range(3), key=lambda r: used[r] / total[r]
                           if total[r] > 0 else 0.0)
        self.forced = [any(vm.pinned for vm in vms)
                       for vms in self.home_vms]
        # aggregate classes: hosts by aggregate set; VM requirement -> the
        # classes it may use
        self.agg = [frozenset(h.aggregates) for h in self.hosts]
        self.rack = [self.finder.switch_of(h.name) for h in self.hosts]
        self.lists = {}
        for a, r in zip(self.agg, self.rack):
            self.lists.setdefault((a, None), _SortedList())
            if r is not None:
                self.lists.setdefault((a, r), _SortedList())
        self._eligible = {}
        self.key = [None] * n

    # -- bookkeeping ------------------------------------------------------
    def _take(self, i, vm, sign=1):
        f = self.free[i]
        f[0] -= sign * vm.memory_mib
        f[1] -= sign * vm.vcpus
        f[2] -= sign * vm.busy_vcpus

    def _reindex(self, i):
        lists = [self.lists[(self.agg[i], None)]]
        if self.rack[i] is not None:
            lists.append(self.lists[(self.agg[i], self.rack[i])])
        for lst in lists:
            if self.key[i] is not None:
                lst.remove(self.key[i])
            if self.kept[i]:
                lst.add((self.free[i][0], i))
        self.key[i] = (self.free[i][0], i) if self.kept[i] else None

    def _assign(self, vm, i):
        old = self.where[vm.id]
        if old == i:
            return
        self._take(old, vm, -1)
        self._take(i, vm)
        self.where[vm.id] = i
        self.members[old].discard(vm.id)
        self.members[i].add(vm.id)
        if self.kept[old]:
            self._reindex(old)
        self._reindex(i)

    def classes(self, vm):
        req = self.agg[self.index[vm.host]]
        found = self._eligible.get(req)
        if found is None:
            found = [a for a, r in self.lists if r is None and req <= a]
            self._eligible[req] = found
        return found

    def load(self, i):
        """Fill of a host in the resource that binds the cluster (the one
        with most demand for its capacity), then in the fullest one."""
        fills = [(c - f) / c if c > 0 else 0.0
                 for c, f in zip(self.cap[i], self.free[i])]
        return (fills[self.binding], max(fills))

    def movable(self, vm):
        i = self.index[vm.host]
        bw = self.finder.nic_gbit_s(vm.host)
        if bw is None:
            g = self.finder.graph.graph
            bw = max((a['free_gbit_s'] for a in g.adj[vm.host].values()),
                     default=0.0)
        return bw > 0 and not self.forced[i] and any(
            self.predictor.fits(vm, a, bw) for a in self.predictor.allowed())

    def best_fit(self, vm, exclude=None, rack_first=None):
        """The kept host the VM fits most tightly; with
        ``options.prefer_rack``, in its own rack if any, else anywhere."""
        if rack_first is None:
            rack_first = self.options.prefer_rack
        rack = self.rack[self.index[vm.host]]
        if rack is not None and rack_first:
            found = self._fit_in(vm, exclude, rack)
            if found is not None:
                return found
        return self._fit_in(vm, exclude, None)

    def _fit_in(self, vm, exclude, rack):
        best = None
        for agg in self.classes(vm):
            lst = self.lists.get((agg, rack))
            if lst is None:
                continue
            start = lst.bisect_left((vm.memory_mib - _EPS, -1))
            # the tightest fits first; then, before giving up, the hosts
            # with the most room (those short of vcpus or CPU can crowd
            # the tight end of a large cluster)
            tail = max(start + SCAN, len(lst) - SCAN)
            for fm, i in itertools.chain(lst.islice(start, start + SCAN),
                                         lst.islice(tail, len(lst))):
                if i == exclude:
                    continue
                f = self.free[i]
                if (f[1] >= vm.vcpus - _EPS
                        and f[2] >= vm.busy_vcpus - _EPS):
                    if best is None or fm < best[0]:
                        best = (fm, i)
                    break
        return None if best is None else best[1]

    # -- the three steps ----------------------------------------------------
    def pick_kept(self):
        n = len(self.hosts)
        for i in range(n):
            if not self.forced[i] and not all(
                    self.movable(vm) for vm in self.home_vms[i]):
                self.forced[i] = True
        self.ranking = sorted(
            (i for i in range(n) if not self.forced[i]),
            key=self.rank_key)
        groups = (self.groups() if self.grouped
                  else _Groups(of=[0] * n, members=[0]))
        demand = [[0.0, 0.0, 0.0] for _ in groups.members]
        have = [[0.0, 0.0, 0.0] for _ in groups.members]
        for i in range(n):
            g = groups.of[i]
            for r in range(3):
                demand[g][r] += self.cap[i][r] - self.free[i][r]
            if self.forced[i]:
                self._keep(i, have[g])
        self.next_rank = 0
        for i in self.ranking:
            g = groups.of[i]
            if not all(have[g][r] >= demand[g][r] - _EPS for r in range(3)):
                self._keep(i, have[g])

    def rank_key(self, i):
        """Hosts kept first: those that can hold the most (capacity in the
        resource that binds the cluster, then the others), and among
        hosts of one size the fullest (their VMs stay: fewer moves)."""
        cap = self.cap[i]
        b = self.binding
        return (-cap[b], -sum(cap), tuple(-x for x in self.load(i)),
                -len(self.home_vms[i]), self.hosts[i].name)

    def groups(self):
        """Hosts joined when a VM of one may go to the other (aggregates):
        each group's kept hosts must hold the group's demand."""
        parent = {a: a for a in set(self.agg)}

        def root(a):
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a
        classes = list(parent)
        for a in classes:
            for b in classes:
                if a <= b:
                    parent[root(a)] = root(b)
        ids = {}
        of = [ids.setdefault(root(a), len(ids)) for a in self.agg]
        return _Groups(of=of, members=list(ids))

    def _keep(self, i, have=None):
        self.kept[i] = True
        if have is not None:
            for r in range(3):
                have[r] += self.cap[i][r]
        self._reindex(i)

    def place_pool(self):
        pool = [vm for i, vms in enumerate(self.home_vms)
                if not self.kept[i] for vm in vms]
        pool.sort(key=lambda vm: (-vm.memory_mib, -vm.vcpus, vm.id))
        for vm in pool:
            while not self.kept[self.index[vm.host]]:
                dest = self.best_fit(vm)
                if dest is not None:
                    self._assign(vm, dest)
                    break
                if not self._promote(vm):
                    break

    def _promote(self, vm):
        """Keep the next host in the ranking that the VM may use."""
        req = self.agg[self.index[vm.host]]
        while (self.next_rank < len(self.ranking)
               and self.kept[self.ranking[self.next_rank]]):
            self.next_rank += 1
        for pos in range(self.next_rank, len(self.ranking)):
            i = self.ranking[pos]
            if self.kept[i] or not req <= self.agg[i]:
                continue
            self.kept[i] = True
            self._reindex(i)
            for own in self.home_vms[i]:
                self._assign(own, i)  # back home if placed elsewhere
            return True
        return False

    def empty_more(self):
        candidates = sorted(
            (i for i in range(len(self.hosts))
             if self.kept[i] and not self.forced[i]),
            key=lambda i: (self.load(i), self.hosts[i].name))
        for i in candidates:
            here = self._on(i)
            here.sort(key=lambda vm: (-vm.memory_mib, -vm.vcpus, vm.id))
            self.kept[i] = False
            self._reindex(i)
            done = []
            for vm in here:
                dest = self.best_fit(vm, exclude=i, rack_first=False)
                if dest is None:
                    break
                done.append((vm, dest))
                self._assign(vm, dest)
            else:
                continue
            for vm, _ in reversed(done):  # roll back
                self._assign(vm, i)
            self.kept[i] = True
            self._reindex(i)

    def score(self):
        """``(hosts in use, migrations)``: the lower the better."""
        return (sum(1 for m in self.members if m), len(self.destinations()))

    def must_keep(self):
        """Hosts holding VMs that may not move (pinned or unmovable)."""
        return tuple(self.hosts[i].name for i in range(len(self.hosts))
                     if self.forced[i] and self.home_vms[i])

    def _on(self, i):
        return [self.snapshot.vms[vid] for vid in self.members[i]]

    def destinations(self):
        return {vid: self.hosts[i].name for vid, i in self.where.items()
                if self.hosts[i].name != self.snapshot.vms[vid].host}

    def source_order(self):
        """Sources emptied first: least loaded in the snapshot."""
        used = {}
        for vm in self.snapshot.vms.values():
            used[vm.host] = used.get(vm.host, 0) + vm.memory_mib
        return {name: (used.get(name, 0) / max(
            self.snapshot.hosts[name].memory_capacity_mib, 1), name)
            for name in self.snapshot.hosts}


class _Groups:
    def __init__(self, of, members):
        self.of = of
        self.members = members


class _SortedList:
    """A sorted list of (free memory, host index); a few thousand entries,
    so a plain list with bisection is fast enough."""

    def __init__(self):
        self._items = []

    def add(self, item):
        bisect.insort(self._items, item)

    def remove(self, item):
        del self._items[bisect.bisect_left(self._items, item)]

    def bisect_left(self, item):
        return bisect.bisect_left(self._items, item)

    def islice(self, start, stop):
        return itertools.islice(self._items, start, stop)

    def __len__(self):
        return len(self._items)


def build_moves(snapshot, finder, predictor, destinations, order=None):
    """Moves for ``{vm id: destination}``: widest path, fastest algorithm
    that meets the downtime target there.

    :param order: ``{host: sort key}``; moves are grouped by source in
        that order (default: by name), largest VM first
    :returns: ``(moves, unplaced)``
    """
    moves = []
    unplaced = []
    for vid, dst in destinations.items():
        vm = snapshot.vms[vid]
        links, bw = finder.path(vm.host, dst)
        algo = predictor.best(vm, bw) if bw > 0 else None
        if algo is None:
            unplaced.append(plan.Unplaced(vid, (
                f'no path from {vm.host} to {dst} on which an allowed '
                'algorithm meets the downtime target')))
            continue
        pred = predictor.predict(vm, algo, bw)
        moves.append(plan.Move(vm=vid, source=vm.host, destination=dst,
                               algorithm=algo, predicted=pred, path=links,
                               bandwidth_gbit_s=bw))
    key = order or {}
    moves.sort(key=lambda m: (key.get(m.source, (0, m.source)), m.source,
                              -snapshot.vms[m.vm].memory_mib, m.vm))
    return moves, unplaced


def summarize(snapshot, moves, options, kept=()):
    """Hosts in use, the lower bound, migrations, bytes and power.

    :param kept: hosts that stay in use whatever the plan (pinned or
        unmovable VMs): the bound counts them
    """
    after = snapshot.relocated({m.vm: m.destination for m in moves})
    bound = bounds.active_hosts(snapshot, options.cpu_target_util,
                                kept=kept)
    before_w = power.cluster_power_w(snapshot)
    after_w = power.cluster_power_w(after)
    in_use_before = bounds.hosts_in_use(snapshot)
    in_use_after = bounds.hosts_in_use(after)
    return {
        'hosts_in_use_before': in_use_before,
        'hosts_in_use_after': in_use_after,
        'hosts_freed': in_use_before - in_use_after,
        'lower_bound_hosts': bound.hosts,
        'lower_bound_by_resource': bound.by_resource,
        'migrations': len(moves),
        'gib_moved': round(sum(m.predicted.bytes_sent for m in moves)
                           / 2 ** 30, 2),
        'power_before_w': round(before_w[0], 1),
        'power_after_w': round(after_w[0], 1),
        'power_saved_w': round(before_w[0] - after_w[0], 1),
        'hosts_with_power_figures': before_w[1],
        'cpu_target_util': options.cpu_target_util,
    }

