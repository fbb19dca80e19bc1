"""The agent with the fake driver over the in-process fake:// transport:
a test-side conductor endpoint records what the agents send."""

import logging
import threading
import time

import oslo_messaging
import pytest

from nova_livemig import exception
from nova_livemig import messages
from nova_livemig.cmd import agent as agent_cmd
from tests import fixtures
from tests.unit import fakehosts

FAST = {'agent__monitor_interval_s': 0.01,
        'agent__progress_interval_s': 0.05,
        'agent__report_interval_s': 0.1,
        'fake_driver__time_scale': 0.3}


@pytest.fixture
def cluster(agents):
    """Agents a and b (and c when asked) and the conductor stub, on one
    fake:// transport: ``cluster(hosts=..., **overrides)``."""
    return lambda **kw: agents(**dict(FAST, **kw))


def test_measure_call_returns_a_valid_host_report(cluster):
    c = cluster()
    report = messages.HostReport.from_primitive(c.api.measure({}, 'a'))
    assert report.host['name'] == 'a' and report.driver == 'fake'
    assert report.migration_uri == 'fake://a'
    assert c.vms_of('a') == ['vm1', 'vm2', 'vm3', 'vm4']
    assert c.vms_of('b') == ['vm9']


def test_agents_report_measurements_periodically(cluster):
    c = cluster()
    for host in ('a', 'b'):
        reports = c.stub.wait_for(
            'report_measurements', lambda r, h=host: r.host['name'] == h)
        assert reports[0].driver == 'fake'
    c.stub.wait_for('report_measurements',
                    lambda r: len(c.stub.got['report_measurements']) >= 6)


def test_live_migrate_reports_progress_then_result_and_moves_vm(cluster):
    c = cluster()
    step = fakehosts.step(total_s=1.0)  # 0.3 s at time_scale 0.3
    c.api.live_migrate({}, 'a', step.to_primitive())
    progress = c.stub.wait_for('migration_progress',
                               lambda p: p.step_id == 'p1-0')
    assert progress[0].vm == 'vm1' and progress[0].phase == 'precopy'
    result = c.result('p1-0')
    assert (result.state, result.host, result.error) == ('completed', 'b',
                                                         None)
    assert result.stats['total_s'] == pytest.approx(0.3)
    assert result.stats['iterations'] == 3
    seen = [p for p in c.stub.got['migration_progress']
            if p.step_id == 'p1-0']
    assert len(seen) >= 3
    done = [p.processed_bytes for p in seen]
    assert done == sorted(done)
    assert 'vm1' in c.vms_of('b') and 'vm1' not in c.vms_of('a')
    job = messages.JobStatus.from_primitive(c.api.get_job({}, 'a', 'p1-0'))
    assert job.state == 'completed'
    assert job.result == result.to_primitive()


def test_get_job_of_a_running_step_then_unknown_step(cluster):
    c = cluster()
    c.api.live_migrate({}, 'a', fakehosts.step(total_s=10.0).to_primitive())
    c.stub.wait_for('migration_progress')
    job = messages.JobStatus.from_primitive(c.api.get_job({}, 'a', 'p1-0'))
    assert job.state == 'running' and job.progress['vm'] == 'vm1'
    unknown = c.api.get_job({}, 'b', 'p1-0')
    assert unknown['state'] == 'unknown' and unknown['result'] is None
    # over fake:// the caller gets the exception itself, over rabbit:// a
    # RemoteError naming it
    with pytest.raises((exception.InvalidInput,
                        oslo_messaging.RemoteError)) as info:
        c.api.get_job({}, 'a', '')
    assert "step_id: got ''" in str(info.value)


def test_the_same_step_id_is_never_started_twice(cluster, monkeypatch):
    c = cluster()
    driver = c.agents['a'].driver
    starts = []
    real_start = driver.start_migration
    monkeypatch.setattr(driver, 'start_migration',
                        lambda s: starts.append(s.step_id) or real_start(s))
    step = fakehosts.step(total_s=0.5).to_primitive()
    c.api.live_migrate({}, 'a', step)
    c.api.live_migrate({}, 'a', step)  # while running
    c.result('p1-0')
    c.api.live_migrate({}, 'a', step)  # after it finished
    c.stub.wait_for('migration_result',
                    lambda r: len(c.stub.got['migration_result']) >= 2)
    assert starts == ['p1-0']
    results = c.stub.got['migration_result']
    assert [r.state for r in results] == ['completed', 'completed']
    assert results[0] == results[1]


def test_garbled_live_migrate_is_rejected_with_a_logged_reason(cluster,
                                                                caplog):
    c = cluster()
    bad = dict(fakehosts.step().to_primitive(), max_downtime_ms=-5)
    with caplog.at_level(logging.ERROR, logger='nova_livemig.agent.manager'):
        c.api.live_migrate({}, 'a', bad)
        c.api.live_migrate({}, 'a', 'not a step')
        c.api.abort_migration({}, 'a', 42)
        c.api.measure({}, 'a')  # a call after the casts: they were handled
    text = caplog.text
    assert 'live_migrate rejected' in text
    assert 'MigrationStep.max_downtime_ms: got -5' in text
    assert "MigrationStep: got 'not a step'" in text
    assert 'abort_migration rejected' in text
    time.sleep(0.2)
    assert c.stub.got['migration_progress'] == []
    assert c.stub.got['migration_result'] == []
    assert c.api.get_job({}, 'a', 'p1-0')['state'] == 'unknown'
    assert c.vms_of('a') == ['vm1', 'vm2', 'vm3', 'vm4']


def test_injected_failure_gives_a_failed_result_on_the_source(cluster):
    c = cluster(fake_driver__fail_vms=['vm2'])
    c.api.live_migrate({}, 'a', fakehosts.step(vm='vm2').to_primitive())
    result = c.result('p1-0')
    assert (result.state, result.host) == ('failed', 'a')
    assert 'injected failure' in result.error
    assert 'vm2' in c.vms_of('a')


def test_destination_down_and_unknown_vm_fail(cluster):
    c = cluster(fake_driver__down_hosts=['b'])
    c.api.live_migrate({}, 'a', fakehosts.step().to_primitive())
    c.api.live_migrate({}, 'a', fakehosts.step(step_id='s2', vm='vm9',
                                               destination='c')
                       .to_primitive())
    down = c.result('p1-0')
    assert down.state == 'failed' and 'destination b is down' in down.error
    missing = c.result('s2')
    assert missing.state == 'failed' and "unknown vm 'vm9'" in missing.error
    assert missing.host == 'a'
    c.api.live_migrate({}, 'b', fakehosts.step(step_id='s3', source='a',
                                               destination='c')
                       .to_primitive())
    misrouted = c.result('s3')
    assert misrouted.state == 'failed'
    assert "MigrationStep.source: got 'a'; allowed: this agent's host (b)" \
        in misrouted.error
    assert 'vm1' in c.vms_of('a')


def test_abort_on_request_and_at_the_deadline(cluster):
    c = cluster()
    c.api.live_migrate({}, 'a', fakehosts.step(
        step_id='s1', vm='vm1', total_s=30.0).to_primitive())
    c.api.live_migrate({}, 'a', fakehosts.step(
        step_id='s2', vm='vm2', total_s=30.0, deadline_s=0.2).to_primitive())
    c.stub.wait_for('migration_progress', lambda p: p.step_id == 's1')
    c.api.abort_migration({}, 'a', 's1')
    aborted = c.result('s1')
    assert (aborted.state, aborted.host) == ('aborted', 'a')
    assert 'aborted on request' in aborted.error
    late = c.result('s2')
    assert late.state == 'aborted'
    assert late.stats['total_s'] >= 0.2
    assert sorted(c.vms_of('a')) == ['vm1', 'vm2', 'vm3', 'vm4']


def test_hybrid_switches_to_postcopy_after_the_first_pass(cluster):
    c = cluster()
    c.api.live_migrate({}, 'a', fakehosts.step(
        algorithm='hybrid', total_s=2.0, iterations=4).to_primitive())
    post = c.stub.wait_for('migration_progress',
                           lambda p: p.phase == 'postcopy')
    assert post[0].iteration >= 2
    result = c.result('p1-0')
    assert result.state == 'completed' and result.stats['postcopy'] is True


def test_finished_results_are_kept_up_to_job_history(cluster):
    c = cluster(agent__job_history=2, fake_driver__time_scale=0.0)
    for i in range(1, 5):
        c.api.live_migrate({}, 'a', fakehosts.step(
            step_id=f's{i}', vm=f'vm{i}').to_primitive())
        c.result(f's{i}')
    states = [c.api.get_job({}, 'a', f's{i}')['state'] for i in range(1, 5)]
    assert states == ['unknown', 'unknown', 'completed', 'completed']


def test_command_serves_until_stopped_and_masks_the_password(tmp_path,
                                                             capfd):
    conf_file = tmp_path / 'agent.conf'
    conf_file.write_text(
        '[DEFAULT]\ntransport_url = fake://nova:s3cr3t@localhost/\n'
        '[agent]\nhost = a\ndriver = fake\n'
        f'[fake_driver]\nstate_dir = {tmp_path / "state"}\n'
        f'snapshot_file = {fakehosts.write_snapshot(tmp_path)}\n')
    stop = threading.Event()
    status = []
    thread = threading.Thread(target=lambda: status.append(agent_cmd.main(
        ['--config-file', str(conf_file)], stop_event=stop)))
    thread.start()
    fixtures.wait_until((tmp_path / 'state' / 'a.json').exists,
                        interval_s=0.05, what='the agent serving')
    time.sleep(0.3)
    stop.set()
    thread.join(10)
    assert status == [0]
    out = capfd.readouterr()
    assert 'fake://nova:***@localhost/' in out.err + out.out
    assert 's3cr3t' not in out.err + out.out


def test_command_refuses_an_unknown_driver(tmp_path, capsys):
    conf_file = tmp_path / 'agent.conf'
    conf_file.write_text('[agent]\nhost = a\ndriver = warp\n')
    status = agent_cmd.main(['--config-file', str(conf_file)],
                            stop_event=threading.Event())
    assert status == 2
    err = capsys.readouterr().err
    assert "cannot load 'warp' from nova_livemig.drivers" in err
    assert 'fake' in err


def test_private_conf_has_messaging_options_with_fake_default(tmp_path):
    conf = fakehosts.make_conf(tmp_path)
    assert conf.transport_url == 'fake://'
    assert conf.oslo_messaging_tracing.tracing_enabled is False
    from nova_livemig.conf import messaging
    listed = messaging.list_opts()
    default = {o.name: o for o in listed[None]}['transport_url']
    assert default.default == 'fake://' and default.secret
    notif = {o.name: o for o in listed['oslo_messaging_notifications']}
    assert notif['transport_url'].default is None


def test_two_confs_do_not_share_overrides(tmp_path):
    one = fakehosts.make_conf(tmp_path, 'a', fake_driver__time_scale=7.0)
    two = fakehosts.make_conf(tmp_path, 'b')
    assert (one.agent.host, two.agent.host) == ('a', 'b')
    assert (one.fake_driver.time_scale, two.fake_driver.time_scale) == (
        7.0, 1.0)
