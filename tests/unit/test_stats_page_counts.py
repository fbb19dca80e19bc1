"""Page counts and the post-copy switch time in a finished migration's
statistics: from libvirt's job statistics, the libvirt job, the fake
driver, and on the wire (optional in a Result, bounded, null allowed)."""

import copy
import types

import pytest

from nova_livemig import exception
from nova_livemig import messages
from nova_livemig.drivers import fake
from nova_livemig.drivers import libvirt_job
from nova_livemig.drivers import migration as m
from tests.unit import fakehosts

RESULT = {'step_id': 'p1-0', 'vm': 'vm1', 'state': 'completed', 'host': 'b',
          'stats': {'total_s': 3.4, 'downtime_ms': 18.0, 'bytes': 123,
                    'iterations': 2, 'postcopy': True},
          'error': None}


def _result(**stats):
    data = copy.deepcopy(RESULT)
    data['stats'].update(stats)
    return data


# -- libvirt statistics --

def test_libvirt_keys_become_page_counts():
    job = m.from_libvirt_stats({'memory_normal_bytes': 233488384,
                                'memory_constant': 8844,
                                'time_elapsed': 12300}, m.JOB_COMPLETED)
    stats = m.stats_of(job)
    assert stats['normal_bytes'] == 233488384
    assert stats['zero_pages'] == 8844
    assert stats['postcopy_started_s'] is None


def test_without_the_keys_the_counts_are_unknown():
    stats = m.stats_of(m.from_libvirt_stats({'time_elapsed': 10},
                                            m.JOB_COMPLETED))
    assert stats['normal_bytes'] is None and stats['zero_pages'] is None


def _sample(elapsed_s, phase=m.PRECOPY):
    return m.JobInfo(state=m.JOB_RUNNING, phase=phase, elapsed_s=elapsed_s,
                     memory_total_bytes=1, normal_bytes=int(elapsed_s * 10),
                     zero_pages=7)


def _job():
    return libvirt_job.MigrationJob(
        'vm1', dom=None, step=types.SimpleNamespace(step_id='s', vm='vm1'))


def test_libvirt_job_reports_when_the_switch_was_seen():
    job = _job()
    job.record(_sample(2.0))
    job.phase = m.POSTCOPY
    job.record(_sample(3.0, m.POSTCOPY))
    job.saw_switch(3.5)
    job.saw_switch(4.5)  # a later look changes nothing
    job.record(_sample(5.0, m.POSTCOPY))
    final = job.final_info(m.JOB_COMPLETED, None)
    stats = m.stats_of(final)
    assert stats['postcopy'] is True and stats['postcopy_started_s'] == 3.5
    # no completed statistics: the last running sample's counts stand
    assert (stats['normal_bytes'], stats['zero_pages']) == (50, 7)


def test_libvirt_job_in_precopy_has_no_switch_time():
    job = _job()
    job.record(_sample(2.0))
    job.event_stats = {'time_elapsed': 4000, 'memory_normal_bytes': 99,
                       'memory_constant': 3}
    stats = m.stats_of(job.final_info(m.JOB_COMPLETED, None))
    assert stats['postcopy'] is False
    assert stats['postcopy_started_s'] is None
    assert (stats['normal_bytes'], stats['zero_pages']) == (99, 3)


def test_libvirt_postcopy_seen_only_by_page_requests_uses_the_request():
    job = _job()
    job.record(_sample(2.0))
    job.phase = m.POSTCOPY  # asked for; no look saw the guest paused
    job.record(_sample(2.6, m.POSTCOPY))
    job.event_stats = {'time_elapsed': 4000,
                       'memory_postcopy_requests': 12}
    stats = m.stats_of(job.final_info(m.JOB_COMPLETED, None))
    assert stats['postcopy'] is True and stats['postcopy_started_s'] == 2.6


# -- the fake driver --

def _driver(tmp_path, clock, host='a'):
    return fake.FakeDriver(fakehosts.make_conf(tmp_path, host), clock=clock)


def test_fake_switch_time_and_zero_pages(tmp_path, clock):
    a = _driver(tmp_path, clock)
    _driver(tmp_path, clock, 'b')
    a.start_migration(fakehosts.step(algorithm='postcopy', total_s=4.0))
    clock.now += 1.25
    a.switch_to_postcopy('vm1')
    clock.now += 1.0
    a.switch_to_postcopy('vm1')  # again: the first switch counts
    clock.now += 3.0
    stats = a.completed_stats('vm1')
    assert stats['postcopy'] is True and stats['postcopy_started_s'] == 1.25
    assert stats['normal_bytes'] == stats['bytes']
    result = messages.Result.from_primitive({
        'step_id': 'p1-0', 'vm': 'vm1', 'state': 'completed', 'host': 'b',
        'stats': stats, 'error': None})
    assert result.stats == stats


def test_fake_zero_pages_follow_the_resident_memory(tmp_path, clock):
    state_file = tmp_path / 'state' / 'a.json'
    a = _driver(tmp_path, clock)
    _driver(tmp_path, clock, 'b')
    text = state_file.read_text().replace(
        '"id": "vm2"', '"id": "vm2", "resident_mib": 1024')
    state_file.write_text(text)
    a.start_migration(fakehosts.step(vm='vm2', total_s=1.0))
    clock.now += 0.1
    running = a.job_info('vm2')
    clock.now += 2.0
    stats = a.completed_stats('vm2')
    # 4096 MiB of which 1024 resident: 3072 MiB of 4 KiB zero pages
    assert stats['zero_pages'] == 3072 * 256
    assert 0 < running.zero_pages < stats['zero_pages']
    assert stats['postcopy_started_s'] is None


# -- on the wire --

def test_old_result_without_the_new_keys_stays_valid():
    result = messages.Result.from_primitive(copy.deepcopy(RESULT))
    assert result.stats == RESULT['stats']
    assert 'zero_pages' not in result.to_primitive()['stats']


@pytest.mark.parametrize('stats', [
    {'normal_bytes': None, 'zero_pages': None, 'postcopy_started_s': None},
    {'normal_bytes': 0, 'zero_pages': 10 ** 18, 'postcopy_started_s': 0},
    {'zero_pages': 5},
    {'postcopy_started_s': 1.5}])
def test_new_keys_are_optional_and_may_be_null(stats):
    result = messages.Result.from_primitive(_result(**stats))
    for key, value in stats.items():
        assert result.stats[key] == value
    status = messages.JobStatus.from_primitive({
        'step_id': 'p1-0', 'vm': 'vm1', 'state': 'completed',
        'progress': None, 'result': _result(**stats)})
    assert status.result['stats'] == result.stats


@pytest.mark.parametrize('key, bad', [
    ('normal_bytes', -1), ('normal_bytes', 10 ** 400), ('normal_bytes', 1.5),
    ('zero_pages', True), ('zero_pages', '3'), ('zero_pages', 10 ** 18 + 1),
    ('postcopy_started_s', float('nan')), ('postcopy_started_s', -0.1),
    ('postcopy_started_s', float('inf')), ('postcopy_started_s', 1e300)])
def test_new_keys_are_bounded(key, bad):
    with pytest.raises(exception.InvalidInput) as info:
        messages.Result.from_primitive(_result(**{key: bad}))
    assert info.value.field == f'Result.stats.{key}'


def test_unknown_stats_keys_are_still_refused():
    with pytest.raises(exception.InvalidInput) as info:
        messages.Result.from_primitive(_result(zero_bytes=1))
    assert info.value.field == 'Result.stats.zero_bytes'
    assert 'zero_pages' in info.value.allowed
