"""The libvirt driver's pure helpers that read libvirt's statistics, with
plain values only.

libvirt is blocked while the module is imported: the helpers must not
need it.
"""

import importlib
import sys

import pytest

from nova_livemig import dirtyrate
from nova_livemig import exception
from nova_livemig import messages
from nova_livemig import model
from nova_livemig.drivers import migration


@pytest.fixture(scope='module')
def ls():
    saved = sys.modules.get('libvirt')
    sys.modules['libvirt'] = None  # import libvirt now raises ImportError
    try:
        sys.modules.pop('nova_livemig.drivers.libvirt_stats', None)
        yield importlib.import_module('nova_livemig.drivers.libvirt_stats')
    finally:
        if saved is None:
            sys.modules.pop('libvirt', None)
        else:
            sys.modules['libvirt'] = saved


# -- job statistics --

# What libvirt 9.0 returned on the testbed (jobStats() of the source,
# pre-copy of a 256 MiB guest over 200 Mbit/s, second 5).
RUNNING = {'type': 2, 'operation': 5, 'time_elapsed': 5152,
           'data_processed': 102760448, 'data_remaining': 74448896,
           'data_total': 268967936, 'memory_processed': 102760448,
           'memory_remaining': 74448896, 'memory_total': 268967936,
           'memory_bps': 22755328, 'memory_dirty_rate': 0,
           'memory_iteration': 1, 'memory_page_size': 4096,
           'memory_postcopy_requests': 0}
# The job-completed event's statistics after a post-copy migration.
EVENT_POSTCOPY = {'type': 3, 'operation': 5, 'time_elapsed': 13012,
                  'downtime': 16, 'data_processed': 271581184,
                  'memory_iteration': 2, 'memory_bps': 22900000,
                  'memory_postcopy_requests': 1046,
                  'memory_page_size': 4096}


@pytest.mark.parametrize('job_type,state', [
    (0, 'none'), (1, 'running'), (2, 'running'), (3, 'completed'),
    (4, 'failed'), (5, 'cancelled'), (None, 'none'), (99, 'none')])
def test_job_type_maps_to_states(ls, job_type, state):
    assert ls.job_state(job_type) == state


def test_running_sample_in_readable_units(ls):
    job = ls.running_job(RUNNING)
    assert job.state == migration.JOB_RUNNING
    assert job.phase == migration.PRECOPY
    assert job.elapsed_s == pytest.approx(5.152)
    assert job.processed_bytes == 102760448
    assert job.remaining_bytes == 74448896
    assert job.bandwidth_mib_s == pytest.approx(21.70, abs=0.01)
    assert job.iteration == 1


def test_running_sample_keeps_the_switched_phase(ls):
    job = ls.running_job(RUNNING, phase=migration.POSTCOPY)
    assert job.phase == migration.POSTCOPY


def test_no_job_is_state_none(ls):
    assert ls.running_job({'type': 0}).state == migration.JOB_NONE
    assert ls.running_job({}).state == migration.JOB_NONE


def test_completed_postcopy_takes_the_event_statistics(ls):
    last = ls.running_job(RUNNING, phase=migration.POSTCOPY)
    job = ls.finished_job(EVENT_POSTCOPY, last, migration.JOB_COMPLETED)
    assert job.state == migration.JOB_COMPLETED
    assert job.phase == migration.POSTCOPY
    stats = migration.stats_of(job)
    assert stats == {'total_s': 13.012, 'downtime_ms': 16.0,
                     'bytes': 271581184, 'iterations': 2,
                     'postcopy': True, 'normal_bytes': None,
                     'zero_pages': None, 'postcopy_started_s': None}


def test_page_requests_mark_postcopy_even_without_a_switch_seen(ls):
    job = ls.finished_job(EVENT_POSTCOPY, None, migration.JOB_COMPLETED)
    assert job.phase == migration.POSTCOPY


def test_abort_keeps_the_last_running_sample(ls):
    last = ls.running_job({**RUNNING, 'downtime': 5600})
    assert last.downtime_ms == 5600.0  # QEMU's expected pause
    job = ls.finished_job(None, last, migration.JOB_CANCELLED,
                          'operation aborted')
    assert job.state == migration.JOB_CANCELLED
    assert job.error == 'operation aborted'
    assert job.elapsed_s == pytest.approx(5.152)
    assert job.processed_bytes == 102760448
    assert job.downtime_ms is None  # the guest never paused
    assert migration.stats_of(job)['downtime_ms'] == 0.0
    assert migration.result_state(job) == 'aborted'


def test_failure_without_any_sample(ls):
    job = ls.finished_job({}, None, migration.JOB_FAILED, 'peer gone')
    assert job.state == migration.JOB_FAILED
    assert job.processed_bytes == 0
    assert job.error == 'peer gone'


# -- measurements --

def test_dirty_rate_mean_and_spread_of_windows(ls):
    mean, spread = ls.dirty_rate([39.0, 43.0, 58.0])
    assert mean == pytest.approx(46.667, abs=1e-3)
    assert spread == pytest.approx(10.017, abs=1e-3)


def test_dirty_rate_skips_missing_windows(ls):
    assert ls.dirty_rate([None, 10.0, None, 14.0]) == (12.0, 2.828)
    assert ls.dirty_rate([None]) == (0.0, None)
    assert ls.dirty_rate([]) == (0.0, None)
    assert ls.dirty_rate([7]) == (7.0, None)


def test_steady_windows_have_no_spread(ls):
    assert ls.dirty_rate([20, 20, 20]) == (20.0, 0.0)


def test_cpu_utilisation(ls):
    assert ls.cpu_util(0, 160_000_000, 1.0, 1) == 0.16
    assert ls.cpu_util(0, 4_000_000_000, 1.0, 2) == 1.0
    assert ls.cpu_util(5, 0, 1.0, 1) == 0.0
    assert ls.cpu_util(0, 1, 0.0, 1) == 0.0
    before = {'kernel': 10, 'user': 10, 'idle': 80, 'iowait': 0}
    after = {'kernel': 20, 'user': 40, 'idle': 140, 'iowait': 0}
    assert ls.host_cpu_util(before, after) == 0.4
    assert ls.host_cpu_util(before, before) == 0.0


def test_host_and_vm_entries_of_snapshot_v1(ls):
    cpu = {'kernel': 10, 'user': 10, 'idle': 80, 'iowait': 0}
    host = ls.host_entry('node1', ['x86_64', 15872, 8, 2400],
                         cpu, {**cpu, 'user': 30, 'idle': 140})
    assert host == {'name': 'node1', 'vcpus': 8, 'memory_mib': 15872,
                    'state': 'up', 'cpu_util': 0.25}
    # 256 MiB, 1 vCPU busy 0.4 s of a 2 s window, three dirty windows
    # (one that did not complete)
    vm = ls.vm_entry('lvq', 'node1', (1, 262144, 262144, 1, 900_000_000),
                     100_000_000, 2.0,
                     [(1, 39.0), (1, 43.0), (1, None), (1, 58.0)])
    assert vm == {'id': 'lvq', 'host': 'node1', 'vcpus': 1,
                  'memory_mib': 256, 'cpu_util': 0.4,
                  'dirty_rate_mib_s': 46.667, 'dirty_rate_err_mib_s': 10.017,
                  'dirty_rate_samples': [
                      {'window_s': 1.0, 'mib_s': 39.0},
                      {'window_s': 1.0, 'mib_s': 43.0},
                      {'window_s': 1.0, 'mib_s': 58.0}]}
    quiet = ls.vm_entry('lvq', 'node1', (1, 262144, 262144, 1, 0), 0, 2.0,
                        [])
    assert quiet['dirty_rate_mib_s'] == 0.0
    assert 'dirty_rate_err_mib_s' not in quiet
    assert 'dirty_rate_samples' not in quiet


def _busy_samples(short=(1, 1, 1), long_s=3, rate_mib_s=160.0, wws_mib=64.0):
    return [(w, dirtyrate.window_rate_mib_s(rate_mib_s, wws_mib, w))
            for w in (*short, long_s)]


def test_the_long_window_is_a_sample_but_not_in_the_mean(ls):
    # a guest rewriting 64 MiB at 160 MiB/s: 1 s windows read 58.75,
    # the 3 s window 21.3 (the whole set, once)
    vm = ls.vm_entry('busy', 'node1', (1, 524288, 524288, 1, 0), 0, 6.0,
                     _busy_samples())
    assert vm['dirty_rate_mib_s'] == pytest.approx(58.75, abs=0.01)
    assert vm['dirty_rate_err_mib_s'] == 0.0
    windows = [s['window_s'] for s in vm['dirty_rate_samples']]
    assert windows == [1.0, 1.0, 1.0, 3.0]
    assert vm['dirty_rate_samples'][-1]['mib_s'] == pytest.approx(21.33,
                                                                 abs=0.01)


def test_the_samples_reach_the_model_and_show_the_working_set(ls):
    vm = ls.vm_entry('busy', 'node1', (1, 524288, 524288, 1, 0), 0, 6.0,
                     _busy_samples(rate_mib_s=80.0, wws_mib=128.0))
    host = ls.host_entry('node1', ['x86_64', 15872, 8], *[
        {'kernel': 0, 'user': 0, 'idle': 1, 'iowait': 0}] * 2)
    report = messages.HostReport.from_primitive({
        'host': host, 'vms': [vm], 'measured_at': 1.0, 'driver': 'libvirt',
        'migration_uri': None})
    snap = model.from_primitive({'version': 1, 'hosts': [host],
                                 'vms': report.vms, 'network': {}})
    est = dirtyrate.of_vm(snap.vms['busy'])
    assert est.rate_mib_s == pytest.approx(80.0, rel=0.01)
    assert est.wws_mib == pytest.approx(128.0, rel=0.01)


def test_the_shortest_windows_give_the_mean_whatever_the_order(ls):
    vm = ls.vm_entry('v', 'n', (1, 262144, 262144, 1, 0), 0, 1.0,
                     [(5, 2.0), (2, 10.0), (2, 14.0)])
    assert (vm['dirty_rate_mib_s'], vm['dirty_rate_err_mib_s']) == \
        (12.0, 2.828)
    assert len(vm['dirty_rate_samples']) == 3
    # only the long window completed: it is all there is
    alone = ls.vm_entry('v', 'n', (1, 262144, 262144, 1, 0), 0, 1.0,
                        [(1, None), (3, 9.0)])
    assert alone['dirty_rate_mib_s'] == 9.0
    assert alone['dirty_rate_samples'] == [{'window_s': 3.0, 'mib_s': 9.0}]


def test_window_lengths_of_a_measurement(ls):
    assert ls.dirty_rate_windows_s(3, 1, 3) == (1, 1, 1, 3)
    assert ls.dirty_rate_windows_s(1, 2, 0) == (2,)
    for long_s in (1, 2):
        with pytest.raises(exception.InvalidInput) as info:
            ls.dirty_rate_windows_s(3, 2, long_s)
        assert info.value.field == '[libvirt] dirty_rate_long_window_s'


def _job(iteration, remaining):
    return migration.JobInfo(state=migration.JOB_RUNNING,
                             iteration=iteration,
                             memory_remaining_bytes=remaining)


def test_a_shrinking_remainder_converges(ls):
    history = [_job(1, 200), _job(2, 90), _job(2, 80), _job(3, 60),
               _job(4, 30), _job(5, 12)]
    assert not migration.stops_converging(history)


def test_a_flat_remainder_stops_converging(ls):
    history = [_job(1, 200), _job(2, 100), _job(3, 98), _job(3, 50),
               _job(4, 101), _job(5, 99)]
    assert migration.stops_converging(history)


def test_too_few_passes_to_tell(ls):
    assert not migration.stops_converging([_job(1, 200), _job(2, 100),
                                    _job(3, 100)])
    assert not migration.stops_converging([])


def test_the_driver_refuses_to_start_without_libvirt_python(monkeypatch):
    from oslo_config import cfg

    from nova_livemig import conf as nconf
    from nova_livemig import exception
    import nova_livemig.drivers
    # Import a second copy of the driver with libvirt blocked; monkeypatch
    # puts back sys.modules *and* the package attribute the import sets,
    # so later tests get the real driver.
    monkeypatch.setitem(sys.modules, 'libvirt', None)
    monkeypatch.delitem(sys.modules, 'nova_livemig.drivers.libvirt',
                        raising=False)
    monkeypatch.setattr(nova_livemig.drivers, 'libvirt',
                        getattr(nova_livemig.drivers, 'libvirt', None),
                        raising=False)
    driver_mod = importlib.import_module('nova_livemig.drivers.libvirt')
    conf = cfg.ConfigOpts()
    nconf.register_opts(conf)
    conf([], project='nova-livemig', default_config_files=[])
    with pytest.raises(exception.InvalidInput, match='libvirt-python'):
        driver_mod.LibvirtDriver(conf)
