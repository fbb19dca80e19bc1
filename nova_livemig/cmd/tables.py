"""Plans rendered for people: one line per move, then the totals.

Programs read the JSON form (:meth:`nova_livemig.plan.Plan.to_primitive`,
documented in ``doc/plan-format.md``); this table is for an operator deciding
whether to run a plan. It is pure: it returns text and prints nothing.

>>> from nova_livemig import cost, plan
>>> pred = cost.Prediction('precopy', total_s=12.5, downtime_ms=48.0,
...                        bytes_sent=9 * 1024 ** 3, converges=True)
>>> p = plan.Plan('single', moves=(plan.Move('vm1', 'a', 'b', 'precopy',
...     pred),), unplaced=(plan.Unplaced('vm2', 'pinned'),))
>>> print(render_table(p))
Plan: single
VM   SOURCE  ->  DESTINATION  ALGORITHM  TIME s  DOWNTIME ms  SENT GiB  NOTES
vm1  a       ->  b            precopy      12.5         48.0      9.00
<BLANKLINE>
Total: 1 move(s), 9.00 GiB sent
Migration time: 12.5 s (sum over the moves), longest downtime 48.0 ms
Unplaced: 1 VM(s)
  vm2  pinned
"""

import dataclasses

from nova_livemig.scheduling import bounds

GIB = 1024 ** 3

_HEADER = ('VM', 'SOURCE', '->', 'DESTINATION', 'ALGORITHM', 'TIME s',
           'DOWNTIME ms', 'SENT GiB', 'NOTES')
#: columns aligned right (numbers)
_RIGHT = {5, 6, 7}


def _notes(prediction, max_downtime_ms):
    notes = []
    if not prediction.converges:
        notes.append('does not converge')
    elif (max_downtime_ms is not None
          and prediction.downtime_ms > max_downtime_ms):
        notes.append(f'over {max_downtime_ms:g} ms target')
    notes.extend(prediction.risks)
    return ', '.join(notes)


def _heading(plan):
    summary = plan.summary or {}
    parts = [f'Plan: {plan.policy}']
    drained = summary.get('drained_hosts')
    if drained is not None:
        parts.append('draining ' + (', '.join(drained) if drained
                                    else 'no host (none in maintenance)'))
    return ', '.join(parts)


def render_table(plan, max_downtime_ms=None):
    """A plan as an aligned text table.

    :param plan: a :class:`nova_livemig.plan.Plan`
    :param max_downtime_ms: the downtime target, to flag moves over it
    :returns: the text, without a trailing newline
    """
    rows = [_HEADER]
    for move in plan.moves:
        pred = move.predicted
        rows.append((move.vm, move.source, '->', move.destination,
                     move.algorithm, f'{pred.total_s:.1f}',
                     f'{pred.downtime_ms:.1f}',
                     f'{pred.bytes_sent / GIB:.2f}',
                     _notes(pred, max_downtime_ms)))
    lines = [_heading(plan)]
    if plan.moves:
        widths = [max(len(row[i]) for row in rows)
                  for i in range(len(_HEADER))]
        for row in rows:
            cells = [cell.rjust(w) if i in _RIGHT else cell.ljust(w)
                     for i, (cell, w) in enumerate(zip(row, widths))]
            lines.append('  '.join(cells).rstrip())
    else:
        lines.append('No moves.')
    total_s = sum(m.predicted.total_s for m in plan.moves)
    sent = sum(m.predicted.bytes_sent for m in plan.moves)
    longest = max((m.predicted.downtime_ms for m in plan.moves),
                  default=0.0)
    lines.append('')
    lines.append(f'Total: {len(plan.moves)} move(s), {sent / GIB:.2f} GiB '
                 'sent')
    lines.append(f'Migration time: {total_s:.1f} s (sum over the moves), '
                 f'longest downtime {longest:.1f} ms')
    if plan.unplaced:
        lines.append(f'Unplaced: {len(plan.unplaced)} VM(s)')
        width = max(len(u.vm) for u in plan.unplaced)
        for u in plan.unplaced:
            lines.append(f'  {u.vm.ljust(width)}  {u.reason}')
    return '\n'.join(lines)


#: schedule rows printed before "... and N more"
MAX_ROWS = 200


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
    return dataclasses.replace(vm, host=host)
