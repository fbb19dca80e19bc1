"""The pure decisions of drivers/migration.py, with plain values only."""


import pytest

from nova_livemig.drivers import migration as m

RUNNING = m.JobInfo(state=m.JOB_RUNNING, elapsed_s=1.0, iteration=1)


def step(algorithm='precopy', deadline_s=60.0, postcopy_after_s=None):
    return {'algorithm': algorithm, 'deadline_s': deadline_s,
            'postcopy_after_s': postcopy_after_s}


@pytest.mark.parametrize('algorithm', ['precopy', 'autoconverge',
                                       'compress'])
def test_precopy_family_never_switches_unless_told(algorithm):
    for now in (0.0, 10.0, 1e6):
        job = m.JobInfo(state=m.JOB_RUNNING, iteration=30)
        assert not m.should_switch_to_postcopy(job, step(algorithm), now)
    assert not m.should_switch_to_postcopy(
        RUNNING, step(algorithm, postcopy_after_s=5.0), 4.99)
    assert m.should_switch_to_postcopy(
        RUNNING, step(algorithm, postcopy_after_s=5.0), 5.0)


def test_postcopy_switches_at_once_or_after_the_delay():
    assert m.should_switch_to_postcopy(RUNNING, step('postcopy'), 0.0)
    delayed = step('postcopy', postcopy_after_s=2.0)
    assert not m.should_switch_to_postcopy(RUNNING, delayed, 1.9)
    assert m.should_switch_to_postcopy(RUNNING, delayed, 2.0)


def test_hybrid_switches_after_the_first_pass_or_the_delay():
    first = m.JobInfo(state=m.JOB_RUNNING, iteration=1)
    second = m.JobInfo(state=m.JOB_RUNNING, iteration=2)
    assert not m.should_switch_to_postcopy(first, step('hybrid'), 100.0)
    assert m.should_switch_to_postcopy(second, step('hybrid'), 0.1)
    assert m.should_switch_to_postcopy(
        first, step('hybrid', postcopy_after_s=3.0), 3.0)


def test_no_switch_when_already_postcopy_or_not_running():
    post = m.JobInfo(state=m.JOB_RUNNING, phase=m.POSTCOPY, iteration=3)
    assert not m.should_switch_to_postcopy(post, step('postcopy'), 10.0)
    for state in (m.JOB_NONE, m.JOB_COMPLETED, m.JOB_FAILED,
                  m.JOB_CANCELLED):
        job = m.JobInfo(state=state, iteration=5)
        assert not m.should_switch_to_postcopy(job, step('postcopy'), 10.0)


def test_abort_at_the_deadline_in_precopy_only():
    s = step(deadline_s=30.0)
    assert not m.should_abort(RUNNING, s, 29.9)
    assert m.should_abort(RUNNING, s, 30.0)
    post = m.JobInfo(state=m.JOB_RUNNING, phase=m.POSTCOPY)
    assert not m.should_abort(post, s, 1000.0)
    done = m.JobInfo(state=m.JOB_COMPLETED)
    assert not m.should_abort(done, s, 1000.0)


def test_decisions_accept_a_migration_step_value():
    from nova_livemig import messages
    value = messages.MigrationStep(
        plan_id='p', step_id='s', vm='v', source='a', destination='b',
        algorithm='hybrid', max_downtime_ms=500.0, bandwidth_mib_s=0.0,
        deadline_s=5.0, postcopy_after_s=None,
        predicted={'total_s': 1.0}, destination_uri=None)
    job = m.JobInfo(state=m.JOB_RUNNING, iteration=2)
    assert m.should_switch_to_postcopy(job, value, 0.0)
    assert m.should_abort(job, value, 5.0)


def test_progress_report_interval():
    assert m.should_report_progress(None, 0.0, 2.0)
    assert not m.should_report_progress(10.0, 11.9, 2.0)
    assert m.should_report_progress(10.0, 12.0, 2.0)


def test_result_state_of_finished_jobs_and_refusal_otherwise():
    assert m.result_state(m.JobInfo(state=m.JOB_COMPLETED)) == 'completed'
    assert m.result_state(m.JobInfo(state=m.JOB_FAILED)) == 'failed'
    assert m.result_state(m.JobInfo(state=m.JOB_CANCELLED)) == 'aborted'
    for state in (m.JOB_NONE, m.JOB_RUNNING):
        with pytest.raises(ValueError, match='not finished'):
            m.result_state(m.JobInfo(state=state))
        assert not m.JobInfo(state=state).finished


def test_progress_and_stats_are_valid_messages():
    from nova_livemig import messages
    job = m.JobInfo(state=m.JOB_COMPLETED, phase=m.POSTCOPY, elapsed_s=4.25,
                    processed_bytes=10, remaining_bytes=0, total_bytes=10,
                    dirty_rate_mib_s=2.5, iteration=3, downtime_ms=12.0)
    progress = m.progress_primitive(job, 's1', 'vm1')
    assert messages.Progress.from_primitive(progress).phase == 'postcopy'
    stats = m.stats_of(job)
    assert stats == {'total_s': 4.25, 'downtime_ms': 12.0, 'bytes': 10,
                     'iterations': 3, 'postcopy': True,
                     'normal_bytes': None, 'zero_pages': None,
                     'postcopy_started_s': None}
    assert messages.Result.from_primitive({
        'step_id': 's1', 'vm': 'vm1', 'state': 'completed', 'host': 'b',
        'stats': stats, 'error': None}).stats == stats
    assert m.stats_of(m.JobInfo())['downtime_ms'] == 0.0


def test_from_libvirt_stats_converts_units():
    stats = {'time_elapsed': 2500, 'data_processed': 300,
             'data_remaining': 100, 'data_total': 1000,
             'memory_processed': 250, 'memory_remaining': 90,
             'memory_total': 900, 'memory_dirty_rate': 512,
             'memory_page_size': 4096, 'memory_bps': 104857600,
             'memory_iteration': 4, 'downtime': 37,
             'memory_postcopy_requests': 12, 'auto_converge_throttle': 30}
    job = m.from_libvirt_stats(stats, m.JOB_COMPLETED, phase=m.POSTCOPY)
    assert job == m.JobInfo(
        state=m.JOB_COMPLETED, phase=m.POSTCOPY, elapsed_s=2.5,
        processed_bytes=300, remaining_bytes=100, total_bytes=1000,
        memory_processed_bytes=250, memory_remaining_bytes=90,
        memory_total_bytes=900, dirty_rate_mib_s=2.0, bandwidth_mib_s=100.0,
        iteration=4, downtime_ms=37.0, postcopy_requests=12,
        throttle_pct=30.0)
    empty = m.from_libvirt_stats({}, m.JOB_RUNNING)
    assert empty.downtime_ms is None and empty.elapsed_s == 0.0


def test_switch_to_postcopy_when_precopy_stops_converging():
    # A precopy step with a post-copy timer (so the job may switch) whose
    # remainder stays flat over three passes switches before the timer;
    # the same job of a plain precopy step (no post-copy flag) does not.
    def job(it, rem):
        return m.JobInfo(state=m.JOB_RUNNING, iteration=it,
                                 memory_remaining_bytes=rem)
    flat = [job(1, 900), job(2, 300), job(3, 310), job(4, 305)]
    timed = {'algorithm': 'precopy', 'postcopy_after_s': 60.0}
    plain = {'algorithm': 'precopy', 'postcopy_after_s': None}
    assert m.should_switch_to_postcopy(job(5, 320), timed, 20.0,
                                               flat)
    assert not m.should_switch_to_postcopy(job(5, 320), plain,
                                                   20.0, flat)
    shrinking = [job(1, 900), job(2, 300), job(3, 200), job(4, 100)]
    assert not m.should_switch_to_postcopy(job(5, 50), timed, 20.0,
                                                   shrinking)
