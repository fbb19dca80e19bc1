"""Showing a fleet plan: the link graph as a picture.

* :func:`draw`: the link graph with the moves on it, to ``FILE.png``
  (matplotlib, imported only when a PNG is drawn) or ``FILE.html`` (a
  self-contained page holding one SVG; nothing to install).

Hosts sit in a row under the switch they hang off; switches one row up per
hop away from the hosts. Moves are arcs from source to destination, coloured
by algorithm, thicker for more bytes. Above :data:`MAX_HOSTS_DRAWN` hosts,
only hosts that send or receive a move are drawn.
"""

import html
import math

from nova_livemig import exception

#: above this many hosts, only the hosts moves touch are drawn
MAX_HOSTS_DRAWN = 300
COLOURS = {'precopy': '#1f77b4', 'autoconverge': '#ff7f0e',
           'compress': '#2ca02c', 'postcopy': '#d62728',
           'hybrid': '#9467bd'}


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
    """Draw the link graph and the moves to ``path`` (.png or .html).

    :raises InvalidInput: for another file extension or an unwritable file
    """
    lower = str(path).lower()
    if lower.endswith('.png'):
        return _draw_png(snapshot, graph, schedule, path, title)
    if lower.endswith(('.html', '.htm')):
        return _draw_html(snapshot, graph, schedule, path, title)
    raise exception.InvalidInput('--graph', path,
                                 'a file name ending in .png or .html')


def _edges(graph, pos):
    for key, link in graph.links.items():
        if link.a in pos and link.b in pos:
            yield link, pos[link.a], pos[link.b]


def _width(m, top):
    return 0.8 + 3.0 * math.sqrt(m.bytes_sent / top) if top else 1.0


def _draw_png(snapshot, graph, schedule, path, title):
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import patches
    from matplotlib import pyplot as plt

    pos = layout(snapshot, graph, schedule.moves)
    hosts = [n for n in pos if n in snapshot.hosts]
    fig, ax = plt.subplots(figsize=(min(4 + 0.25 * len(hosts), 60), 6))
    for link, (x1, y1), (x2, y2) in _edges(graph, pos):
        ax.plot([x1, x2], [y1, y2], color='#bbbbbb', zorder=1,
                linewidth=0.5 + math.log1p(link.free_gbit_s) / 2)
    ax.scatter([pos[h][0] for h in hosts], [0.0] * len(hosts), s=30,
               color='#444444', zorder=3)
    sws = [n for n in pos if n not in snapshot.hosts]
    ax.scatter([pos[s][0] for s in sws], [pos[s][1] for s in sws],
               marker='s', s=60, color='#888888', zorder=3)
    if len(pos) <= 80:
        for n, (x, y) in pos.items():
            ax.annotate(n, (x, y), fontsize=7, ha='center',
                        xytext=(0, -12 if y == 0 else 8),
                        textcoords='offset points')
    top = max((m.bytes_sent for m in schedule.moves), default=0)
    for m in schedule.moves:
        if m.source not in pos or m.destination not in pos:
            continue
        ax.add_patch(patches.FancyArrowPatch(
            pos[m.source], pos[m.destination], arrowstyle='-|>',
            mutation_scale=8, connectionstyle='arc3,rad=-0.35',
            color=COLOURS.get(m.algorithm, 'black'), alpha=0.7,
            linewidth=_width(m, top), zorder=2))
    for name, colour in COLOURS.items():
        ax.plot([], [], color=colour, label=name)
    ax.legend(loc='upper right', fontsize=7)
    ax.set_title(title or _caption(schedule), fontsize=9)
    ax.axis('off')
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as err:
        raise exception.InvalidInput(
            '--graph', path, f'a writable file ({err.strerror})') from err
    finally:
        plt.close(fig)
    return path


def _caption(schedule):
    return (f'{len(schedule.moves)} moves; makespan '
            f'{schedule.makespan_s:.1f} s, bound {schedule.bound_s:.1f} s')


def _draw_html(snapshot, graph, schedule, path, title):
    pos = layout(snapshot, graph, schedule.moves)
    n_hosts = sum(1 for n in pos if n in snapshot.hosts)
    sx = 28.0
    sy = 120.0
    levels = max((y for _, y in pos.values()), default=0.0)
    width = 60 + sx * max(n_hosts, 2)
    height = 120 + sy * levels

    def xy(node):
        x, y = pos[node]
        return 30 + x * sx, height - 60 - y * sy
    out = []
    for link, _, _ in _edges(graph, pos):
        (x1, y1), (x2, y2) = xy(link.a), xy(link.b)
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" '
                   f'y2="{y2:.1f}" stroke="#bbb" stroke-width="'
                   f'{0.5 + math.log1p(link.free_gbit_s) / 2:.2f}">'
                   f'<title>{html.escape(f"{link.a} - {link.b}")}: '
                   f'{link.free_gbit_s:g} Gbit/s free</title></line>')
    top = max((m.bytes_sent for m in schedule.moves), default=0)
    for m in schedule.moves:
        if m.source not in pos or m.destination not in pos:
            continue
        (x1, y1), (x2, y2) = xy(m.source), xy(m.destination)
        cx, cy = (x1 + x2) / 2, y1 - 20 - abs(x2 - x1) * 0.3
        colour = COLOURS.get(m.algorithm, 'black')
        tip = (f'{m.vm}: {m.source} -> {m.destination}, {m.algorithm}, '
               f'{m.start_s:.1f}-{m.end_s:.1f} s, '
               f'{m.bytes_sent / 2 ** 30:.2f} GiB {m.note}')
        out.append(f'<path d="M{x1:.1f},{y1:.1f} Q{cx:.1f},{cy:.1f} '
                   f'{x2:.1f},{y2:.1f}" fill="none" stroke="{colour}" '
                   f'stroke-opacity="0.7" stroke-width="'
                   f'{_width(m, top):.2f}" marker-end="url(#arrow)">'
                   f'<title>{html.escape(tip)}</title></path>')
    for node in pos:
        x, y = xy(node)
        label = html.escape(node)
        if node in snapshot.hosts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" '
                       f'fill="#444"><title>{label}</title></circle>')
            if n_hosts <= 80:
                out.append(f'<text x="{x:.1f}" y="{y + 16:.1f}" '
                           f'font-size="8" text-anchor="middle" '
                           f'transform="rotate(30 {x:.1f} {y + 16:.1f})">'
                           f'{label}</text>')
        else:
            out.append(f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" '
                       f'height="12" fill="#888"><title>{label}</title>'
                       f'</rect><text x="{x:.1f}" y="{y - 10:.1f}" '
                       f'font-size="9" text-anchor="middle">{label}</text>')
    legend = ' '.join(f'<span style="color:{c}">&#9632; {a}</span>'
                      for a, c in COLOURS.items())
    caption = html.escape(title or _caption(schedule))
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<title>{caption}</title></head>\n<body style="font-family:'
        f'sans-serif"><p>{caption}</p><p>{legend}</p>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}"><defs><marker id="arrow" markerWidth="6" '
        'markerHeight="6" refX="5" refY="3" orient="auto">'
        '<path d="M0,0 L6,3 L0,6 z" fill="#333"/></marker></defs>\n'
        + '\n'.join(out) + '\n</svg></body></html>\n')
    try:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(page)
    except OSError as err:
        raise exception.InvalidInput(
            '--graph', path, f'a writable file ({err.strerror})') from err
    return path
