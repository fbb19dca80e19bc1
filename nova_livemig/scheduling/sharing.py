"""Sharing link bandwidth between concurrent migrations (max-min fair).

Migrations that cross the same link share its free capacity. The share each
one gets is the *max-min fair* allocation: no migration can get more without
taking from one that has no more than it. It is computed by progressive
filling: the link with the smallest equal share fixes the rate of every
migration crossing it; their rates are taken off the other links they cross;
repeat.

Two helpers serve the scheduler: :func:`max_min_fair` for the rates, and
:func:`component` for the set of migrations whose rates can change when one
starts or ends (those connected to it through shared links), so that a start
or end in one rack does not recompute the whole cluster.

It also holds :class:`Predictor`, the cached predictions of the cost models
at a share (rounded down to a grid, so that nearby shares share a
prediction), and :func:`link_load`, which reads the load of every link back
from a finished schedule.

>>> rates = max_min_fair({'m1': ('L1',), 'm2': ('L1', 'L2'), 'm3': ('L2',)},
...                      {'L1': 10.0, 'L2': 4.0})
>>> rates == {'m2': 2.0, 'm3': 2.0, 'm1': 8.0}
True
"""

import heapq
import math
import zlib

from nova_livemig import cost
from nova_livemig.algorithms import choice


def max_min_fair(flows, capacity_gbit_s):
    """Max-min fair rates of flows over links.

    :param flows: ``{flow id: tuple of link keys}``; a flow crossing no link
        gets ``float('inf')``
    :param capacity_gbit_s: ``{link key: free capacity}`` for every link any
        flow crosses
    :returns: ``{flow id: gbit_s}``
    """
    remaining = {}
    members = {}
    rates = {}
    for fid, links in flows.items():
        if not links:
            rates[fid] = float('inf')
            continue
        for key in links:
            if key not in members:
                members[key] = []
                remaining[key] = capacity_gbit_s[key]
            members[key].append(fid)
    count = {key: len(fids) for key, fids in members.items()}
    heap = [(max(remaining[key], 0.0) / count[key], key) for key in members]
    heapq.heapify(heap)
    # A link's equal share never falls as flows are fixed (each is fixed at
    # the smallest share, at most this link's), so an entry is refreshed
    # only when it comes out of the heap stale: one push per change would
    # be quadratic on a link shared by thousands of flows.
    while heap:
        share, key = heapq.heappop(heap)
        n = count[key]
        if n == 0:
            continue
        now = max(remaining[key], 0.0) / n
        if now > share * (1.0 + 1e-12):
            heapq.heappush(heap, (now, key))   # stale: grown since queued
            continue
        for fid in members[key]:
            if fid in rates:
                continue
            rates[fid] = now
            for other in flows[fid]:
                remaining[other] -= now
                count[other] -= 1
        count[key] = 0
    return rates


def component(start_links, flows_on_link, links_of, enter=None):
    """Flows connected to some links through shared links.

    :param start_links: link keys to start from: every flow on them is in
    :param flows_on_link: ``{link key: set of flows}`` (running flows)
    :param links_of: ``links_of(flow)``: the link keys a flow crosses
    :param enter: ``enter(link key)``: whether to go on through a link
        reached from a flow (default: always). The scheduler passes "the
        link is saturated": flows that only share links with spare capacity
        do not limit each other.
    :returns: the set of flows found
    """
    seen_links = set(start_links)
    stack = list(start_links)
    found = set()
    while stack:
        key = stack.pop()
        for fid in flows_on_link.get(key, ()):
            if fid in found:
                continue
            found.add(fid)
            for other in links_of(fid):
                if other not in seen_links and (enter is None
                                                or enter(other)):
                    seen_links.add(other)
                    stack.append(other)
    return found


def link_load(moves, t):
    """``{link key: gbit_s}`` carried at instant ``t`` by a schedule."""
    load = {}
    for m in moves:
        if not m.start_s <= t < m.end_s:
            continue
        rate = 0.0
        for since, r in m.rates:
            if since <= t:
                rate = r
        for key in m.path:
            load[key] = load.get(key, 0.0) + rate
    return load


def quantize_gbit_s(rate):
    """Round a share down to a grid of 64 steps per doubling, so that the
    predictions of a VM at nearby shares are computed once.

    >>> quantize_gbit_s(10.0) <= 10.0 < quantize_gbit_s(10.0) * 1.011
    True
    """
    if rate <= 0 or math.isinf(rate):
        return rate
    step = math.floor(math.log2(rate) * 64 + 1e-9) / 64
    return 2.0 ** step


class Predictor:
    """Cached predictions of the cost models.

    :param options: a :class:`~nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}``
    """

    def __init__(self, options, algorithms):
        self.options = options
        self.algorithms = algorithms
        self._cache = {}

    def predict(self, vm, algorithm, gbit_s, high=False):
        """A :class:`~nova_livemig.cost.Prediction` at a share; at the high
        end of the dirty rate when ``high``."""
        q = quantize_gbit_s(gbit_s)
        key = (vm.id, algorithm, q, high)
        found = self._cache.get(key)
        if found is None:
            rate = choice.dirty_rate_bounds(vm, self.options)[
                2 if high else 1]
            inp = cost.MigrationInput.for_vm(
                vm, q, self.options.max_downtime_ms, dirty_rate_mib_s=rate)
            found = self.algorithms[algorithm].predict(
                inp, self.options.params)
            self._cache[key] = found
        return found

    def fits(self, vm, algorithm, gbit_s):
        """True when the algorithm meets the downtime target at that share
        across the dirty-rate error."""
        return self.predict(vm, algorithm, gbit_s, high=True).meets(
            self.options.max_downtime_ms)

    def allowed(self):
        return [a for a in self.options.algorithms if a in self.algorithms]

    def ranked(self, vm, gbit_s):
        """The fitting allowed algorithms, least time first (then fewest
        bytes, then the order of ``options.algorithms``)."""
        fitting = [a for a in self.allowed() if self.fits(vm, a, gbit_s)]
        return sorted(fitting, key=lambda a: (
            self.predict(vm, a, gbit_s, high=True).total_s,
            self.predict(vm, a, gbit_s).bytes_sent))

    def best(self, vm, gbit_s):
        """The fitting allowed algorithm with the least time, or None."""
        ranked = self.ranked(vm, gbit_s)
        return ranked[0] if ranked else None


#: a two-hop path between switches carries flows (ECMP) when it is at least
#: this fraction as wide as the widest path
ECMP_MIN_WIDTH = 0.5


class PathFinder:
    """Paths between hosts, fast in a data-centre fabric.

    A host with a single link (its NIC to its top-of-rack switch) reaches
    every other host through that switch, so its path is its NIC, then a
    path between the two switches, then the other NIC: one search per pair
    of switches instead of one per host. Between switches, flows are spread
    over the widest path and the two-hop paths nearly as wide, by a hash of
    the two hosts, as ECMP spreads them over the spines. Hosts with several
    links fall back to :meth:`~nova_livemig.graph.LinkGraph.widest_path`.

    :param graph: a :class:`~nova_livemig.graph.LinkGraph`
    """

    def __init__(self, graph):
        self.graph = graph
        self._uplink = {}
        g = graph.graph
        for node, kind in g.nodes(data='kind'):
            if kind == 'host' and g.degree(node) == 1:
                (switch,) = g.adj[node]
                if g.nodes[switch]['kind'] == 'switch':
                    self._uplink[node] = (switch, tuple(sorted(
                        (node, switch))), g.adj[node][switch]['free_gbit_s'])
        self._between = {}
        self._sw_adj = {}
        for node, kind in g.nodes(data='kind'):
            if kind == 'switch':
                self._sw_adj[node] = [
                    (nxt, attrs['free_gbit_s'])
                    for nxt, attrs in g.adj[node].items()
                    if g.nodes[nxt]['kind'] == 'switch']
        self._sw_trees = {}

    def _switch_path(self, sw_a, sw_b):
        """Widest path between two switches over switches only (hosts
        never forward), fewest hops among the widest: ``(links, width)``
        or None. One tree per source switch, cached."""
        tree = self._sw_trees.get(sw_a)
        if tree is None:
            best = {sw_a: (math.inf, 0)}
            parent = {sw_a: None}
            heap = [(-math.inf, 0, sw_a)]
            while heap:
                neg, hops, node = heapq.heappop(heap)
                if best[node] != (-neg, hops):
                    continue
                for nxt, free in self._sw_adj[node]:
                    cand = (min(-neg, free), hops + 1)
                    old = best.get(nxt)
                    if old is None or (cand[0], -cand[1]) > (old[0],
                                                             -old[1]):
                        best[nxt] = cand
                        parent[nxt] = node
                        heapq.heappush(heap, (-cand[0], cand[1], nxt))
            tree = (best, parent)
            self._sw_trees[sw_a] = tree
        best, parent = tree
        if sw_b not in best or sw_b == sw_a:
            return None
        nodes = [sw_b]
        while parent[nodes[-1]] is not None:
            nodes.append(parent[nodes[-1]])
        nodes.reverse()
        return (tuple(tuple(sorted(p)) for p in zip(nodes, nodes[1:])),
                best[sw_b][0])

    def path(self, source, destination):
        """``(link keys, free_gbit_s)``, or ``((), 0.0)`` without a path."""
        a = self._uplink.get(source)
        b = self._uplink.get(destination)
        if a is None or b is None:
            p = self.graph.widest_path(source, destination)
            return (p.links, p.free_gbit_s) if p else ((), 0.0)
        if a[0] == b[0]:
            return (a[1], b[1]), min(a[2], b[2])
        key = (a[0], b[0])
        mids = self._between.get(key)
        if mids is None:
            mids = self._middles(a[0], b[0])
            self._between[key] = mids
        if not mids:
            return (), 0.0
        mid = mids[zlib.crc32(f'{source}|{destination}'.encode())
                   % len(mids)]
        return (a[1],) + mid[0] + (b[1],), min(a[2], b[2], mid[1])

    def _middles(self, sw_a, sw_b):
        """Paths between two switches to spread flows over, as ECMP does:
        the widest path, and every two-hop path through another switch at
        least :data:`ECMP_MIN_WIDTH` as wide."""
        p = self._switch_path(sw_a, sw_b)
        if p is None:
            return []
        found = [p]
        g = self.graph.graph
        for mid in set(g.adj[sw_a]) & set(g.adj[sw_b]):
            if g.nodes[mid]['kind'] != 'switch':
                continue
            links = (tuple(sorted((sw_a, mid))), tuple(sorted((mid, sw_b))))
            if links == p[0]:
                continue
            width = min(g.adj[sw_a][mid]['free_gbit_s'],
                        g.adj[mid][sw_b]['free_gbit_s'])
            if width >= ECMP_MIN_WIDTH * p[1]:
                found.append((links, width))
        return sorted(found)

    def switch_of(self, host):
        """The switch a single-homed host hangs off, else None."""
        a = self._uplink.get(host)
        return a[0] if a else None

    def nic_gbit_s(self, host):
        """Free capacity of the host's single link (None for others)."""
        a = self._uplink.get(host)
        return a[2] if a else None
