"""A libvirt migration job as the driver follows it, without a hypervisor
(:mod:`nova_livemig.drivers.libvirt_job`)."""

import threading
import types

import pytest

from nova_livemig import exception
from nova_livemig.drivers import libvirt_job as lj
from nova_livemig.drivers import libvirt_stats
from nova_livemig.drivers import migration

# The job-completed event's statistics after a pre-copy (libvirt 9.0).
EVENT = {'type': 3, 'operation': 5, 'time_elapsed': 9100, 'downtime': 21,
         'data_processed': 280000000, 'memory_iteration': 4,
         'memory_postcopy_requests': 0}


def _sample(elapsed_s, iteration=1):
    return migration.JobInfo(state=migration.JOB_RUNNING,
                             elapsed_s=elapsed_s, iteration=iteration,
                             memory_total_bytes=268967936,
                             processed_bytes=int(elapsed_s * 1e7))


def _job(vm='vm1', step_id='p1-0'):
    step = types.SimpleNamespace(step_id=step_id, vm=vm)
    return lj.MigrationJob(vm, dom=None, step=step)


# -- how a job ended --

def test_a_call_that_returned_without_error_completed():
    job = _job()
    job.record(_sample(9.0, 4))
    job.event_stats = EVENT
    assert job.end_state() == (migration.JOB_COMPLETED, None)
    final = job.final_info(*job.end_state())
    assert (final.state, final.phase) == ('completed', 'precopy')
    assert migration.stats_of(final) == {
        'total_s': 9.1, 'downtime_ms': 21.0, 'bytes': 280000000,
        'iterations': 4, 'postcopy': False, 'normal_bytes': None,
        'zero_pages': None, 'postcopy_started_s': None}


@pytest.mark.parametrize('aborted, code, state', [
    (True, None, migration.JOB_CANCELLED),
    (False, libvirt_stats.VIR_ERR_OPERATION_ABORTED,
     migration.JOB_CANCELLED),
    (False, 1, migration.JOB_FAILED)])
def test_an_error_is_a_cancel_or_a_failure(aborted, code, state):
    job = _job()
    job.record(_sample(3.0))
    job.error, job.error_code, job.aborted = 'it stopped', code, aborted
    job.event_stats = EVENT  # ignored: the job did not complete
    assert job.end_state() == (state, 'it stopped')
    final = job.final_info(*job.end_state())
    assert (final.state, final.error) == (state, 'it stopped')
    assert final.elapsed_s == 3.0 and final.downtime_ms is None


def test_postcopy_only_when_the_switch_was_seen():
    job = _job()
    job.phase = migration.POSTCOPY  # asked for, never seen
    job.record(_sample(5.0))
    assert job.final_info(migration.JOB_COMPLETED, None).phase == 'precopy'
    job.switch_seen = True
    assert job.final_info(migration.JOB_COMPLETED, None).phase == 'postcopy'


@pytest.mark.parametrize('active, kind, state', [
    (False, None, migration.JOB_COMPLETED),  # the VM left
    (True, libvirt_stats.VIR_DOMAIN_JOB_CANCELLED, migration.JOB_CANCELLED),
    (True, libvirt_stats.VIR_DOMAIN_JOB_FAILED, migration.JOB_FAILED),
    (True, None, migration.JOB_FAILED)])
def test_a_job_someone_else_started_ends_by_where_the_vm_is(active, kind,
                                                            state):
    job = lj.MigrationJob('vm1', dom=None)
    assert job.external
    job.ended_elsewhere(active, kind)
    assert job.done.is_set()
    assert job.end_state()[0] == state


# -- samples and the post-copy switch --

def test_samples_are_kept_up_to_the_history_length():
    job = _job()
    assert job.setup_sample() == migration.JobInfo(
        state=migration.JOB_RUNNING, phase=migration.PRECOPY)
    assert not job.pages_moved()
    for i in range(lj.HISTORY + 5):
        job.record(_sample(float(i)))
    assert len(job.history) == lj.HISTORY
    assert job.history[0].elapsed_s == 5.0
    assert job.setup_sample().elapsed_s == lj.HISTORY + 4.0
    assert job.pages_moved()


def test_the_switch_is_sent_again_after_a_second():
    job = _job()
    assert job.switch_due(100.0)
    job.switch_sent_at = 100.0
    assert not job.switch_due(100.0 + lj.SWITCH_RESEND_S - 0.01)
    assert job.switch_due(100.0 + lj.SWITCH_RESEND_S)


def test_one_switch_request_at_a_time():
    table = lj.JobTable()
    job = _job()
    release = threading.Event()
    sent = []

    def send(j):
        sent.append(j.vm)
        release.wait(5)

    table.start_switch(job, send)
    table.start_switch(job, send)  # the first still runs: not sent again
    release.set()
    job.switch_thread.join(5)
    assert sent == ['vm1'] and job.switch_sent_at is not None
    table.start_switch(job, send)
    job.switch_thread.join(5)
    assert sent == ['vm1', 'vm1']


# -- the table of jobs --

def test_a_vm_migrates_once_at_a_time():
    table = lj.JobTable()
    first = _job()
    table.add(first)
    with pytest.raises(exception.MigrationFailed,
                       match=r'vm1 is already migrating \(step p1-0\)'):
        table.add(_job(step_id='p1-1'))
    assert table.running('vm1', 'tune') is first
    first.done.set()
    table.add(_job(step_id='p1-1'))  # the first is over
    assert table.get('vm1').step.step_id == 'p1-1'


def test_no_running_job_to_act_on():
    table = lj.JobTable()
    with pytest.raises(exception.MigrationFailed,
                       match='vm1 has no running migration to tune'):
        table.running('vm1', 'tune')
    job = _job()
    table.add(job)
    job.done.set()
    with pytest.raises(exception.MigrationFailed,
                       match='to switch to post-copy'):
        table.running('vm1', 'switch to post-copy')


def test_finished_jobs_are_forgotten_running_ones_kept():
    table = lj.JobTable()
    job = _job()
    table.add(job)
    job.record(_sample(1.0))
    table.forget_done('vm1')
    assert table.history('vm1') == job.history
    job.done.set()
    table.forget_done('vm1')
    assert table.get('vm1') is None and table.history('vm1') == []


def test_the_first_completed_event_is_kept_and_the_final_once():
    table = lj.JobTable()
    job = _job()
    table.add(job)
    job.record(_sample(9.0, 4))
    table.completed_event('vm1', EVENT)
    table.completed_event('vm1', {**EVENT, 'downtime': 99})
    table.completed_event('vm2', EVENT)  # no such job: ignored
    job.done.set()
    final = table.final(job, stats_wait_s=0.0)
    assert final.downtime_ms == 21.0
    job.event_stats = None
    assert table.final(job, stats_wait_s=0.0) is final


def test_an_attached_job_replaces_the_old_record():
    table = lj.JobTable()
    table.add(_job())
    attached = lj.MigrationJob('vm1', dom=None)
    table.replace(attached)
    assert table.get('vm1') is attached
    table.drop('vm1')
    assert table.get('vm1') is None
