"""The agent tuning a migration someone else started (nova-compute, under
the ``nova`` executor): agent API 1.1 ``tune_migration``, with the fake
driver's ``start_external_job`` hook standing in for nova-compute, over
the in-process fake:// transport; a test-side conductor endpoint records
what the agent sends."""

import dataclasses
import logging
import time

import oslo_messaging
import pytest

from nova_livemig import cost
from nova_livemig import drivers
from nova_livemig import messages
from nova_livemig import rpc
from nova_livemig.agent import manager as agent_mod
from nova_livemig.agent import rpcapi
from nova_livemig.algorithms import downtime
from nova_livemig.drivers import migration
from tests import fixtures
from tests.unit import fakehosts

FAST = {'agent__monitor_interval_s': 0.01,
        'agent__progress_interval_s': 0.05,
        'agent__report_interval_s': 60.0,
        'fake_driver__time_scale': 0.3}


@pytest.fixture
def node(agents):
    """Agents a and b and the conductor stub on one fake:// transport;
    ``node().agent`` and ``.driver`` are a's: ``node(**overrides)``."""
    return lambda **overrides: agents(**dict(FAST, **overrides))


def nova_step(algorithm='precopy', bandwidth_mib_s=200.0,
              max_downtime_ms=300.0, total_s=2.0):
    """The step the nova executor casts (the fake job takes total_s times
    the time scale, 0.6 s)."""
    return dataclasses.replace(
        fakehosts.step(algorithm=algorithm, total_s=total_s),
        bandwidth_mib_s=bandwidth_mib_s, max_downtime_ms=max_downtime_ms,
        destination_uri=None)


def expected_limit_ms(max_downtime_ms, bandwidth_mib_s):
    """QEMU's downtime limit the agent should set with the default
    ``[cost_model]`` (``cost.CostParams()``): the target less the
    switchover, the device state over the link and the stream queued when
    the guest stops (downtime.downtime_limit_ms), whole ms."""
    params = cost.CostParams()
    limit = downtime.downtime_limit_ms(
        max_downtime_ms, bandwidth_mib_s * cost.MIB, params)
    # the same by hand, so that the test does not just repeat the model
    assert limit == pytest.approx(
        max_downtime_ms - params.switchover_ms
        - params.device_state_mib / bandwidth_mib_s * 1000.0
        - params.pause_backlog_mib / bandwidth_mib_s * 1000.0)
    return int(limit)


# -- a job started by nova gets tuned, watched and reported --------------

@pytest.mark.parametrize('bandwidth_mib_s, expected_bandwidth', [
    (200.0, 200.0),
    (0.0, None),  # 0: nova's own [libvirt] live_migration_bandwidth stays
])
def test_job_started_by_nova_is_tuned_and_reported(node, bandwidth_mib_s,
                                                   expected_bandwidth):
    n = node()
    step = nova_step(bandwidth_mib_s=bandwidth_mib_s)
    n.driver.start_external_job(step)  # nova-compute starts it
    assert n.api.tune_migration({}, 'a', step.to_primitive()) is True

    result = n.stub.wait_for('migration_result',
                             lambda r: r.step_id == 'p1-0')[0]
    assert (result.state, result.host, result.error) == ('completed', 'b',
                                                         None)
    assert n.vms_of('b') == ['vm1', 'vm9'] and 'vm1' not in n.vms_of('a')
    # the step's bandwidth, and QEMU's limit for a 300 ms target: less the
    # switchover (4 ms by default), 0.05 MiB of device state and 2 MiB of
    # queued stream over the link, whole ms. The link is the step's
    # bandwidth (200 MiB/s: 0.25 + 10 ms, so 285) or, without one, the
    # predicted bytes over the predicted time (6 GiB in 2 s: 0.02 + 0.65
    # ms, so 295).
    rate_mib_s = bandwidth_mib_s or (step.predicted['bytes'] / cost.MIB
                                     / step.predicted['total_s'])
    vm, bandwidth, limit_ms = n.driver.tunings[0]
    assert (vm, bandwidth) == ('vm1', expected_bandwidth)
    assert limit_ms == expected_limit_ms(300.0, rate_mib_s)
    assert limit_ms == (285 if bandwidth_mib_s else 295)
    # applied again at the progress reports in pre-copy, after nova's own
    # downtime steps; always the same values
    assert len(n.driver.tunings) >= 2
    assert all(t == n.driver.tunings[0] for t in n.driver.tunings)
    progress = [p for p in n.stub.got['migration_progress']
                if p.step_id == 'p1-0']
    assert progress and all(p.vm == 'vm1' for p in progress)
    done = [p.processed_bytes for p in progress]
    assert done == sorted(done)
    assert messages.JobStatus.from_primitive(
        n.api.get_job({}, 'a', 'p1-0')).result == result.to_primitive()


def test_downtime_limit_follows_the_target_and_the_link(node):
    n = node()
    # 3000 ms over 1 MiB/s: the switchover (4 ms by default) + 50 ms of
    # device state + 2000 ms for the 2 MiB of queued stream: 946 with the
    # defaults
    step = nova_step(bandwidth_mib_s=1.0, max_downtime_ms=3000.0)
    n.driver.start_external_job(step)
    n.api.tune_migration({}, 'a', step.to_primitive())
    n.stub.wait_for('migration_result')
    assert n.driver.tunings[0] == ('vm1', 1.0,
                                   expected_limit_ms(3000.0, 1.0))
    assert n.driver.tunings[0][2] == 946


def test_tuned_job_is_never_switched_nor_aborted_by_the_agent(node):
    # a postcopy step past its deadline: the agent's own monitor would
    # switch and abort; nova decides here (its force-complete, its abort)
    n = node()
    step = dataclasses.replace(nova_step(algorithm='postcopy'),
                               deadline_s=0.01)
    n.driver.start_external_job(step)
    n.api.tune_migration({}, 'a', step.to_primitive())
    fixtures.wait_until(lambda: n.driver.tunings, what='tuned')
    assert n.agent.abort_migration('p1-0') is False
    result = n.stub.wait_for('migration_result')[0]
    assert result.state == 'completed'
    assert result.stats['postcopy'] is False
    assert all(p.phase == 'precopy'
               for p in n.stub.got['migration_progress'])


def test_job_failing_under_nova_is_reported_failed_on_the_source(node):
    n = node(fake_driver__fail_vms=['vm1'])
    step = nova_step()
    n.driver.start_external_job(step)
    n.api.tune_migration({}, 'a', step.to_primitive())
    result = n.stub.wait_for('migration_result')[0]
    assert (result.state, result.host) == ('failed', 'a')
    assert 'injected failure of vm1' in result.error
    assert 'vm1' in n.vms_of('a')


# -- nothing to tune: nothing done, the reason logged --------------------

def test_no_job_within_the_grace_period_reports_nothing(node, caplog):
    n = node()
    n.agent.tune_grace_s = 0.1
    with caplog.at_level(logging.WARNING, logger='nova_livemig.agent.tuning'):
        n.api.tune_migration({}, 'a', nova_step().to_primitive())
        fixtures.wait_until(
            lambda: 'no migration of vm1 runs on a' in caplog.text,
            what='the reason logged')
    assert 'nova reports how it ends' in caplog.text
    assert n.driver.tunings == []
    assert n.stub.got['migration_progress'] == []
    assert n.stub.got['migration_result'] == []
    assert n.api.get_job({}, 'a', 'p1-0')['state'] == 'unknown'
    assert n.vms_of('a') == ['vm1', 'vm2', 'vm3', 'vm4']


def test_job_started_late_within_the_grace_period_is_tuned(node):
    n = node()
    step = nova_step()
    n.api.tune_migration({}, 'a', step.to_primitive())
    time.sleep(0.2)  # nova-compute still in pre-live-migration
    n.driver.start_external_job(step)
    assert n.stub.wait_for('migration_result')[0].state == 'completed'
    assert n.driver.tunings[0][0] == 'vm1'


def test_driver_that_cannot_follow_a_job_logs_why(node, caplog,
                                                  monkeypatch):
    n = node()
    step = nova_step()
    n.driver.start_external_job(step)
    # a driver without attach_job: the ComputeDriver default
    monkeypatch.setattr(type(n.driver), 'attach_job',
                        drivers.ComputeDriver.attach_job)
    with caplog.at_level(logging.WARNING, logger='nova_livemig.agent.tuning'):
        n.api.tune_migration({}, 'a', step.to_primitive())
        fixtures.wait_until(
            lambda: 'cannot follow a migration it did not start'
            in caplog.text, what='the reason logged')
    assert n.driver.tunings == []
    assert n.api.get_job({}, 'a', 'p1-0')['state'] == 'unknown'


# -- garbled or misdirected steps are rejected with a reason -------------

def test_garbled_tune_is_rejected_with_a_logged_reason(node, caplog):
    n = node()
    step = nova_step()
    n.driver.start_external_job(step)
    # the endpoint (agent.manager) and the tuning (agent.tuning) log them
    with caplog.at_level(logging.ERROR, logger='nova_livemig.agent'):
        n.api.tune_migration({}, 'a', dict(step.to_primitive(),
                                           max_downtime_ms=-5))
        n.api.tune_migration({}, 'a', 'not a step')
        n.api.tune_migration({}, 'a', dict(step.to_primitive(),
                                           source='b', destination='a'))
        fixtures.wait_until(
            lambda: caplog.text.count('tune_migration') >= 3,
            what='three rejections logged')
    text = caplog.text
    assert 'tune_migration rejected: invalid step: ' \
        'MigrationStep.max_downtime_ms: got -5' in text
    assert "MigrationStep: got 'not a step'" in text
    assert ("tune_migration of step p1-0 rejected: MigrationStep.source: "
            "got 'b'; allowed: this agent's host (a)") in text
    assert n.driver.tunings == []
    assert n.api.get_job({}, 'a', 'p1-0')['state'] == 'unknown'
    # nova's job runs on untouched
    assert n.driver.job_info('vm1').state in (migration.JOB_RUNNING,
                                              migration.JOB_COMPLETED)


# -- versions ------------------------------------------------------------

def test_client_pinned_to_1_0_does_not_send_tune(node, caplog):
    n = node()
    step = nova_step()
    n.driver.start_external_job(step)
    old = rpcapi.AgentAPI(n.transport, version_cap='1.0')
    with caplog.at_level(logging.INFO, logger='nova_livemig.agent.rpcapi'):
        assert old.tune_migration({}, 'a', step.to_primitive()) is False
    assert 'speak an RPC version below 1.1' in caplog.text
    old.get_job({}, 'a', 'p1-0')  # the 1.0 methods still go through
    fixtures.wait_until(lambda: n.driver.job_info('vm1').finished,
                        what='nova\'s job ended')
    assert n.driver.tunings == []
    assert n.stub.got['migration_result'] == []


def test_agent_endpoint_serves_1_1_and_a_1_0_agent_refuses_it(node,
                                                              caplog):
    n = node()
    assert agent_mod.AgentEndpoint.target.version == '1.1'
    assert rpcapi.AgentAPI.VERSION == '1.1'

    class OldEndpoint:  # an agent of the 1.0 API
        target = oslo_messaging.Target(version='1.0')

        def __init__(self):
            self.got = []

        def get_job(self, ctxt, step_id):
            return 'old'

        def tune_migration(self, ctxt, step):
            self.got.append(step)

    old = OldEndpoint()
    server = rpc.get_server(n.transport, rpc.AGENT_TOPIC, 'old', [old])
    server.start()
    try:
        client = rpcapi.AgentAPI(n.transport, timeout=5)
        with caplog.at_level(logging.ERROR, logger='oslo_messaging'):
            client.tune_migration({}, 'old', nova_step().to_primitive())
            fixtures.wait_until(
                lambda: 'UnsupportedVersion' in caplog.text,
                what='the 1.0 server refusing 1.1')
        assert client.get_job({}, 'old', 'x') == 'old'  # 1.0 still served
        assert old.got == []
    finally:
        server.stop()
        server.wait()
