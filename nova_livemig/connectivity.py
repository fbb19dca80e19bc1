"""Whether the hosts of a snapshot can reach each other for migration.

Migration traffic goes over links, through switches only: hosts do not
forward it (see :mod:`nova_livemig.graph`). Switches joined by links form
*fabrics*. Two hosts are connected when they touch the same fabric or share
a direct link. The fabric most hosts touch is the cluster's; a host off it
is cut off unless it has a direct link to every other host (a two-host lab,
say).

Pure: names and links in, the hosts cut off out. The snapshot reader
(:mod:`nova_livemig.model`) turns them into errors.

>>> import collections
>>> Link = collections.namedtuple('Link', 'a b')
>>> cut_off(['h1', 'h2', 'h3'], ['tor'],
...         [Link('h1', 'tor'), Link('h2', 'tor')])
[(2, 'h3', 'h1')]
>>> cut_off(['h1', 'h2'], [], [Link('h1', 'h2')])
[]
"""


def cut_off(hosts, switches, links):
    """The hosts that cannot reach every other host.

    :param hosts: host names, in snapshot order
    :param switches: switch names
    :param links: values with ``a`` and ``b``, each a host or switch name
    :returns: ``[(index in hosts, host name, a host it cannot reach)]``;
        the host named is on the cluster's fabric when one can be
    """
    names = list(hosts)
    if len(names) < 2:
        return []
    hosts = set(names)
    parent = {s: s for s in switches}

    def root(node):
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    direct = {h: set() for h in names}
    touches = {h: set() for h in names}
    for link in links:
        a_host, b_host = link.a in hosts, link.b in hosts
        if not a_host and not b_host:
            parent[root(link.a)] = root(link.b)
        elif a_host and b_host:
            direct[link.a].add(link.b)
            direct[link.b].add(link.a)
    for link in links:
        for end, other in ((link.a, link.b), (link.b, link.a)):
            if end in hosts and other not in hosts:
                touches[end].add(root(other))
    count = {}
    for fabrics in touches.values():
        for fabric in fabrics:
            count[fabric] = count.get(fabric, 0) + 1
    main = max(count, key=count.get) if count else None
    on_main = [h for h in names if main in touches[h]]
    out = []
    for i, name in enumerate(names):
        if main in touches[name]:
            continue
        missing = hosts - {name} - direct[name]
        if not missing:
            continue
        peer = next(h for h in on_main + names if h in missing)
        out.append((i, name, peer))
    return out
