"""Plans for the conductor: run a policy on a snapshot and order its moves.

Pure: no I/O, no messaging. :func:`make_plan` returns the
:class:`~nova_livemig.plan.Plan` and one dict of step fields per move, with
the start, the end and the figures the scheduler
(:mod:`nova_livemig.scheduling.simulation`) gave it, and what the planner
knew of its VM (``before``, the start of its history record:
:mod:`nova_livemig.conductor.records`). :func:`replan_vm` picks a new
destination for one VM with the ``single`` policy, for a failed step.
"""

import dataclasses

from nova_livemig import graph as graph_mod
from nova_livemig import policies
from nova_livemig.conductor import records
from nova_livemig.scheduling import schedule
from nova_livemig.scheduling import simulation


def step_fields(move, start_s, end_s, snapshot=None,
                max_downtime_ms=None):
    """The columns of one step row for a :class:`~nova_livemig.plan.Move`.

    :param snapshot: the :class:`~nova_livemig.model.Snapshot` the move
        was planned on, and ``max_downtime_ms`` the downtime target, for
        the step's ``before`` (None without them)
    """
    before = None
    if snapshot is not None and move.vm in snapshot.vms:
        before = records.before_primitive(snapshot.vms[move.vm],
                                          move.bandwidth_gbit_s,
                                          max_downtime_ms)
    return {'source': move.source, 'destination': move.destination,
            'vm': move.vm, 'algorithm': move.algorithm,
            'predicted': move.predicted.to_primitive(),
            'path': [list(k) for k in move.path],
            'planned_start_s': round(start_s, 3),
            'planned_end_s': round(end_s, 3), 'before': before}


def _scheduled_fields(item, planned, algorithms, snapshot,
                      max_downtime_ms):
    """Step columns of a scheduled move: its figures are the schedule's
    (:func:`nova_livemig.scheduling.schedule.prediction`), as the offline
    plan prints them; its ``before`` has the path bandwidth of the plan's
    move (the schedule's least share for a temporary hop)."""
    move = planned.get(item.vm)
    predicted = schedule.prediction(item, move, algorithms)
    path_gbit_s = (move.bandwidth_gbit_s if move is not None
                   and move.bandwidth_gbit_s > 0 else item.min_gbit_s)
    return {'source': item.source, 'destination': item.destination,
            'vm': item.vm, 'algorithm': item.algorithm,
            'predicted': predicted.to_primitive(),
            'path': [list(k) for k in item.path],
            'planned_start_s': round(item.start_s, 3),
            'planned_end_s': round(item.end_s, 3),
            'before': (records.before_primitive(
                snapshot.vms[item.vm], path_gbit_s, max_downtime_ms)
                if item.vm in snapshot.vms else None)}


def make_plan(snapshot, policy_name, request, options, algorithms):
    """Run a policy and schedule its moves.

    The steps follow the scheduler
    (:func:`nova_livemig.scheduling.simulation.schedule`): its start and
    end times, its figures at the link shares it gives, its algorithm
    switches and temporary hops; a move it cannot schedule is listed in the
    document's ``unscheduled`` and gets no step.

    :param request: a :class:`~nova_livemig.policies.PlanRequest`
    :returns: ``(plan document, [step fields])``; the document is the
        plan's primitive plus ``schedule`` figures
    :raises InvalidInput: unknown policy, VM or host
    """
    policy = policies.load_policy(policy_name)
    graph = graph_mod.LinkGraph(snapshot)
    result = policy.plan(snapshot, graph, request, options, algorithms)
    document = result.to_primitive()
    document['left_out'] = options.left_out_primitive()
    sched = simulation.schedule(snapshot, graph, list(result.moves),
                                options, algorithms, nova=False)
    planned = {m.vm: m for m in result.moves}
    steps = [_scheduled_fields(item, planned, algorithms, snapshot,
                               options.max_downtime_ms)
             for item in sorted(sched.moves,
                                key=lambda m: (m.start_s, m.end_s, m.vm))]
    document['schedule'] = {
        'makespan_s': round(sched.makespan_s, 3),
        'unscheduled': [u.to_primitive() for u in sched.unscheduled]}
    return document, steps


def replan_vm(snapshot, vm_id, exclude, options, algorithms):
    """A new destination for one VM (a failed step), chosen as the
    ``single`` policy chooses, never one of ``exclude``.

    :returns: ``(move, None)`` or ``(None, reason)``
    """
    if vm_id not in snapshot.vms:
        return None, f'VM {vm_id} is in no host report'
    excluded = [h for h in exclude if h in snapshot.hosts]
    if excluded:
        snapshot = _hosts_closed(snapshot, excluded)
    single = policies.load_policy('single')
    graph = graph_mod.LinkGraph(snapshot)
    result = single.plan(snapshot, graph,
                         policies.PlanRequest(vms=(vm_id,)), options,
                         algorithms)
    if result.moves:
        return result.moves[0], None
    reason = result.unplaced[0].reason if result.unplaced else 'no move'
    return None, reason


def _hosts_closed(snapshot, names):
    """A copy where ``names`` take no migrations (state maintenance)."""
    hosts = dict(snapshot.hosts)
    for name in names:
        if hosts[name].state == 'up':
            hosts[name] = dataclasses.replace(hosts[name],
                                              state='maintenance')
    return dataclasses.replace(snapshot, hosts=hosts)
