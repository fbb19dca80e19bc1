"""Plans rendered for people: one line per migration, then the totals and
the policy's figures.

Programs read the JSON form (:meth:`nova_livemig.plan.Plan.to_primitive`,
documented in ``doc/plan-format.md``); this table is for an operator deciding
whether to run a plan. Each migration has one set of figures: the
schedule's when the plan was scheduled (:mod:`nova_livemig.cmd.outcome`),
else the plan's predictions. It is pure: it returns text and prints nothing.

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

from nova_livemig import loglines
from nova_livemig.cmd import outcome as outcome_mod
from nova_livemig.scheduling import schedule as schedule_mod

GIB = 1024 ** 3
#: scheduled rows printed before "... and N more"
MAX_ROWS = 200

_HEADER = ('VM', 'SOURCE', '->', 'DESTINATION', 'ALGORITHM', 'TIME s',
           'DOWNTIME ms', 'SENT GiB', 'NOTES')
_SCHEDULED_HEADER = ('VM', 'SOURCE', '->', 'DESTINATION', 'ALGORITHM',
                     'START s', 'END s', 'TIME s', 'DOWNTIME ms', 'SENT GiB',
                     'MIN Gbit/s', 'NOTES')
#: left-aligned columns (names and notes); the others are numbers
_LEFT = {'VM', 'SOURCE', '->', 'DESTINATION', 'ALGORITHM', 'NOTES'}


def _notes(leg, max_downtime_ms):
    notes = []
    if not leg.converges:
        notes.append('does not converge')
    elif max_downtime_ms is not None and leg.downtime_ms > max_downtime_ms:
        notes.append(f'over {max_downtime_ms:g} ms target')
    notes.extend(leg.risks)
    if leg.note:
        notes.append(leg.note)
    return ', '.join(notes)


def _heading(plan):
    summary = plan.summary or {}
    parts = [f'Plan: {plan.policy}']
    drained = summary.get('drained_hosts')
    if drained is not None:
        parts.append('draining ' + (', '.join(drained) if drained
                                    else 'no host (none in maintenance)'))
    return ', '.join(parts)


def _row(leg, scheduled, max_downtime_ms):
    cells = [leg.vm, leg.source, '->', leg.destination, leg.algorithm]
    if scheduled:
        cells += [f'{leg.start_s:.1f}', f'{leg.end_s:.1f}']
    cells += [f'{leg.total_s:.1f}', f'{leg.downtime_ms:.1f}',
              f'{leg.bytes_sent / GIB:.2f}']
    if scheduled:
        cells.append(f'{leg.gbit_s:.2f}')
    cells.append(_notes(leg, max_downtime_ms))
    return tuple(cells)


def _aligned(rows, header):
    # names come from files: a control character in one would reach the
    # terminal (the snapshot reader refuses them; this is the last guard)
    rows = [tuple(loglines.printable(cell) for cell in row)
            for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ['  '.join(cell.ljust(w) if name in _LEFT else cell.rjust(w)
                      for name, cell, w in zip(header, row, widths)).rstrip()
            for row in rows]


def render_table(plan, max_downtime_ms=None, outcome=None, schedule=None,
                 rows=MAX_ROWS):
    """A plan as an aligned text table.

    :param plan: a :class:`nova_livemig.plan.Plan`
    :param max_downtime_ms: the downtime target, to flag moves over it
    :param outcome: its :class:`~nova_livemig.cmd.outcome.Outcome`;
        default: the plan's predictions, unscheduled
    :param schedule: the plan's
        :class:`~nova_livemig.scheduling.schedule.Schedule`, for the
        makespan and its bounds (with ``outcome`` made from it)
    :param rows: scheduled rows printed before "... and N more"
    :returns: the text, without a trailing newline
    """
    outcome = outcome or outcome_mod.of_plan(plan)
    scheduled = outcome.scheduled
    header = _SCHEDULED_HEADER if scheduled else _HEADER
    legs = outcome.legs[:rows] if scheduled else outcome.legs
    lines = [_heading(plan)]
    if legs:
        lines += _aligned([header] + [_row(leg, scheduled, max_downtime_ms)
                                      for leg in legs], header)
    else:
        lines.append('No moves.')
    if len(outcome.legs) > len(legs):
        lines.append(f'... and {len(outcome.legs) - len(legs)} more '
                     '(--format json lists them all)')
    lines.append('')
    lines += summary_lines(plan, outcome, schedule)
    if outcome.unscheduled:
        lines.append(f'Not scheduled: {len(outcome.unscheduled)} move(s)')
        for u in outcome.unscheduled:
            lines.append(f'  {u.vm}  {u.source} -> {u.destination}: '
                         f'{u.reason}')
    if plan.unplaced:
        lines.append(f'Unplaced: {len(plan.unplaced)} VM(s)')
        width = max(len(u.vm) for u in plan.unplaced)
        for u in plan.unplaced:
            lines.append(f'  {u.vm.ljust(width)}  {u.reason}')
    return '\n'.join(loglines.printable(line) for line in lines)


def summary_lines(plan, outcome, schedule=None):
    """The totals under the table, then the policy's figures.

    :returns: a list of strings
    """
    lines = [f'Total: {len(outcome.legs)} move(s), '
             f'{outcome.bytes_sent / GIB:.2f} GiB sent']
    longest = f'longest downtime {outcome.max_downtime_ms:.1f} ms'
    if schedule is None:
        lines.append(f'Migration time: {outcome.sum_total_s:.1f} s (sum '
                     f'over the moves), {longest}')
    else:
        lines.append(f'Migration time: {schedule.makespan_s:.1f} s as '
                     f'scheduled (lower bound {schedule.bound_s:.1f} s: '
                     f'{schedule.bound_reason}), {longest}')
        if schedule.nova is not None and outcome.legs:
            n = schedule.nova
            lines.append(f'Nova default: {n.makespan_s:.1f} s '
                         f'({n.description}; {n.failed} pre-copies would '
                         f'not converge, {n.stuck} never find room)')
    if schedule is not None and outcome.legs:
        lines.append(f"Scheduler: switched algorithm: "
                     f"{schedule.count('switched')}, delayed: "
                     f"{schedule.count('delayed')}, temporary hops: "
                     f"{schedule.count(schedule_mod.HOP_NOTE)}")
    lines += policy_lines(plan.policy, outcome.figures)
    return lines


def policy_lines(policy, figures):
    """The figures that mean something for the policy, in words.

    >>> policy_lines('consolidate', {'hosts_in_use_before': 5,
    ...     'hosts_in_use_after': 3, 'lower_bound_hosts': 3})
    ['Consolidation: hosts in use 5 -> 3 (lower bound 3)']
    >>> policy_lines('drain', {'drained_hosts': ['h1'],
    ...     'vms_on_drained_hosts': 6, 'vms_moved_off': 5,
    ...     'hosts_emptied': []})
    ['Drain: 0 of 1 host(s) emptied, 5 of 6 VM(s) moved off']
    """
    f = figures
    if policy == 'drain' and 'vms_on_drained_hosts' in f:
        text = (f"{f.get('vms_moved_off', 0)} of "
                f"{f['vms_on_drained_hosts']} VM(s) moved off")
        if 'hosts_emptied' in f:
            text = (f"{len(f['hosts_emptied'])} of "
                    f"{len(f.get('drained_hosts', ()))} host(s) emptied, "
                    + text)
        return [f'Drain: {text}']
    if policy == 'consolidate' and 'hosts_in_use_before' in f:
        text = (f"hosts in use {f['hosts_in_use_before']} -> "
                f"{f['hosts_in_use_after']} (lower bound "
                f"{f['lower_bound_hosts']})")
        if f.get('hosts_with_power_figures'):
            text += (f", power {f['power_before_w']:.1f} W -> "
                     f"{f['power_after_w']:.1f} W "
                     f"({f['power_saved_w']:.1f} W saved)")
        return [f'Consolidation: {text}']
    if policy == 'balance' and 'stddev_before' in f:
        target = f.get('cpu_target_util')
        lines = [f"Balance: utilisation spread (stddev) "
                 f"{f['stddev_before']:.4f} -> {f['stddev_after']:.4f}, "
                 f"hosts over the {target:g} target "
                 f"{f['hosts_over_target_before']} -> "
                 f"{f['hosts_over_target_after']}, busiest host "
                 f"{f['max_util_before']:.2f} -> {f['max_util_after']:.2f}"]
        curve = _spread_curve(f.get('spread_by_moves'))
        if curve:
            lines.append('Spread by moves: ' + ', '.join(
                f'{k}: {v:.4f}' for k, v in curve)
                + (f" (stopped by {f['stopped_by']})"
                   if isinstance(f.get('stopped_by'), str) else ''))
        if f.get('hosts_not_relieved'):
            lines.append('Not relieved: '
                         + ', '.join(f['hosts_not_relieved']))
        return lines
    if policy in ('drain', 'consolidate', 'balance', 'single', 'noop'):
        return []
    scalars = [f'{k} {v}' for k, v in f.items()
               if isinstance(v, (int, float, str))]
    return [f'Summary: {", ".join(scalars)}'] if scalars else []


def _spread_curve(value):
    """``[[moves, stddev], ...]`` of a balance plan, the well-formed
    points only (a plan read from a file may carry anything).

    >>> _spread_curve([[0, 0.2], [3, 0.1], ['x', 1], 5])
    [(0, 0.2), (3, 0.1)]
    """
    if not isinstance(value, list):
        return []
    return [(p[0], p[1]) for p in value
            if isinstance(p, (list, tuple)) and len(p) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                    for x in p)]
