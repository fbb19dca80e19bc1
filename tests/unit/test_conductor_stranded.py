"""A step whose post-copy link never came back: the agent reports it
failed with the VM on the destination (stranded, its memory split); the
conductor records it and does not plan that VM again."""

from nova_livemig import messages
from tests.unit import conductor_fixtures as cf

HOSTS = {'a': 'up', 'b': 'up', 'c': 'up'}


def _stranded(c, msg):
    c.placement[msg['vm']] = msg['destination']
    c.engine.on_result(messages.Result.from_primitive({
        'step_id': msg['step_id'], 'vm': msg['vm'], 'state': 'failed',
        'host': msg['destination'],
        'stats': {'total_s': 40.0, 'downtime_ms': 0.0, 'bytes': 1 << 27,
                  'iterations': 1, 'postcopy': True,
                  'postcopy_pauses': 1, 'postcopy_paused_s': 30.5},
        'error': 'post-copy of v1 from a to b paused for 30.5 s: the link '
                 'never came back. Not re-planned.'}))


def test_a_stranded_vm_is_not_replanned(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, [cf.vm('v1')], {'v1': 'a'})
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    first = c.executor.started[0]
    _stranded(c, first)
    steps = c.db.steps(plan['id'])
    # one step, failed, saying the VM is on the destination; no retry
    assert [s['state'] for s in steps] == ['failed']
    assert steps[0]['host'] == first['destination']
    assert 'Not re-planned' in steps[0]['error']
    for _ in range(5):
        c.engine.run_once()
    assert len(c.executor.started) == 1
    assert [s['state'] for s in c.db.steps(plan['id'])] == ['failed']


def test_an_ordinary_failure_is_still_replanned(tmp_path):
    c = cf.cluster(tmp_path, HOSTS, [cf.vm('v1')], {'v1': 'a'})
    plan = cf.create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    c.result(c.executor.started[0], state='failed', error='refused')
    assert [s['state'] for s in c.db.steps(plan['id'])] == ['failed',
                                                            'pending']
