"""Plan views for people and programs: steps with their progress, totals
and the predicted time left. Pure: plain dicts in, plain dicts out.

The time left is measured, not only predicted: the ratio of measured to
predicted duration of the steps completed so far scales the prediction of
the rest (a fake driver's ``time_scale`` or a cost model that is off both
show up there). Running steps count with what their progress says is left
at their current rate; pending ones with their predicted duration, divided
by the parallelism of the schedule.

>>> view = plan_view({'id': 'p', 'policy': 'drain', 'state': 'executing',
...     'origin': 'api', 'request': {}, 'document': {'schedule': {
...     'makespan_s': 10.0}}, 'error': None, 'created_at': 0.0,
...     'started_at': 0.0, 'finished_at': None, 'steps': [
...     {'id': 's1', 'seq': 0, 'attempt': 1, 'replaces': None, 'vm': 'v1',
...      'source': 'a', 'destination': 'b', 'algorithm': 'precopy',
...      'predicted': {'total_s': 10.0}, 'state': 'completed', 'host': 'b',
...      'planned_start_s': 0.0, 'planned_end_s': 10.0, 'started_at': 0.0,
...      'finished_at': 5.0, 'progress': None, 'error': None},
...     {'id': 's2', 'seq': 1, 'attempt': 1, 'replaces': None, 'vm': 'v2',
...      'source': 'a', 'destination': 'c', 'algorithm': 'precopy',
...      'predicted': {'total_s': 10.0}, 'state': 'pending', 'host': None,
...      'planned_start_s': 0.0, 'planned_end_s': 10.0, 'started_at': None,
...      'finished_at': None, 'progress': None, 'error': None}]}, now=6.0)
>>> view['totals']['done'], view['totals']['steps'], view['totals']['eta_s']
(1, 2, 2.5)
"""

DONE = ('completed', 'failed', 'aborted', 'skipped')
MIB = 1024 * 1024


def _step_view(step, now):
    predicted_s = float((step.get('predicted') or {}).get('total_s', 0.0))
    out = {k: step.get(k) for k in (
        'id', 'seq', 'attempt', 'replaces', 'vm', 'source', 'destination',
        'algorithm', 'state', 'host', 'error', 'planned_start_s',
        'planned_end_s', 'started_at', 'finished_at')}
    out['predicted_s'] = predicted_s
    out['elapsed_s'] = None
    if step.get('started_at') is not None:
        end = step.get('finished_at') or now
        out['elapsed_s'] = round(max(end - step['started_at'], 0.0), 3)
    prog = step.get('progress') or {}
    out['remaining_bytes'] = prog.get('remaining_bytes')
    out['total_bytes'] = prog.get('total_bytes')
    out['phase'] = prog.get('phase')
    rate = None
    if prog.get('elapsed_s') and prog.get('processed_bytes') is not None:
        rate = prog['processed_bytes'] / prog['elapsed_s'] / MIB
    out['rate_mib_s'] = None if rate is None else round(rate, 1)
    out['stats'] = (step.get('result') or {}).get('stats')
    return out


def _time_ratio(steps):
    """Measured over predicted duration of the completed steps (1 when
    none has completed)."""
    measured = predicted = 0.0
    for s in steps:
        if (s['state'] == 'completed' and s['elapsed_s'] is not None
                and s['predicted_s'] > 0):
            measured += s['elapsed_s']
            predicted += s['predicted_s']
    return measured / predicted if predicted else 1.0


def _eta_s(steps, makespan_s):
    ratio = _time_ratio(steps)
    running = 0.0
    for s in steps:
        if s['state'] != 'running':
            continue
        left = s['predicted_s'] * ratio - (s['elapsed_s'] or 0.0)
        if s['remaining_bytes'] is not None and s['rate_mib_s']:
            left = s['remaining_bytes'] / MIB / s['rate_mib_s']
        running = max(running, max(left, 0.0))
    pending = [s['predicted_s'] for s in steps if s['state'] == 'pending']
    total = sum(s['predicted_s'] for s in steps)
    parallel = max(total / makespan_s, 1.0) if makespan_s else 1.0
    return round(running + sum(pending) * ratio / parallel, 1)


def plan_view(plan, now):
    """A plan with its steps, their progress, and totals."""
    steps = [_step_view(s, now) for s in plan.get('steps', ())]
    counts = {}
    for s in steps:
        counts[s['state']] = counts.get(s['state'], 0) + 1
    makespan = (plan.get('document') or {}).get('schedule', {}).get(
        'makespan_s')
    view = plan_summary(plan)
    view.update(
        document=plan.get('document'), request=plan.get('request'),
        steps=steps,
        totals={'steps': len(steps),
                'done': sum(counts.get(k, 0) for k in DONE),
                'counts': counts,
                'eta_s': (0.0 if plan['state'] not in ('executing',
                                                       'aborting')
                          else _eta_s(steps, makespan)),
                'time_ratio': round(_time_ratio(steps), 4),
                'elapsed_s': _elapsed_s(plan, now)})
    return view


def _elapsed_s(plan, now):
    if plan.get('started_at') is None:
        return None
    return round((plan.get('finished_at') or now) - plan['started_at'], 3)


def plan_summary(plan):
    """The fields of a plan without its steps (``plan list``)."""
    out = {k: plan.get(k) for k in (
        'id', 'policy', 'state', 'origin', 'error', 'created_at',
        'started_at', 'finished_at')}
    out['dry_run'] = bool((plan.get('request') or {}).get('dry_run'))
    if 'step_counts' in plan:
        out['step_counts'] = plan['step_counts']
    return out


def final_placement(view):
    """``{vm: host}`` of the VMs a plan moved or tried to, from the last
    step of each (what the steps say, which is where the VMs are)."""
    out = {}
    for s in sorted(view['steps'], key=lambda s: s['seq']):
        if s['host'] is not None:
            out[s['vm']] = s['host']
    return out
