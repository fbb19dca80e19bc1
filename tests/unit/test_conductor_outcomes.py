"""How steps and plans end, and what follows, decided on plain step
dicts: resends of lost messages, destinations excluded from re-plans,
the end of a plan."""

from nova_livemig.conductor import outcomes


def step(seq, state, destination, vm='v1', host='a', error=None):
    return {'id': f's{seq}', 'seq': seq, 'vm': vm, 'state': state,
            'source': 'a', 'host': host, 'destination': destination,
            'error': error, 'algorithm': 'precopy', 'predicted': {},
            'path': [], 'planned_start_s': 0.0, 'planned_end_s': 1.0}


LOST_ERROR = f'agent on a does not know the step ({outcomes.LOST})'


def test_a_lost_message_is_resent_a_bounded_number_of_times():
    steps = []
    for seq in range(outcomes.LOST_RETRIES + 1):
        steps.append(step(seq, 'failed', 'b', error=LOST_ERROR))
        attempt = outcomes.next_attempt(steps[-1], steps)
        assert attempt.resend == (seq < outcomes.LOST_RETRIES), seq
    # not the destination's fault: it is excluded only as the step's own;
    # but each lost step is an attempt (the runner stops at max_attempts)
    assert attempt.exclude == {'b'}
    assert attempt.attempts == outcomes.LOST_RETRIES + 1


def test_every_attempt_counts_however_it_ended():
    """Lost, refused, expired, failed: each is one attempt, so a VM whose
    steps are refused one after the other (b, c, b, c...) is not
    re-planned forever."""
    steps = [step(0, 'failed', 'b', error=LOST_ERROR),
             step(1, 'failed', 'c', error=f'{outcomes.REFUSED}: HTTP 400'),
             step(2, 'skipped', 'd', error=f'{outcomes.EXPIRED}: late'),
             step(3, 'failed', 'b', error='boom')]
    attempt = outcomes.next_attempt(steps[3], steps)
    assert attempt.attempts == 4 and not attempt.resend
    assert attempt.exclude == {'b', 'c', 'd'}


def test_a_vanished_vm_ends_the_plan_as_neither_moved_nor_stuck():
    steps = [step(0, 'completed', 'b', host='b'),
             step(1, 'skipped', 'c', vm='v2', host=None,
                  error=f'{outcomes.VANISHED}: in no report')]
    assert outcomes.plan_end(steps) == (
        'completed', 'VMs that vanished during the plan: v2')
    steps.append(step(2, 'failed', 'c', vm='v3', error='boom'))
    assert outcomes.plan_end(steps)[0] == 'failed'


def test_failed_destinations_are_excluded_and_attempts_counted():
    steps = [step(0, 'failed', 'b', error='boom'),
             step(1, 'aborted', 'c', error='late'),
             step(2, 'failed', 'd', vm='v2', error='other vm'),
             step(3, 'pending', 'e')]
    attempt = outcomes.next_attempt(steps[1], steps)
    assert not attempt.resend
    assert attempt.exclude == {'b', 'c'} and attempt.attempts == 2
    closed = outcomes.next_attempt(steps[3], steps, closed=True)
    assert not closed.resend
    assert closed.exclude == {'b', 'c', 'e'} and closed.attempts == 3


def test_closing_a_gone_pending_step_says_where_the_vm_is():
    values, expect = outcomes.closing(step(0, 'pending', 'b'), True, 5.0)
    assert expect == ('pending',)
    assert values == {'state': 'skipped', 'host': 'a', 'finished_at': 5.0,
                      'error': 'destination b is gone'}
    values, expect = outcomes.closing(step(0, 'failed', 'b'), False, 5.0)
    assert (values, expect) == ({'state': 'failed'}, ('failed',))


def test_lost_result_trusts_where_the_vm_is():
    moved = outcomes.lost_result(step(0, 'running', 'b'), 'b', 'gone')
    assert (moved['state'], moved['host'], moved['error']) == (
        'completed', 'b', None)
    stayed = outcomes.lost_result(step(0, 'running', 'b'), 'a', 'gone')
    assert (stayed['state'], stayed['host'], stayed['error']) == (
        'failed', 'a', 'gone')


def test_plan_end_waits_then_names_the_vms_that_stayed():
    done = step(0, 'completed', 'b', host='b')
    assert outcomes.plan_end([done, step(1, 'running', 'c', vm='v2')]) \
        is None
    assert outcomes.plan_end([done]) == ('completed', None)
    # the last step of a VM counts: a retry that arrived makes up for a
    # failure, a VM already on its destination (skipped) has arrived
    retried = [step(0, 'failed', 'b', error='boom'),
               step(1, 'completed', 'c', host='c'),
               step(2, 'skipped', 'a', vm='v2', host='a'),
               step(3, 'failed', 'c', vm='v3', error='boom')]
    assert outcomes.plan_end(retried) == (
        'failed', 'VMs not moved (they stay where their last step says): '
                  'v3')
