"""Where a move goes on the plan picture: along the links it uses.

* :func:`route_nodes`: the hosts and switches a move crosses, from the
  move's own path (the links the scheduler gave it) or else the widest
  path, the one the planner would use.
* :func:`lanes`: a lane per move, so that moves sharing a link run side by
  side instead of on top of each other.
* :func:`offset`: a polyline shifted sideways by a lane's distance.
* :func:`arrow`: the line of a move ending in an arrowhead at its target.
"""

import itertools
import math

#: lanes beside a link before they are used again
MAX_LANES = 9


def route_nodes(graph, move):
    """Hosts and switches from ``move.source`` to ``move.destination``.

    :param graph: a :class:`nova_livemig.graph.LinkGraph`
    :param move: anything with ``source``, ``destination`` and ``path``
        (link keys in route order, possibly empty)

    >>> from types import SimpleNamespace as M
    >>> route_nodes(None, M(source='a', destination='b',
    ...                     path=(('a', 's'), ('b', 's'))))
    ('a', 's', 'b')
    """
    nodes = [move.source]
    for key in move.path or ():
        if nodes[-1] not in key:
            break
        nodes.append(key[1] if key[0] == nodes[-1] else key[0])
    if len(nodes) > 1 and nodes[-1] == move.destination:
        return tuple(nodes)
    found = graph.widest_path(move.source, move.destination)
    return found.nodes if found else (move.source, move.destination)


def lanes(routes):
    """A lane number per route: the lowest one free on all of its links.

    >>> lanes([('a', 's', 'b'), ('a', 's', 'c'), ('d', 't', 'e')])
    [0, 1, 0]
    """
    taken = {}
    out = []
    for nodes in routes:
        keys = [tuple(sorted(p)) for p in itertools.pairwise(nodes)]
        used = set().union(*(taken.get(k, ()) for k in keys))
        lane = next(i for i in itertools.count() if i not in used)
        for key in keys:
            taken.setdefault(key, set()).add(lane)
        out.append(lane)
    return out


def lane_offset_px(lane, gap_px):
    """Sideways distance of a lane: 0, +gap, -gap, +2 gap, ...

    >>> [lane_offset_px(i, 2.0) for i in range(4)]
    [0.0, 2.0, -2.0, 4.0]
    """
    lane %= MAX_LANES
    return gap_px * ((lane + 1) // 2) * (1 if lane % 2 else -1) + 0.0


def offset(points, d):
    """``points`` shifted by ``d`` to the left of the direction of travel.

    Corners are mitred (the miter capped at three times ``d``), so the
    shifted line stays parallel to every segment.

    >>> offset(((0, 0), (10, 0)), 2.0)
    ((0.0, -2.0), (10.0, -2.0))
    """
    if not d or len(points) < 2:
        return tuple(points)
    normals = []
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        n = math.hypot(x2 - x1, y2 - y1) or 1.0
        normals.append(((y2 - y1) / n, (x1 - x2) / n))
    out = []
    for i, (x, y) in enumerate(points):
        a = normals[max(i - 1, 0)]
        b = normals[min(i, len(normals) - 1)]
        mx, my = a[0] + b[0], a[1] + b[1]
        n = math.hypot(mx, my)
        scale = d * min(2.0 / n, 3.0) if n > 1e-9 else d
        if n <= 1e-9:
            mx, my, n = b[0], b[1], 1.0
        out.append((round(x + mx / n * scale, 2),
                    round(y + my / n * scale, 2)))
    return tuple(out)


def arrow(points, width_px, gap_px):
    """A move's line and arrowhead: ``(line_points, head_points)``.

    The tip stops ``gap_px`` short of the last point (the edge of the
    target's dot), and the line stops at the arrowhead's base.

    >>> arrow(((0, 0), (100, 0)), 1.0, 5.0)
    (((0, 0), (87.5, 0.0)), ((95.0, 0.0), (87.5, 3.1), (87.5, -3.1)))
    """
    (x1, y1), (x2, y2) = points[-2], points[-1]
    n = math.hypot(x2 - x1, y2 - y1) or 1.0
    ux, uy = (x2 - x1) / n, (y2 - y1) / n
    length = min(6.0 + 1.5 * width_px, n / 2)
    half = 2.5 + 0.6 * width_px
    tip = (x2 - ux * gap_px, y2 - uy * gap_px)
    base = (tip[0] - ux * length, tip[1] - uy * length)
    head = (tip, (base[0] - uy * half, base[1] + ux * half),
            (base[0] + uy * half, base[1] - ux * half))

    def r(p):
        return (round(p[0], 2), round(p[1], 2))
    return (tuple(points[:-1]) + (r(base),), tuple(r(p) for p in head))
