"""Plans for the conductor: run a policy on a snapshot and order its moves.

Pure: no I/O, no messaging. :func:`make_plan` returns the
:class:`~nova_livemig.plan.Plan` and one dict of step fields per move, with
the start and end the scheduler gave it
(:mod:`nova_livemig.scheduling.simulation`
when installed; else :func:`simple_schedule`). :func:`replan_vm` picks a new
destination for one VM with the ``single`` policy, for a failed step.
"""

import dataclasses
import importlib

from nova_livemig import exception
from nova_livemig import graph as graph_mod
from nova_livemig import plugins
from nova_livemig import policies


def load_algorithms(names):
    """``{name: Algorithm}``, through :mod:`nova_livemig.algorithms`."""
    from nova_livemig import algorithms
    loader = getattr(algorithms, 'load_algorithms', None)
    if loader is not None:
        return loader(names)
    return {n: plugins.load(plugins.ALGORITHMS, n) for n in names}


def load_policy(name, field='policy'):
    """:raises InvalidInput: naming the installed policies"""
    try:
        return plugins.load(plugins.POLICIES, name)
    except exception.PluginLoadError as err:
        raise exception.InvalidInput(
            field, name,
            'one of ' + ', '.join(plugins.names(plugins.POLICIES))) from err


def simple_schedule(moves, options):
    """Start and end offsets (s) for each move, in order: a move starts as
    soon as its source has fewer than ``max_outgoing_per_host`` and its
    destination fewer than ``max_incoming_per_host`` migrations running.

    >>> from nova_livemig import cost, plan
    >>> p = cost.Prediction('precopy', 10.0, 50.0, 1, True)
    >>> moves = [plan.Move('v1', 'a', 'b', 'precopy', p),
    ...          plan.Move('v2', 'a', 'c', 'precopy', p),
    ...          plan.Move('v3', 'a', 'b', 'precopy', p)]
    >>> simple_schedule(moves, plan.PlanningOptions(max_outgoing_per_host=1))
    [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]
    """
    ends = {}  # host -> list of end times of migrations out / in
    out = []
    for move in moves:
        outs = ends.setdefault(('out', move.source), [])
        ins = ends.setdefault(('in', move.destination), [])
        start = 0.0
        for busy, limit in ((outs, options.max_outgoing_per_host),
                            (ins, options.max_incoming_per_host)):
            if len(busy) >= limit:
                start = max(start, sorted(busy)[-limit])
        end = start + move.predicted.total_s
        outs.append(end)
        ins.append(end)
        out.append((start, end))
    return out


def _scheduler():
    try:
        return importlib.import_module('nova_livemig.scheduling.simulation')
    except ImportError:
        return None


def step_fields(move, start_s, end_s):
    """The columns of one step row for a :class:`~nova_livemig.plan.Move`."""
    return {'source': move.source, 'destination': move.destination,
            'vm': move.vm, 'algorithm': move.algorithm,
            'predicted': move.predicted.to_primitive(),
            'path': [list(k) for k in move.path],
            'planned_start_s': round(start_s, 3),
            'planned_end_s': round(end_s, 3)}


def _scheduled_fields(item, planned):
    """Step columns of a ``scheduling.ScheduledMove``; the prediction is
    the plan's when the scheduler kept the move as planned."""
    move = planned.get(item.vm)
    if (move is not None and move.algorithm == item.algorithm
            and (move.source, move.destination)
            == (item.source, item.destination)):
        predicted = move.predicted.to_primitive()
    else:
        predicted = {'algorithm': item.algorithm,
                     'total_s': round(item.end_s - item.start_s, 3),
                     'downtime_ms': round(item.downtime_ms, 3),
                     'bytes': int(item.bytes_sent),
                     'converges': item.converges, 'iterations': 0,
                     'slowdown': 0.0, 'risks': []}
    return {'source': item.source, 'destination': item.destination,
            'vm': item.vm, 'algorithm': item.algorithm,
            'predicted': predicted,
            'path': [list(k) for k in item.path],
            'planned_start_s': round(item.start_s, 3),
            'planned_end_s': round(item.end_s, 3)}


def make_plan(snapshot, policy_name, request, options, algorithms):
    """Run a policy and schedule its moves.

    The steps follow the scheduler
    (:func:`nova_livemig.scheduling.simulation.schedule`
    when installed, else :func:`simple_schedule`): its start and end times,
    its algorithm switches and temporary hops; a move it cannot schedule
    is listed in the document's ``unscheduled`` and gets no step.

    :param request: a :class:`~nova_livemig.policies.PlanRequest`
    :returns: ``(plan document, [step fields])``; the document is the
        plan's primitive plus ``schedule`` figures
    :raises InvalidInput: unknown policy, VM or host
    """
    policy = load_policy(policy_name)
    graph = graph_mod.LinkGraph(snapshot)
    result = policy.plan(snapshot, graph, request, options, algorithms)
    document = result.to_primitive()
    scheduling = _scheduler()
    if scheduling is None:
        times = simple_schedule(result.moves, options)
        steps = [step_fields(m, s, e)
                 for m, (s, e) in zip(result.moves, times, strict=True)]
        document['schedule'] = {
            'makespan_s': max((e for _, e in times), default=0.0),
            'unscheduled': []}
    else:
        sched = scheduling.schedule(snapshot, graph, list(result.moves),
                                    options, algorithms, nova=False)
        planned = {m.vm: m for m in result.moves}
        steps = [_scheduled_fields(item, planned) for item in sorted(
            sched.moves, key=lambda m: (m.start_s, m.end_s))]
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
    single = load_policy('single')
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
