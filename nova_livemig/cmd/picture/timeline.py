"""The schedule as a timeline (a Gantt chart) of :mod:`scene` shapes.

* :func:`timeline`: one bar per scheduled move, from ``start_s`` to
  ``end_s``, coloured by algorithm and labelled with the VM, over a time
  axis with the makespan marked. Up to :data:`MAX_ROWS` moves get a row
  each; more moves are grouped in a row per source host (concurrent moves
  of a host stacked in lanes), and the rows past :data:`MAX_LANES_TOTAL`
  lanes are summed up in one ``... N more`` line.
* :func:`nice_step`: the tick spacing of the time axis.
* :func:`tip`: the words shown when a move is pointed at.
"""

import math

from nova_livemig.cmd.picture import scene as sc

#: up to this many moves, each move gets its own row
MAX_ROWS = 30
#: lanes drawn in all when rows are grouped by source host
MAX_LANES_TOTAL = 40
#: concurrent moves of one host stacked before lanes are reused
MAX_LANES_PER_HOST = 4
ROW_PX = 16.0
BAR_PX = 11.0
FONT_PX = 10.0
SMALL_PX = 9.0
MAX_LABEL_PX = 170.0


def nice_step(span, ticks=6):
    """A step of 1, 2 or 5 times a power of ten giving about ``ticks``.

    >>> nice_step(27.0), nice_step(1800.0), nice_step(0.4)
    (5.0, 500.0, 0.1)
    """
    raw = max(span, 1e-9) / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * power >= raw * 0.8:
            return round(m * power, 12)
    return 10.0 * power


def _fit(text, size_px, width_px):
    """``text``, cut short with an ellipsis to fit ``width_px``."""
    if sc.text_width_px(text, size_px) <= width_px:
        return text
    while text and sc.text_width_px(text + '...', size_px) > width_px:
        text = text[:-1]
    return text + '...' if text else ''


def tip(m):
    """What a move's bar or line says when pointed at."""
    return (f'{m.vm}: {m.source} -> {m.destination}, {m.algorithm}, '
            f'{m.start_s:.1f}-{m.end_s:.1f} s, '
            f'{m.bytes_sent / 2 ** 30:.2f} GiB {m.note}').strip()


def _rows(moves):
    """``[(label, [(move, lane), ...], lanes)]`` and the moves left out."""
    if len(moves) <= MAX_ROWS:
        return [(m.vm, [(m, 0)], 1) for m in moves], 0, 0
    by_host = {}
    for m in moves:
        by_host.setdefault(m.source, []).append(m)
    rows, total = [], 0
    groups = sorted(by_host.items(), key=lambda kv: (kv[1][0].start_s,
                                                      kv[0]))
    for i, (host, group) in enumerate(groups):
        ends, placed = [], []
        for m in group:
            lane = next((k for k, e in enumerate(ends)
                         if e <= m.start_s + 1e-9), None)
            if lane is None:
                lane = len(ends) % MAX_LANES_PER_HOST
                if len(ends) < MAX_LANES_PER_HOST:
                    ends.append(0.0)
            ends[lane] = max(ends[lane], m.end_s)
            placed.append((m, lane))
        if total + len(ends) > MAX_LANES_TOTAL:
            rest = groups[i:]
            return rows, len(rest), sum(len(g) for _, g in rest)
        total += len(ends)
        rows.append((f'{host} ({len(group)})', placed, len(ends)))
    return rows, 0, 0


def timeline(schedule, x, y, width, colour_of):
    """Shapes of the schedule's timeline in the box from ``(x, y)``.

    :param colour_of: algorithm name -> colour
    :returns: ``(shapes, height_px)``
    """
    moves = sorted(schedule.moves, key=lambda m: (m.start_s, m.end_s,
                                                  m.vm))
    rows, more_hosts, more_moves = _rows(moves)
    if not moves:
        return [sc.Text(x, y + 8, 'Timeline: no moves', 12.0, bold=True),
                *_unscheduled(schedule, x, y + 28)], 40.0
    shapes = [sc.Text(x, y + 8, f'Timeline: {len(moves)} moves, makespan '
                      f'{schedule.makespan_s:.1f} s', 12.0, bold=True)]
    labels = [_fit(label, FONT_PX, MAX_LABEL_PX) for label, _, _ in rows]
    gx0 = x + 8 + max((sc.text_width_px(t, FONT_PX) for t in labels),
                      default=40.0)
    gx1 = x + width - 10
    span = max([schedule.makespan_s] + [m.end_s for m in moves] + [1e-6])
    step = nice_step(span)
    end = step * math.ceil(span / step - 1e-9)
    if end > 1.25 * span:
        end = span

    def tx(t):
        return round(gx0 + (gx1 - gx0) * t / end, 2)
    top = y + 40
    row_y = top
    bars = []
    grouped = len(moves) > MAX_ROWS
    for i, (label, (_, placed, n_lanes)) in enumerate(zip(labels, rows)):
        row_h = ROW_PX * n_lanes
        if grouped and i % 2:
            shapes.append(sc.Rect(x, row_y, gx1 - x, row_h, '#f2f2f2'))
        bars.append(sc.Text(gx0 - 6, row_y + row_h / 2, label, FONT_PX,
                            anchor='end'))
        for m, lane in placed:
            bars.extend(_bar(m, lane, row_y, tx, gx1, colour_of,
                             grouped=grouped))
        row_y += row_h
    if more_hosts:
        bars.append(sc.Text(gx0 + 4, row_y + ROW_PX / 2,
                            f'... {more_hosts} more hosts, '
                            f'{more_moves} moves', FONT_PX,
                            colour='#666666'))
        row_y += ROW_PX
    bottom = row_y + 4
    ticks = [round(i * step, 9) for i in range(int(end / step + 1e-9) + 1)]
    shapes += [sc.Line(((tx(t), top - 2), (tx(t), bottom)), '#e4e4e4')
               for t in ticks]
    shapes.append(sc.Line(((gx0, bottom), (gx1, bottom)), '#888888'))
    shapes += [sc.Text(tx(t), bottom + 10, f'{t:g}', SMALL_PX,
                       anchor='middle', colour='#444444') for t in ticks]
    shapes.append(sc.Text(gx1, bottom + 24, 'time (s)', SMALL_PX,
                          anchor='end', colour='#444444'))
    mk = tx(schedule.makespan_s)
    shapes.append(sc.Line(((mk, top - 8), (mk, bottom)), '#222222', 1.2,
                          dashed=True, tip='makespan'))
    shapes.append(sc.Text(mk, top - 15, f'makespan '
                          f'{schedule.makespan_s:.1f} s', SMALL_PX,
                          anchor='end' if mk > gx0 + 80 else 'start'))
    shapes += bars
    shapes += _unscheduled(schedule, x, bottom + 40)
    height = bottom + (46 if schedule.unscheduled else 30) - y
    return shapes, height


def _unscheduled(schedule, x, y):
    """A line saying how many moves could not be scheduled, if any."""
    if not schedule.unscheduled:
        return []
    return [sc.Text(x, y, f'{len(schedule.unscheduled)} moves could not be '
                    'scheduled (see the table)', FONT_PX, colour='#b00000')]


def _bar(m, lane, row_y, tx, gx1, colour_of, grouped):
    """The bar of one move, and its words where they fit.

    A row of its own is labelled with the VM, so its bar says where the VM
    goes; in a row of a host's moves, the bar names the VM.
    """
    x0, x1 = tx(m.start_s), max(tx(m.end_s), tx(m.start_s) + 1.5)
    top = row_y + lane * ROW_PX + (ROW_PX - BAR_PX) / 2
    mid = top + BAR_PX / 2
    # a hair's gap at the end keeps back-to-back bars of a lane apart
    out = [sc.Rect(x0, top, x1 - x0 - (1.0 if x1 - x0 > 4 else 0.0),
                   BAR_PX, colour_of(m.algorithm), tip=tip(m))]
    words = m.vm if grouped else f'{m.source} -> {m.destination}'
    need = sc.text_width_px(words, SMALL_PX) + 6
    if grouped:
        if need <= x1 - x0:
            out.append(sc.Text(x0 + 3, mid, words, SMALL_PX,
                               colour='white'))
    elif x1 + need <= gx1:
        out.append(sc.Text(x1 + 4, mid, words, SMALL_PX,
                           colour='#555555', halo=True))
    elif need <= x0 - tx(0.0):
        out.append(sc.Text(x0 - 4, mid, words, SMALL_PX, anchor='end',
                           colour='#555555', halo=True))
    return out
