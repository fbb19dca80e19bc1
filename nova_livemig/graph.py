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
import itertools

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
