"""Never longer than Nova's default: which schedule of the same moves to
return.

The simulation schedules the moves its way (busiest hosts first) and also
the way Nova does by default (:mod:`.nova_default`). When its schedule is
not longer, it is returned. When it is, two other orders are tried, in
this order, and the first that is not longer than Nova's is returned:

1. the plan's order under this scheduler's rules (per-host limits, room,
   shares that keep pre-copies converging);
2. the Nova-default schedule itself, *adopted*: one outgoing migration per
   host, the plan's order, pre-copy, no incoming limit (Nova has none; the
   ``max_incoming_per_host`` of this scheduler does not apply to it).

Nova's schedule is adopted only when it carries the same moves: every
pre-copy converges and no more moves are stuck than this scheduler leaves
unscheduled. A Nova schedule that aborts pre-copies or leaves moves stuck
is shorter only because it does less; this scheduler's stands and the
explanation says so. Every outcome is said in
:attr:`~nova_livemig.scheduling.schedule.Schedule.explanation`.
"""

from nova_livemig.scheduling import schedule as schedule_mod

#: a schedule within this many seconds of Nova's is not longer (the event
#: batching of the simulation moves ends by up to 0.1 s)
TOLERANCE_S = 1e-6


def makespan_s(moves):
    return max((m.end_s for m in moves), default=0.0)


def _pct(ours, nova):
    return f'{ours:.1f} s vs {nova:.1f} s' + (
        f', {100.0 * (1.0 - ours / nova):.0f} % shorter' if nova > 0
        and ours < nova else '')


def does_same(baseline, unscheduled):
    """Nova's schedule carries the same moves as ours: every pre-copy
    converges and no more moves are stuck."""
    return baseline.failed == 0 and baseline.stuck <= len(unscheduled)


def choose(ours, baseline, nova_moves, nova_stuck, plan_order):
    """The schedule to return.

    :param ours: ``(moves, unscheduled)`` in this scheduler's order
    :param baseline: the :class:`~.schedule.Baseline` of the same moves
    :param nova_moves: the Nova-default simulation's scheduled moves
    :param nova_stuck: the :class:`~.schedule.Unscheduled` moves it never
        started
    :param plan_order: ``plan_order()``: ``(moves, unscheduled)`` in the
        plan's order under this scheduler's rules (called only when needed)
    :returns: ``(moves, unscheduled, order, explanation)``
    """
    moves, unscheduled = ours
    nova_s = baseline.makespan_s
    ours_s = makespan_s(moves)
    if ours_s <= nova_s + TOLERANCE_S:
        return (moves, unscheduled, schedule_mod.ORDER_LIVEMIG,
                f'busiest hosts first; not longer than the Nova default '
                f'({_pct(ours_s, nova_s)})')
    if not does_same(baseline, unscheduled):
        return (moves, unscheduled, schedule_mod.ORDER_LIVEMIG,
                f'busiest hosts first; the Nova default is shorter '
                f'({nova_s:.1f} s vs {ours_s:.1f} s) only because it does '
                f'less: {baseline.failed} pre-copies that do not converge '
                f'aborted, {baseline.stuck} moves stuck')
    plan_moves, plan_unscheduled = plan_order()
    plan_s = makespan_s(plan_moves)
    if (plan_s <= nova_s + TOLERANCE_S
            and len(plan_unscheduled) <= len(unscheduled)):
        return (plan_moves, plan_unscheduled, schedule_mod.ORDER_PLAN,
                f'the plan\'s order: busiest hosts first took '
                f'{ours_s:.1f} s, longer than the Nova default '
                f'({_pct(plan_s, nova_s)})')
    return (tuple(nova_moves), tuple(nova_stuck), schedule_mod.ORDER_NOVA,
            f'adopted the Nova-default order (one outgoing migration per '
            f'host, the plan\'s order, pre-copy, no incoming limit): this '
            f'scheduler\'s orders took {ours_s:.1f} s (busiest hosts first) '
            f'and {plan_s:.1f} s (the plan\'s order), Nova\'s '
            f'{nova_s:.1f} s')
