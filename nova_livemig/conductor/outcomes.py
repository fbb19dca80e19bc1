"""How the steps and plans of an executing plan end, and what follows.

Pure: plain step dicts in, decisions out; the runner
(:mod:`nova_livemig.conductor.runner`) writes them to the database.

* Every step ends saying where its VM is (``host``). A step whose agent is
  gone, or does not know the step, ends by the live model's word
  (:func:`lost_result`).
* A step whose MigrationStep never reached its agent (:data:`LOST`) is sent
  again as it was, as a new step, up to :data:`LOST_RETRIES` times.
* Any other failed or aborted step, and a pending one whose destination is
  gone, is re-planned: a new step for its VM, from where it is, to a
  destination no earlier attempt failed on, up to ``max_attempts``
  (:func:`next_attempt`).
* A plan ends when no step is pending or running: completed when the last
  step of every VM left it on its destination, failed otherwise, naming the
  VMs (:func:`plan_end`).

>>> def step(seq, vm, state, host, destination, error=None):
...     return {'id': f's{seq}', 'seq': seq, 'vm': vm, 'state': state,
...             'host': host, 'destination': destination, 'error': error}
>>> steps = [step(0, 'v1', 'failed', 'a', 'b', 'boom'),
...          step(1, 'v1', 'completed', 'c', 'c'),
...          step(2, 'v2', 'failed', 'a', 'd', f'agent gone ({LOST})')]
>>> plan_end(steps)
('failed', 'VMs not moved (they stay where their last step says): v2')
>>> next_attempt(steps[2], steps)
NextAttempt(resend=True, exclude={'d'}, attempts=0)
>>> sorted(next_attempt(steps[0], steps[:1]).exclude)
['b']
"""

import typing

#: marks a step whose MigrationStep never reached its agent
LOST = 'message lost'
#: times a step whose message was lost is sent again (a new step id)
LOST_RETRIES = 3
#: what a step sent again keeps of the step it replaces
_RESENT_FIELDS = ('source', 'destination', 'algorithm', 'predicted', 'path',
                  'planned_start_s', 'planned_end_s', 'before')


def last_steps(steps):
    """The last step (highest seq) of every VM of a plan."""
    out = {}
    for s in sorted(steps, key=lambda s: s['seq']):
        out[s['vm']] = s
    return out


def reached(step):
    """True when the step left its VM on its destination."""
    return (step['state'] in ('completed', 'skipped')
            and step['host'] == step['destination'])


def plan_end(steps):
    """How a plan ends once none of its steps is pending or running.

    :param steps: every step dict of the plan
    :returns: ``('completed', None)`` or ``('failed', why)``; None while a
        step is pending or running
    """
    if any(s['state'] in ('pending', 'running') for s in steps):
        return None
    stuck = [vm for vm, s in last_steps(steps).items() if not reached(s)]
    if stuck:
        return ('failed', 'VMs not moved (they stay where their last step '
                          'says): ' + ', '.join(sorted(stuck)))
    return ('completed', None)


def lost_result(step, host, error):
    """The result of a step that never ran or whose agent is gone.

    :param host: where the VM is now (the live model's word)
    :param error: why the step is given up, when the VM did not move
    """
    state = 'completed' if host == step['destination'] else 'failed'
    return {'step_id': step['id'], 'vm': step['vm'], 'state': state,
            'host': host, 'stats': {},
            'error': None if state == 'completed' else error}


class NextAttempt(typing.NamedTuple):
    """What follows for the VM of a step that did not get it there."""
    #: send the same step again (its message was lost)
    resend: bool
    #: the destinations a new step must not go to
    exclude: set
    #: the attempts made so far (a pending step closed counts as one)
    attempts: int


def next_attempt(step, plan_steps, closed=False):
    """What follows a failed or aborted step (or, ``closed``, a pending
    one whose destination is gone).

    :param step: the step, with ``source`` where its VM is now
    :param plan_steps: every step dict of the plan, the step among them
    """
    vm_steps = [s for s in plan_steps if s['vm'] == step['vm']]
    lost = [s for s in vm_steps if LOST in (s['error'] or '')]
    failed = [s for s in vm_steps
              if s['state'] in ('failed', 'aborted', 'skipped')
              and s not in lost]
    resend = (not closed and bool(lost) and lost[-1]['id'] == step['id']
              and len(lost) <= LOST_RETRIES)
    exclude = {s['destination'] for s in failed}
    exclude.add(step['destination'])
    return NextAttempt(resend, exclude, len(failed) + (1 if closed else 0))


def resent_fields(step):
    """The fields of the step that sends a lost step again."""
    return {k: step.get(k) for k in _RESENT_FIELDS}


def closing(step, closed, now):
    """How the step that a re-planned one replaces is closed.

    :returns: ``(values, expected states)`` for the database
    """
    if closed:
        return ({'state': 'skipped', 'host': step['source'],
                 'finished_at': now,
                 'error': f'destination {step["destination"]} is gone'},
                ('pending',))
    return {'state': step['state']}, (step['state'],)
