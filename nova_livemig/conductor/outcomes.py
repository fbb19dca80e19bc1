"""How the steps and plans of an executing plan end, and what follows.

Pure: plain step dicts in, decisions out; the runner
(:mod:`nova_livemig.conductor.runner`) writes them to the database.

* Every step ends saying where its VM is (``host``). A step whose agent is
  gone, or does not know the step, ends by the live model's word
  (:func:`lost_result`).
* How a step that did not get its VM there ended is one of (its
  ``error`` starts with or holds the marker):

  - :data:`LOST`: its MigrationStep never reached its agent, or the agent
    is gone. Sent again as it was, as a new step, up to
    :data:`LOST_RETRIES` times (a lost message is not the destination's
    fault);
  - :data:`REFUSED`: the executor refused it before anything started
    (Nova's HTTP 400, a step the agent will not take): re-planned
    elsewhere, never sent again as it was;
  - :data:`EXPIRED`: it waited past its deadline (pending too long, or
    sent and never started by its start-by time, after which its agent
    refuses it): re-planned elsewhere;
  - failed or aborted while it ran, or a pending one whose destination is
    gone: re-planned elsewhere.

  *Every* attempt counts toward ``max_attempts``, whichever way it ended
  (:func:`next_attempt`): a VM gets at most that many steps in a plan.
* A pending step whose VM is in no report while the host it was on
  reports (:data:`VANISHED`: deleted meanwhile) ends ``skipped`` with no
  host; its VM counts neither as moved nor as stuck.
* A plan ends when no step is pending or running: completed when the last
  step of every VM left it on its destination (or the VM vanished),
  failed otherwise, naming the VMs (:func:`plan_end`).

>>> def step(seq, vm, state, host, destination, error=None):
...     return {'id': f's{seq}', 'seq': seq, 'vm': vm, 'state': state,
...             'host': host, 'destination': destination, 'error': error}
>>> steps = [step(0, 'v1', 'failed', 'a', 'b', 'boom'),
...          step(1, 'v1', 'completed', 'c', 'c'),
...          step(2, 'v2', 'failed', 'a', 'd', f'agent gone ({LOST})')]
>>> plan_end(steps)
('failed', 'VMs not moved (they stay where their last step says): v2')
>>> next_attempt(steps[2], steps)
NextAttempt(resend=True, exclude={'d'}, attempts=1)
>>> sorted(next_attempt(steps[0], steps[:1]).exclude)
['b']
"""

import typing

#: marks a step whose MigrationStep never reached its agent
LOST = 'message lost'
#: marks a step the executor refused before it started
REFUSED = 'refused'
#: marks a step given up at its deadline without having started
EXPIRED = 'expired'
#: marks a step whose VM vanished (deleted) before it started
VANISHED = 'VM vanished'
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


def vanished(step):
    """True when the step ended because its VM vanished."""
    return (step['state'] not in ('pending', 'running')
            and VANISHED in (step['error'] or ''))


def plan_end(steps):
    """How a plan ends once none of its steps is pending or running.

    :param steps: every step dict of the plan
    :returns: ``('completed', None)`` or ``('failed', why)``; None while a
        step is pending or running
    """
    if any(s['state'] in ('pending', 'running') for s in steps):
        return None
    last = last_steps(steps)
    gone = sorted(vm for vm, s in last.items() if vanished(s))
    stuck = [vm for vm, s in last.items()
             if not reached(s) and not vanished(s)]
    note = ('; VMs that vanished during the plan: ' + ', '.join(gone)
            if gone else '')
    if stuck:
        return ('failed', 'VMs not moved (they stay where their last step '
                          'says): ' + ', '.join(sorted(stuck)) + note)
    return ('completed', note[2:] or None)


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
    #: the attempts made so far, however they ended (lost, refused,
    #: expired, failed, aborted; a pending step closed counts as one)
    attempts: int


def next_attempt(step, plan_steps, closed=False):
    """What follows a step that ended without getting its VM there (or,
    ``closed``, a pending one whose destination is gone).

    :param step: the step, with ``source`` where its VM is now
    :param plan_steps: the step dicts of the plan (at least those of the
        step's VM), the step among them
    """
    vm_steps = [s for s in plan_steps if s['vm'] == step['vm']]
    lost = [s for s in vm_steps if LOST in (s['error'] or '')]
    ended = [s for s in vm_steps
             if s['state'] in ('failed', 'aborted', 'skipped')
             and not reached(s)]
    failed = [s for s in ended if s not in lost]
    resend = (not closed and bool(lost) and lost[-1]['id'] == step['id']
              and len(lost) <= LOST_RETRIES)
    exclude = {s['destination'] for s in failed}
    exclude.add(step['destination'])
    attempts = len(ended) + (1 if closed and step not in ended else 0)
    return NextAttempt(resend, exclude, attempts)


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
