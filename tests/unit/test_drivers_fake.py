"""The fake driver: simulated durations, shared state files, failure
injection and abort. A test clock drives time."""

import json
import threading

import pytest

from nova_livemig import dirtyrate
from nova_livemig import exception
from nova_livemig import messages
from nova_livemig.drivers import fake
from nova_livemig.drivers import migration as m
from tests.unit import fakehosts


def driver(tmp_path, clock, host='a', **overrides):
    return fake.FakeDriver(fakehosts.make_conf(tmp_path, host, **overrides),
                           clock=clock)


def vm_ids(drv):
    return sorted(v['id'] for v in drv.measure()[1])


def test_state_file_is_created_from_the_snapshot(tmp_path, clock):
    a = driver(tmp_path, clock)
    host, _ = a.measure()
    assert host['name'] == 'a' and host['memory_mib'] == 131072
    assert vm_ids(a) == ['vm1', 'vm2', 'vm3', 'vm4']
    assert a.migration_uri() == 'fake://a'
    on_disk = json.loads((tmp_path / 'state' / 'a.json').read_text())
    assert [v['id'] for v in on_disk['vms']] == vm_ids(a)


def test_host_missing_from_snapshot_or_no_snapshot_is_refused(tmp_path,
                                                              clock):
    with pytest.raises(exception.NotFound, match="unknown host 'zz'"):
        driver(tmp_path, clock, host='zz')
    conf = fakehosts.make_conf(tmp_path, 'b')
    conf.set_override('snapshot_file', None, group='fake_driver')
    with pytest.raises(exception.InvalidInput) as info:
        fake.FakeDriver(conf)
    assert info.value.field == '[fake_driver] snapshot_file'


def test_migration_takes_predicted_time_scaled_and_moves_the_vm(tmp_path,
                                                                clock):
    a = driver(tmp_path, clock, fake_driver__time_scale=2.0)
    b = driver(tmp_path, clock, host='b')
    a.start_migration(fakehosts.step(total_s=3.0))
    clock.now += 5.99  # 3.0 s predicted x 2.0 time scale
    assert a.job_info('vm1').state == m.JOB_RUNNING
    assert 'vm1' in vm_ids(a) and 'vm1' not in vm_ids(b)
    clock.now += 0.02
    job = a.job_info('vm1')
    assert job.state == m.JOB_COMPLETED and job.elapsed_s == 6.0
    assert 'vm1' not in vm_ids(a)
    assert 'vm1' in vm_ids(b)
    moved = next(v for v in b.measure()[1] if v['id'] == 'vm1')
    assert moved['host'] == 'b'
    stats = a.completed_stats('vm1')
    zero_pages = stats.pop('zero_pages')
    assert stats == {'total_s': 6.0, 'downtime_ms': 40.0,
                     'bytes': 6 * fakehosts.GIB, 'iterations': 3,
                     'postcopy': False, 'normal_bytes': 6 * fakehosts.GIB,
                     'postcopy_started_s': None}
    # vm1 has no resident_mib: a seeded 10-50 % of its 4096 MiB is zero
    assert 0.1 * 4096 * 256 <= zero_pages <= 0.5 * 4096 * 256


def test_progress_ramps_like_a_job(tmp_path, clock):
    a = driver(tmp_path, clock)
    driver(tmp_path, clock, host='b')
    a.start_migration(fakehosts.step(total_s=10.0, iterations=4))
    seen = []
    for _ in range(10):
        seen.append(a.job_info('vm1'))
        clock.now += 1.0
    processed = [j.processed_bytes for j in seen]
    remaining = [j.remaining_bytes for j in seen]
    iterations = [j.iteration for j in seen]
    assert processed == sorted(processed) and processed[0] == 0
    assert remaining == sorted(remaining, reverse=True)
    assert remaining[0] == seen[0].total_bytes
    assert iterations == sorted(iterations) and iterations[0] == 1
    assert iterations[-1] == 4
    assert all(j.dirty_rate_mib_s == 11.0 for j in seen)


def test_seeded_noise_repeats_per_seed_and_step(tmp_path, clock):
    def duration(seed, step_id, sub):
        d = tmp_path / sub
        d.mkdir()
        a = driver(d, clock, fake_driver__noise=0.3, fake_driver__seed=seed)
        driver(d, clock, host='b')
        a.start_migration(fakehosts.step(step_id=step_id, total_s=10.0))
        return a._jobs['vm1'].duration_s
    first = duration(1, 's', 'x1')
    assert duration(1, 's', 'x2') == first
    assert duration(2, 's', 'x3') != first
    assert duration(1, 't', 'x4') != first
    assert 2.0 < first < 18.0


def test_time_scale_zero_is_instant(tmp_path, clock):
    a = driver(tmp_path, clock, fake_driver__time_scale=0.0)
    driver(tmp_path, clock, host='b')
    a.start_migration(fakehosts.step(total_s=100.0))
    assert a.job_info('vm1').state == m.JOB_COMPLETED


def test_injected_failure_part_way(tmp_path, clock):
    a = driver(tmp_path, clock, fake_driver__fail_vms=['vm1'],
               fake_driver__fail_at_fraction=0.25)
    driver(tmp_path, clock, host='b')
    a.start_migration(fakehosts.step(total_s=4.0))
    clock.now += 0.9
    assert a.job_info('vm1').state == m.JOB_RUNNING
    clock.now += 0.2
    job = a.job_info('vm1')
    assert job.state == m.JOB_FAILED and 'fail_vms' in job.error
    assert job.elapsed_s == 1.0
    assert 'vm1' in vm_ids(a)


@pytest.mark.parametrize('how', ['option', 'state-file', 'no-agent'])
def test_destination_down_fails_the_migration(tmp_path, clock, how):
    a = driver(tmp_path, clock, fake_driver__down_hosts=(
        ['b'] if how == 'option' else []))
    if how != 'no-agent':
        b = driver(tmp_path, clock, host='b')
    if how == 'state-file':
        path = tmp_path / 'state' / 'b.json'
        state = json.loads(path.read_text())
        state['host']['state'] = 'down'
        path.write_text(json.dumps(state))
    a.start_migration(fakehosts.step())
    job = a.job_info('vm1')
    assert job.state == m.JOB_FAILED
    assert 'destination b is' in job.error
    assert 'vm1' in vm_ids(a)
    if how != 'no-agent':
        assert 'vm1' not in vm_ids(b)


def test_destination_going_down_mid_migration(tmp_path, clock):
    a = driver(tmp_path, clock)
    driver(tmp_path, clock, host='b')
    a.start_migration(fakehosts.step(total_s=2.0))
    (tmp_path / 'state' / 'b.json').unlink()
    clock.now += 3.0
    job = a.job_info('vm1')
    assert job.state == m.JOB_FAILED and 'unknown' in job.error
    assert 'vm1' in vm_ids(a)


def test_abort_in_precopy_but_not_in_postcopy(tmp_path, clock):
    a = driver(tmp_path, clock)
    driver(tmp_path, clock, host='b')
    a.start_migration(fakehosts.step(vm='vm1', step_id='s1', total_s=5.0))
    a.start_migration(fakehosts.step(vm='vm2', step_id='s2', total_s=5.0))
    clock.now += 1.0
    assert a.abort('vm1') is True
    assert a.job_info('vm1').state == m.JOB_CANCELLED
    a.switch_to_postcopy('vm2')
    assert a.abort('vm2') is False
    assert a.job_info('vm2').phase == m.POSTCOPY
    clock.now += 5.0
    assert a.job_info('vm2').state == m.JOB_COMPLETED
    assert a.completed_stats('vm2')['postcopy'] is True
    assert a.abort('vm2') is False and a.abort('nope') is False
    assert vm_ids(a) == ['vm1', 'vm3', 'vm4']


def test_refusals_unknown_vm_double_start_and_switch_without_job(tmp_path,
                                                                 clock):
    a = driver(tmp_path, clock)
    driver(tmp_path, clock, host='b')
    with pytest.raises(exception.NotFound, match="unknown vm 'vm9'"):
        a.start_migration(fakehosts.step(vm='vm9'))
    a.start_migration(fakehosts.step())
    with pytest.raises(exception.MigrationFailed, match='already'):
        a.start_migration(fakehosts.step(step_id='other'))
    with pytest.raises(exception.MigrationFailed, match='no running'):
        a.switch_to_postcopy('vm2')
    assert a.job_info('vm2') == m.JobInfo()


def test_cleanup_forgets_finished_jobs_only(tmp_path, clock):
    a = driver(tmp_path, clock)
    driver(tmp_path, clock, host='b')
    a.start_migration(fakehosts.step(total_s=1.0))
    a.cleanup('vm1')
    assert a.job_info('vm1').state == m.JOB_RUNNING
    clock.now += 2.0
    assert a.job_info('vm1').finished
    a.cleanup('vm1')
    assert a.job_info('vm1').state == m.JOB_NONE


def test_concurrent_moves_both_ways_lose_no_vm(tmp_path):
    a = fake.FakeDriver(fakehosts.make_conf(
        tmp_path, 'a', fake_driver__time_scale=0.0))
    b = fake.FakeDriver(fakehosts.make_conf(
        tmp_path, 'b', fake_driver__time_scale=0.0))
    moves = [(a, fakehosts.step(step_id=f'ab{i}', vm=f'vm{i}'))
             for i in range(1, 5)]
    moves.append((b, fakehosts.step(step_id='ba', vm='vm9', source='b',
                                    destination='a')))

    states = []

    def run(drv, s):
        drv.start_migration(s)
        states.append(drv.job_info(s.vm).state)

    threads = [threading.Thread(target=run, args=mv) for mv in moves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert states == [m.JOB_COMPLETED] * len(moves)
    assert vm_ids(a) == ['vm9']
    assert vm_ids(b) == ['vm1', 'vm2', 'vm3', 'vm4']


def test_measured_samples_follow_the_simulated_guests(tmp_path, clock):
    snap = dict(fakehosts.SNAPSHOT, vms=[
        # rewrites 64 MiB at 160 MiB/s: saturates within a window
        {'id': 'busy', 'host': 'a', 'vcpus': 1, 'memory_mib': 512,
         'cpu_util': 0.2, 'dirty_rate_mib_s': 160.0, 'wws_mib': 64},
        # 10 MiB/s over all of 4 GiB: no saturation in 3 s
        {'id': 'calm', 'host': 'a', 'vcpus': 1, 'memory_mib': 4096,
         'cpu_util': 0.2, 'dirty_rate_mib_s': 10.0},
        {'id': 'idle', 'host': 'a', 'vcpus': 1, 'memory_mib': 256,
         'cpu_util': 0.0, 'dirty_rate_mib_s': 0.0, 'wws_mib': 64},
        {'id': 'given', 'host': 'a', 'vcpus': 1, 'memory_mib': 256,
         'cpu_util': 0.0, 'dirty_rate_mib_s': 5.0,
         'dirty_rate_samples': [{'window_s': 2, 'mib_s': 4.5}]}])
    path = tmp_path / 'own.json'
    path.write_text(json.dumps(snap))
    a = driver(tmp_path, clock, fake_driver__snapshot_file=str(path))
    host, vms = a.measure()
    report = messages.HostReport.from_primitive({
        'host': host, 'vms': vms, 'measured_at': 1.0, 'driver': 'fake',
        'migration_uri': None})
    by_id = {v['id']: v for v in report.vms}
    samples = {i: tuple((s['window_s'], s['mib_s'])
                        for s in v['dirty_rate_samples'])
               for i, v in by_id.items()}
    assert [w for w, _r in samples['busy']] == list(fake.SAMPLE_WINDOWS_S)
    # a window reads the distinct pages: 1 s sees 58.75 of the 160 MiB
    # written, 3 s the whole set once
    assert samples['busy'][0][1] == pytest.approx(58.75, abs=0.01)
    assert samples['busy'][-1][1] == pytest.approx(64 / 3, rel=0.001)
    est = dirtyrate.estimate(samples['busy'])
    assert est.wws_mib == pytest.approx(64.0, rel=0.05)
    assert est.rate_mib_s > 100.0
    calm = dirtyrate.estimate(samples['calm'])
    assert calm.wws_mib is None
    assert calm.rate_mib_s == pytest.approx(10.0, rel=0.01)
    assert all(r == 0.0 for _w, r in samples['idle'])
    assert samples['given'] == ((2, 4.5),)
    # the entry's rate stays the guest's true rate; the file is unchanged
    assert by_id['busy']['dirty_rate_mib_s'] == 160.0
    on_disk = json.loads((tmp_path / 'state' / 'a.json').read_text())
    assert all('dirty_rate_samples' not in v for v in on_disk['vms']
               if v['id'] != 'given')
