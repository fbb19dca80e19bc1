"""The link graph: hosts and switches joined by links of known bandwidth.

The graph is held by composition (a :class:`networkx.Graph` inside
:class:`LinkGraph`, not a subclass of it). Migration traffic between two hosts
follows the *widest path*: the path whose narrowest link has the most free
capacity (capacity less background use); among equally wide paths, the one
with fewest hops. All widest paths from one source are found in one pass and
cached, so ranking thousands of destinations costs one search per source.

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
        tree = self._trees.get(source)
        if tree is not None:
            return tree
        if source not in self._graph:
            raise exception.NotFound('host', source)
        # Widest-path Dijkstra: maximise the bottleneck, then minimise hops.
        best = {source: (float('inf'), 0)}
        parent = {source: None}
        heap = [(-float('inf'), 0, source)]
        done = set()
        adj = self._graph.adj
        while heap:
            neg_bw, hops, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            # Switches forward traffic; a host other than the source does not.
            if node != source and self._graph.nodes[node]['kind'] == 'host':
                continue
            for nxt, attrs in adj[node].items():
                if nxt in done:
                    continue
                cand = (min(-neg_bw, attrs['free_gbit_s']), hops + 1)
                old = best.get(nxt)
                if old is None or (cand[0], -cand[1]) > (old[0], -old[1]):
                    best[nxt] = cand
                    parent[nxt] = node
                    heapq.heappush(heap, (-cand[0], cand[1], nxt))
        tree = (best, parent)
        self._trees[source] = tree
        return tree

    def bandwidth_gbit_s(self, source, destination):
        """Free capacity of the widest path, 0.0 if there is none."""
        best, _ = self._tree(source)
        if destination not in self._graph:
            raise exception.NotFound('host', destination)
        if destination == source:
            return float('inf')
        return best.get(destination, (0.0, 0))[0]

    def widest_path(self, source, destination):
        """The widest path between two hosts.

        :returns: a :class:`Path`, or None when no path exists
        :raises NotFound: for a name that is not in the graph
        """
        best, parent = self._tree(source)
        if destination not in self._graph:
            raise exception.NotFound('host', destination)
        if destination not in parent or destination == source:
            return None
        nodes = [destination]
        while parent[nodes[-1]] is not None:
            nodes.append(parent[nodes[-1]])
        nodes.reverse()
        links = tuple(tuple(sorted(pair)) for pair in zip(nodes, nodes[1:]))
        return Path(nodes=tuple(nodes), links=links,
                    free_gbit_s=best[destination][0])
