"""The agent refuses a step the conductor has given up on: its start-by
time passed (a cast that waited in the broker while the agent was down)
or its conductor's lease epoch is older than one the agent has seen."""

import time

from nova_livemig import messages
from nova_livemig.agent import steps
from tests.unit import fakehosts
from tests.unit.test_agent import FAST


def test_a_step_past_its_start_by_time_is_refused_and_never_runs(agents):
    c = agents(**FAST)
    step = fakehosts.step(total_s=1.0).to_primitive()
    ctxt = steps.fence_context({}, {'not_after': time.time() - 5.0})
    c.api.live_migrate(ctxt, 'a', step)
    result = c.result('p1-0')
    assert (result.state, result.host) == ('failed', 'a')
    assert result.error.startswith('refused: its start-by time passed')
    assert 'vm1' in c.vms_of('a') and 'vm1' not in c.vms_of('b')
    job = messages.JobStatus.from_primitive(c.api.get_job({}, 'a', 'p1-0'))
    assert job.state == 'failed'


def test_a_step_of_an_older_conductor_epoch_is_refused(agents):
    c = agents(**FAST)
    fresh = time.time() + 60.0
    c.api.live_migrate(steps.fence_context(
        {}, {'not_after': fresh, 'epoch': 5}), 'a',
        fakehosts.step(total_s=0.1).to_primitive())
    assert c.result('p1-0').state == 'completed'
    old = messages.MigrationStep.from_primitive(dict(
        fakehosts.step(total_s=0.1).to_primitive(), step_id='p1-1',
        vm='vm2'))
    c.api.live_migrate(steps.fence_context(
        {}, {'not_after': fresh, 'epoch': 4}), 'a', old.to_primitive())
    result = c.result('p1-1')
    assert result.state == 'failed' and 'epoch 4 is older than 5' in \
        result.error
    assert 'vm2' in c.vms_of('a')


def test_a_garbled_fence_is_refused_naming_the_key():
    fence = steps.Fence(clock=lambda: 100.0)
    assert steps.NOT_AFTER in fence.refusal({steps.NOT_AFTER: 'soon'})
    assert steps.NOT_AFTER in fence.refusal(
        {steps.NOT_AFTER: float('nan')})
    assert steps.EPOCH in fence.refusal({steps.EPOCH: 1.5})
    assert fence.refusal({}) is None  # an older conductor sends none
