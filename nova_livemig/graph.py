"""The link graph: hosts and switches joined by links of known bandwidth.

The graph is held by composition (a :class:`networkx.Graph` inside
:class:`LinkGraph`, not a subclass of it). Migration traffic between two hosts
follows the *widest path*: the path whose narrowest link has the most free
capacity (capacity less background use); among equally wide paths, the one
with fewest hops. All widest paths from one source are found in one pass and
cached, so ranking thousands of destinations costs one search per source.
:class:`PathFinder` finds paths faster still in a data-centre fabric, and
spreads flows between switches over the paths nearly as wide, as ECMP does.

>>> from nova_livemig import model
>>> snap = model.from_primitive({'version': 1,
...     'hosts': [{'name': h, 'vcpus': 8, 'memory_mib': 8192}
...               for h in ('a', 'b', 'c')],
...     'vms': [],
...     'network': {'switches': ['s1', 's2'], 'links': [
...         {'a': 'a', 'b': 's1', 'gbit_s': 25.0, 'used_gbit_s': 5.0},
...         {'a': 'b', 'b': 's1', 'gbit_s': 10.0},
...         {'a': 'c', 'b': 's2', 'gbit_s': 25.0},
...         {'a': 's1', 'b': 's2', 'gbit_s': 40.0}]}})
>>> g = LinkGraph(snap)
>>> p = g.widest_path('a', 'c')
>>> p.nodes, p.free_gbit_s
(('a', 's1', 's2', 'c'), 20.0)
>>> g.widest_path('a', 'b').free_gbit_s
10.0
"""

import dataclasses
import heapq
import itertools
import math
import zlib

import networkx as nx

from nova_livemig import exception


@dataclasses.dataclass(frozen=True)
class Path:
    """A route between two hosts.

    :ivar nodes: hosts and switches from source to destination
    :ivar links: link keys (sorted node-name pairs) along the route
    :ivar free_gbit_s: free capacity of the narrowest link
    """
    nodes: tuple
    links: tuple
    free_gbit_s: float


class LinkGraph:
    """Hosts and switches as nodes; links carry ``gbit_s`` and ``used_gbit_s``.

    :param snapshot: a validated :class:`nova_livemig.model.Snapshot`
    """

    def __init__(self, snapshot):
        self._graph = nx.Graph()
        for name in snapshot.hosts:
            self._graph.add_node(name, kind='host')
        for name in snapshot.switches:
            self._graph.add_node(name, kind='switch')
        self._links = {}
        for link in snapshot.links:
            self._graph.add_edge(link.a, link.b, gbit_s=link.gbit_s,
                                 used_gbit_s=link.used_gbit_s,
                                 free_gbit_s=link.free_gbit_s)
            self._links[link.key] = link
        self._trees = {}

    @property
    def graph(self):
        """The underlying networkx graph (read it, do not change it)."""
        return self._graph

    def link(self, key):
        """The :class:`~nova_livemig.model.Link` for a link key."""
        return self._links[key]

    @property
    def links(self):
        """All links, by key."""
        return dict(self._links)

    def _tree(self, source):
        """Labels of every node reachable from ``source``.

        ``labels[node]`` lists ``(free_gbit_s, hops, parent, parent_index)``
        with hops increasing and bandwidth strictly increasing: the Pareto
        front of (wider, fewer hops). Its last label is the widest path and,
        among the widest, the one with fewest hops. A plain widest-path
        Dijkstra cannot keep that tie-break exact: a path that is narrower
        but shorter to an intermediate node can become the best one further
        on, once a narrower link evens the widths out. Nodes are settled in
        breadth-first layers, so the cost is O(diameter x links), a handful
        of layers in a data-centre fabric.
        """
        labels = self._trees.get(source)
        if labels is not None:
            return labels
        nodes = self._graph.nodes
        if source not in nodes:
            raise exception.NotFound('host', source)
        adj = self._graph.adj
        labels = {source: [(float('inf'), 0, None, 0)]}
        frontier = [(source, 0)]
        hops = 0
        while frontier:
            hops += 1
            found = {}
            for node, index in frontier:
                # Switches forward traffic; a host other than the source
                # does not.
                if node != source and nodes[node]['kind'] == 'host':
                    continue
                width = labels[node][index][0]
                for nxt, attrs in adj[node].items():
                    cand = min(width, attrs['free_gbit_s'])
                    have = labels.get(nxt)
                    if have is not None and cand <= have[-1][0]:
                        continue
                    old = found.get(nxt)
                    if old is None or cand > old[0]:
                        found[nxt] = (cand, node, index)
            frontier = []
            for nxt, (cand, node, index) in found.items():
                labels.setdefault(nxt, []).append((cand, hops, node, index))
                frontier.append((nxt, len(labels[nxt]) - 1))
        self._trees[source] = labels
        return labels

    def bandwidth_gbit_s(self, source, destination):
        """Free capacity of the widest path, 0.0 if there is none."""
        labels = self._tree(source)
        if destination not in self._graph:
            raise exception.NotFound('host', destination)
        if destination == source:
            return float('inf')
        found = labels.get(destination)
        return found[-1][0] if found else 0.0

    def widest_path(self, source, destination):
        """The widest path between two hosts.

        :returns: a :class:`Path`, or None when no path exists
        :raises NotFound: for a name that is not in the graph
        """
        labels = self._tree(source)
        if destination not in self._graph:
            raise exception.NotFound('host', destination)
        if destination not in labels or destination == source:
            return None
        width = labels[destination][-1][0]
        nodes = [destination]
        node, index = destination, len(labels[destination]) - 1
        while True:
            _, _, parent, index = labels[node][index]
            if parent is None:
                break
            nodes.append(parent)
            node = parent
        nodes.reverse()
        links = tuple(tuple(sorted(pair))
                      for pair in itertools.pairwise(nodes))
        return Path(nodes=tuple(nodes), links=links, free_gbit_s=width)


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
    links fall back to :meth:`LinkGraph.widest_path`.

    :param graph: a :class:`LinkGraph`
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
