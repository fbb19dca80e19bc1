"""Showing a fleet plan: the link graph with the moves, and the timeline.

* :func:`draw`: the picture to ``FILE.png`` (matplotlib, imported only when
  a PNG is drawn) or ``FILE.html`` (a self-contained page holding one SVG;
  nothing to install). Both render the same :func:`scene`.
* :func:`scene`: the picture as :mod:`~nova_livemig.cmd.picture.scene`
  shapes: the topology on top, the schedule's timeline
  (:mod:`~nova_livemig.cmd.picture.timeline`) under it.
* :func:`layout`: where the hosts and switches sit.
* :func:`place_labels`: which node labels are shown, so that none overlap.

Hosts sit in a row under the switch they hang off; switches one row up per
hop away from the hosts. A move follows the links it uses, host to switches
to host (:mod:`~nova_livemig.cmd.picture.routes`), coloured by algorithm,
thicker for more bytes. Above :data:`MAX_HOSTS_DRAWN` hosts, only hosts
that send or receive a move are drawn.

Host labels are written across when they fit between two hosts, else
upwards, in a font from 11 px down to 8 px; where even the smallest would
touch its neighbour, labels are thinned: the hosts moves touch are labelled
first, then switches, then the other hosts from the left, each only where
it does not overlap a label already placed.
"""

import dataclasses
import math

from nova_livemig import exception
from nova_livemig.cmd.picture import routes
from nova_livemig.cmd.picture import scene as sc
from nova_livemig.cmd.picture import timeline

#: above this many hosts, only the hosts moves touch are drawn
MAX_HOSTS_DRAWN = 300
COLOURS = {'precopy': '#1f77b4', 'autoconverge': '#ff7f0e',
           'compress': '#2ca02c', 'postcopy': '#d62728',
           'hybrid': '#9467bd'}
#: widest host row, and the widest and narrowest host spacing
ROW_MAX_PX = 2000.0
SPACING_MAX_PX = 100.0
SPACING_MIN_PX = 3.0
LEVEL_PX = 110.0
MARGIN_PX = 40.0
MIN_WIDTH_PX = 760.0
LABEL_MAX_CHARS = 24
#: above this many moves, moves are drawn thinner and fainter
CROWD_MOVES = 30


def layout(snapshot, graph, moves):
    """``{node: (x, y)}``: hosts at y=0 grouped by switch, switches above.

    >>> from nova_livemig import model, graph
    >>> snap = model.from_primitive({'version': 1, 'vms': [],
    ...     'hosts': [{'name': h, 'vcpus': 1, 'memory_mib': 1}
    ...               for h in 'ab'],
    ...     'network': {'switches': ['s'], 'links': [
    ...         {'a': 'a', 'b': 's', 'gbit_s': 1.0},
    ...         {'a': 'b', 'b': 's', 'gbit_s': 1.0}]}})
    >>> layout(snap, graph.LinkGraph(snap), ())
    {'a': (0.0, 0.0), 'b': (1.0, 0.0), 's': (0.5, 1.0)}
    """
    g = graph.graph
    hosts = list(snapshot.hosts)
    if len(hosts) > MAX_HOSTS_DRAWN:
        touched = {m.source for m in moves} | {m.destination for m in moves}
        hosts = [h for h in hosts if h in touched]
    # level of a switch: hops from the nearest host
    level = {h: 0 for h in snapshot.hosts}
    frontier = list(snapshot.hosts)
    while frontier:
        nxt = []
        for node in frontier:
            for other in g.adj[node]:
                if other not in level:
                    level[other] = level[node] + 1
                    nxt.append(other)
        frontier = nxt

    def home(host):
        sws = sorted(o for o in g.adj[host] if g.nodes[o]['kind'] == 'switch')
        return sws[0] if sws else ''
    hosts.sort(key=lambda h: (home(h), h))
    pos = {h: (float(i), 0.0) for i, h in enumerate(hosts)}
    shown = set(hosts)
    for lvl in sorted({level[s] for s in snapshot.switches
                       if s in level}):
        sws = [s for s in snapshot.switches if level.get(s) == lvl]
        placed = []
        for s in sws:
            below = [pos[o][0] for o in g.adj[s] if o in pos
                     and (o in shown or o in snapshot.switches)]
            if below:
                placed.append((sum(below) / len(below), s))
        placed.sort()
        if lvl > 1:   # spread the upper switches evenly
            width = max(len(hosts) - 1, 1)
            step = width / max(len(placed), 1)
            placed = [((i + 0.5) * step, s) for i, (_, s) in
                      enumerate(placed)]
        for x, s in placed:
            pos[s] = (x, float(lvl))
    return pos


def draw(snapshot, graph, schedule, path, title=''):
    """Draw the link graph, the moves and the timeline to ``path``.

    :param path: a file name ending in ``.png``, ``.html`` or ``.htm``
    :returns: ``path``
    :raises InvalidInput: for another file extension or an unwritable file
    """
    lower = str(path).lower()
    if not lower.endswith(('.png', '.html', '.htm')):
        raise exception.InvalidInput('--graph', path,
                                     'a file name ending in .png or .html')
    picture = scene(snapshot, graph, schedule, title)
    try:
        if lower.endswith('.png'):
            from nova_livemig.cmd.picture import png
            png.write(picture, path)
        else:
            from nova_livemig.cmd.picture import svg
            with open(path, 'w', encoding='utf-8') as f:
                f.write(svg.page(picture))
    except OSError as err:
        raise exception.InvalidInput(
            '--graph', path, f'a writable file ({err.strerror})') from err
    return path


def colour_of(algorithm):
    """The colour moves of ``algorithm`` are drawn in."""
    return COLOURS.get(algorithm, '#000000')


def caption(schedule):
    """One line saying what the schedule amounts to."""
    text = (f'{len(schedule.moves)} moves; makespan '
            f'{schedule.makespan_s:.1f} s, bound {schedule.bound_s:.1f} s')
    if schedule.nova is not None:
        text += f'; Nova default {schedule.nova.makespan_s:.1f} s'
    return text


def place_labels(candidates, gap_px=1.0):
    """The :class:`~scene.Text` labels, in priority order, that fit.

    A candidate is a label or a tuple of places to try for it, in order.
    A label is kept in the first place where its box keeps ``gap_px`` from
    every label kept before it, and left out if there is none.

    >>> [t.x for t in place_labels([sc.Text(x, 0, 'abc', 10.0)
    ...                             for x in (0, 5, 30)])]
    [0, 30]
    >>> [t.y for t in place_labels([sc.Text(0, 0, 'abc', 10.0),
    ...     (sc.Text(5, 0, 'abc', 10.0), sc.Text(5, 14, 'abc', 10.0))])]
    [0, 14]
    """
    kept, boxes = [], []
    for places in candidates:
        for t in places if isinstance(places, tuple) else (places,):
            box = sc.text_box(t)
            if not any(sc.overlaps(box, b, gap_px) for b in boxes):
                kept.append(t)
                boxes.append(box)
                break
    return kept


def _short(name):
    if len(name) <= LABEL_MAX_CHARS:
        return name
    return name[:LABEL_MAX_CHARS - 3] + '...'


def _host_font(names, spacing_px):
    """``(size_px, rotate_deg)`` of the host labels for this spacing."""
    longest = max((sc.text_width_px(_short(n), 1.0) for n in names),
                  default=1.0)
    for size in (11.0, 10.0, 9.0):
        if longest * size + 4 <= spacing_px:
            return size, 0
    return min(11.0, max(8.0, (spacing_px - 1) / sc.LINE_EM)), 90


def _width_px(m, top):
    return 0.8 + 3.0 * math.sqrt(m.bytes_sent / top) if top else 1.0


def scene(snapshot, graph, schedule, title=''):
    """The picture: a caption and legend, the topology, the timeline.

    :returns: a :class:`~nova_livemig.cmd.picture.scene.Scene`
    """
    pos = layout(snapshot, graph, schedule.moves)
    hosts = [n for n in pos if n in snapshot.hosts]
    switches = [n for n in pos if n not in snapshot.hosts]
    n = max(len(hosts), 1)
    spacing = min(SPACING_MAX_PX, max(SPACING_MIN_PX, ROW_MAX_PX / n))
    head = caption(schedule) if not title else title
    algos = [a for a in COLOURS if any(m.algorithm == a
                                       for m in schedule.moves)]
    algos += sorted({m.algorithm for m in schedule.moves} - set(COLOURS))
    width = max(MIN_WIDTH_PX, 2 * MARGIN_PX + spacing * (n - 1),
                2 * MARGIN_PX + sc.text_width_px(head, 13.0))
    left = (width - spacing * (n - 1)) / 2
    size, rotate = _host_font(hosts, spacing)
    label_h = (sc.LINE_EM * size if not rotate else
               max((sc.text_width_px(_short(h), size) for h in hosts),
                   default=0.0))
    levels = max((y for _, y in pos.values()), default=0.0)
    host_y = 90.0 + LEVEL_PX * levels

    def xy(node):
        x, y = pos[node]
        return round(left + x * spacing, 2), round(host_y - y * LEVEL_PX, 2)
    shapes = [sc.Text(MARGIN_PX / 2, 18.0, head, 13.0, bold=True)]
    shapes += _legend(algos, MARGIN_PX / 2, 42.0, any(
        snapshot.hosts[h].state != 'up' for h in hosts))
    for key, link in sorted(graph.links.items()):
        if link.a in pos and link.b in pos:
            shapes.append(sc.Line(
                (xy(link.a), xy(link.b)), '#c4c4c4',
                min(0.5 + math.log1p(link.free_gbit_s) / 2, 4.0),
                tip=f'{link.a} - {link.b}: {link.free_gbit_s:g} Gbit/s free'))
    dot = min(5.0, max(1.5, spacing * 0.3))
    shapes += _moves(graph, schedule, pos, xy, dot, spacing)
    for s in switches:
        x, y = xy(s)
        shapes.append(sc.Rect(x - 6, y - 6, 12, 12, '#888888', tip=s))
    for h in hosts:
        x, y = xy(h)
        state = snapshot.hosts[h].state
        shapes.append(sc.Circle(x, y, dot, '#444444' if state == 'up'
                                else 'white', stroke='#444444',
                                tip=h if state == 'up' else f'{h} ({state})'))
    placed = _labels(graph, schedule, hosts, switches, xy,
                     (size, rotate, label_h, dot))
    shapes += placed
    top = max([host_y + dot] + [sc.text_box(t)[3] for t in placed]) + 24
    gantt, height = timeline.timeline(schedule, MARGIN_PX / 2, top,
                                      width - MARGIN_PX, colour_of)
    return sc.Scene(width=round(width), height=round(top + height + 10),
                    shapes=tuple(shapes + gantt), title=head)


def _labels(graph, schedule, hosts, switches, xy, font):
    """The node labels that are shown: see :func:`place_labels`.

    :param font: ``(size_px, rotate_deg, longest_px, dot_px)`` of the host
        labels
    """
    size, rotate, label_h, dot = font
    touched = {m.source for m in schedule.moves} | {
        m.destination for m in schedule.moves}
    via = {node for m in schedule.moves
           for node in routes.route_nodes(graph, m)}
    cands = []
    for s in sorted(switches, key=lambda s: (s not in via, xy(s)[0])):
        x, y = xy(s)
        cands.append(sc.Text(x, y - 14, _short(s), 10.0, anchor='middle',
                             colour='#555555', halo=True, label_of=s))
    host_cands = []
    # a second tier, below the first, for the hosts the moves touch
    tier_px = label_h * sc.BOLD_WIDER + 4
    for h in sorted(hosts, key=lambda h: (h not in touched, xy(h)[0])):
        x, y = xy(h)
        first = sc.Text(
            x, y + dot + 3 + (size * sc.LINE_EM / 2 if not rotate else 0),
            _short(h), size, anchor='end' if rotate else 'middle',
            rotate_deg=rotate, label_of=h, halo=True,
            bold=h in touched and len(hosts) > 6)
        host_cands.append((first, dataclasses.replace(
            first, y=first.y + tier_px)) if h in touched else first)
    n_touched = sum(1 for h in hosts if h in touched)
    return place_labels(host_cands[:n_touched] + cands
                        + host_cands[n_touched:])


def _legend(algos, x, y, rings):
    """Swatches for the algorithms drawn, and the ring of a host not up."""
    out = []
    for name in algos or list(COLOURS):
        out.append(sc.Rect(x, y - 5, 10, 10, colour_of(name)))
        out.append(sc.Text(x + 14, y, name, 11.0, colour='#333333'))
        x += 30 + sc.text_width_px(name, 11.0)
    if rings:
        out.append(sc.Circle(x + 5, y, 4.5, 'white', stroke='#444444'))
        out.append(sc.Text(x + 14, y, 'host not up', 11.0,
                           colour='#333333'))
    return out


def _moves(graph, schedule, pos, xy, dot, spacing):
    """Each move along its route, side by side where routes share links."""
    moves = [m for m in schedule.moves
             if m.source in pos and m.destination in pos]
    paths = [tuple(n for n in routes.route_nodes(graph, m) if n in pos)
             for m in moves]
    lanes = routes.lanes(paths)
    top = max((m.bytes_sent for m in moves), default=0)
    gap = min(3.0, max(1.0, spacing / 8))
    # many moves: thinner and fainter, so the crowd does not hide the links
    crowd = max(0.3, min(1.0, math.sqrt(CROWD_MOVES / max(len(moves), 1))))
    out = []
    for m, nodes, lane in zip(moves, paths, lanes):
        width = _width_px(m, top) * crowd
        points = routes.offset([xy(n) for n in nodes],
                               routes.lane_offset_px(lane, gap))
        line, head = routes.arrow(points, width, dot + 1)
        hops = ', '.join(nodes[1:-1])
        tip = timeline.tip(m) + (f' via {hops}' if hops else '')
        colour = colour_of(m.algorithm)
        out.append(sc.Line(line, colour, width, alpha=0.75 * crowd,
                           tip=tip))
        out.append(sc.Polygon(head, colour, alpha=0.9 * crowd, tip=tip))
    return out
