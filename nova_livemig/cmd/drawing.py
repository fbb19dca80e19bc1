"""Showing a fleet plan: the schedule as text, the link graph as a picture.

* :func:`schedule_report`: the summary and the schedule of a plan, as the
  lines ``nova-livemig plan`` prints.
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
from nova_livemig.scheduling import bounds

#: above this many hosts, only the hosts moves touch are drawn
MAX_HOSTS_DRAWN = 300
#: schedule rows printed before "... and N more"
MAX_ROWS = 200
COLOURS = {'precopy': '#1f77b4', 'autoconverge': '#ff7f0e',
           'compress': '#2ca02c', 'postcopy': '#d62728',
           'hybrid': '#9467bd'}


def schedule_report(snapshot, result, schedule, options, rows=MAX_ROWS):
    """The lines that summarise a plan and its schedule.

    :param result: the :class:`~nova_livemig.plan.Plan`
    :param schedule: its :class:`~nova_livemig.scheduling.simulation.Schedule`
    :returns: a list of strings
    """
    s = result.summary
    bound = s.get('lower_bound_hosts')
    if bound is None:
        bound = bounds.active_hosts(
            snapshot, options.cpu_target_util,
            drained=s.get('drained_hosts', ())).hosts
    before = s.get('hosts_in_use_before', bounds.hosts_in_use(snapshot))
    after_snap = snapshot.with_vms([_moved(snapshot.vms[m.vm],
                                           m.destination)
                                    for m in schedule.moves
                                    if not m.note.startswith('hop: via')])
    after = bounds.hosts_in_use(after_snap)
    gib = sum(m.bytes_sent for m in schedule.moves) / 2 ** 30
    lines = [
        f'policy {result.policy}: hosts in use {before} -> {after} '
        f'(lower bound {bound})',
        f'migrations: {len(schedule.moves)} scheduled, '
        f'{len(schedule.unscheduled)} not scheduled, {gib:.1f} GiB moved',
        f'makespan: {schedule.makespan_s:.1f} s predicted; lower bound '
        f'{schedule.bound_s:.1f} s ({schedule.bound_reason})',
    ]
    if schedule.nova is not None:
        n = schedule.nova
        lines.append(f'Nova default: {n.makespan_s:.1f} s ({n.description};'
                     f' {n.failed} pre-copies would not converge, '
                     f'{n.stuck} never find room)')
    lines.append(f"switched algorithm: {schedule.count('switched')}, "
                 f"delayed: {schedule.count('delayed')}, "
                 f"temporary hops: {schedule.count('hop: via')}")
    for key in ('power_saved_w', 'stddev_before', 'stddev_after',
                'hosts_over_target_before', 'hosts_over_target_after'):
        if key in s:
            lines.append(f'{key}: {s[key]}')
    lines.append('')
    lines.append(f"{'start_s':>9} {'end_s':>9}  {'vm':<14} "
                 f"{'source -> destination':<34} {'algorithm':<12} "
                 f"{'min Gbit/s':>10}  note")
    for m in schedule.moves[:rows]:
        lines.append(f'{m.start_s:9.1f} {m.end_s:9.1f}  {m.vm:<14} '
                     f"{m.source + ' -> ' + m.destination:<34} "
                     f'{m.algorithm:<12} {m.min_gbit_s:10.2f}  {m.note}')
    if len(schedule.moves) > rows:
        lines.append(f'... and {len(schedule.moves) - rows} more '
                     '(--format json lists them all)')
    for u in schedule.unscheduled:
        lines.append(f'NOT SCHEDULED {u.vm} {u.source} -> {u.destination}: '
                     f'{u.reason}')
    return lines


def _moved(vm, host):
    import dataclasses
    return dataclasses.replace(vm, host=host)


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


# -- ``nova-livemig plan`` (called from nova_livemig.cmd.whatif) ------

#: policies whose plans are scheduled and summarised by default
SCHEDULED_POLICIES = ('consolidate', 'balance', 'drain')


def add_arguments(group):
    """The fleet options of ``nova-livemig plan``."""
    group.add_argument('--rack', action='append', default=[],
                       metavar='SWITCH',
                       help='drain every host linked to this switch '
                            '(drain; repeatable, adds to --host)')
    group.add_argument('--graph', metavar='FILE',
                       help='draw the link graph with the moves to FILE '
                            '(.png, or .html for a self-contained page)')
    group.add_argument('--no-schedule', action='store_true',
                       help='do not schedule the moves (consolidate, '
                            'balance and drain are scheduled by default)')


def rack_hosts(args, snapshot):
    """The hosts linked to the ``--rack`` switches.

    :raises InvalidInput: for a name that is not a switch of the snapshot
    """
    found = []
    for switch in getattr(args, 'rack', None) or ():
        if switch not in snapshot.switches:
            raise exception.InvalidInput(
                '--rack', switch, 'a switch of the snapshot: '
                + ', '.join(list(snapshot.switches)[:10]))
        for link in snapshot.links:
            for a, b in ((link.a, link.b), (link.b, link.a)):
                if a == switch and b in snapshot.hosts and b not in found:
                    found.append(b)
    return found


def cli_schedule(args, snapshot, graph, result, options, algorithms):
    """Schedule a plan for ``nova-livemig plan`` and draw it if asked.

    :returns: ``(text, primitive)``, both None when nothing was scheduled
    """
    from nova_livemig.scheduling import simulation
    wanted = (result.policy in SCHEDULED_POLICIES
              and not getattr(args, 'no_schedule', False))
    graph_file = getattr(args, 'graph', None)
    if not (wanted or graph_file):
        return None, None
    sched = simulation.schedule(snapshot, graph, result.moves, options,
                                algorithms)
    if graph_file:
        draw(snapshot, graph, sched, graph_file)
    lines = schedule_report(snapshot, result, sched, options)
    return '\n'.join(lines), sched.to_primitive()
