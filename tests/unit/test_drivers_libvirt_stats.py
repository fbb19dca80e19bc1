"""The pure helpers of the libvirt driver, with plain values only.

libvirt is blocked while the module is imported: the helpers must not
need it.
"""

import importlib
import sys

import pytest

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


def _step(algorithm, bandwidth_mib_s=0, postcopy_after_s=None):
    return {'algorithm': algorithm, 'bandwidth_mib_s': bandwidth_mib_s,
            'postcopy_after_s': postcopy_after_s}


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
                     'postcopy': True}


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


# -- migrateToURI3 flags and parameters --

def test_precopy_is_live_peer_to_peer_only(ls):
    flags, params = ls.migrate_args(_step('precopy'))
    assert flags == ls.VIR_MIGRATE_LIVE | ls.VIR_MIGRATE_PEER2PEER
    assert params == {}


@pytest.mark.parametrize('algorithm,flag', [
    ('autoconverge', 'VIR_MIGRATE_AUTO_CONVERGE'),
    ('compress', 'VIR_MIGRATE_COMPRESSED'),
    ('postcopy', 'VIR_MIGRATE_POSTCOPY'),
    ('hybrid', 'VIR_MIGRATE_POSTCOPY')])
def test_each_algorithm_sets_its_flag(ls, algorithm, flag):
    flags, _params = ls.migrate_args(_step(algorithm))
    assert flags & getattr(ls, flag)
    assert flags & ls.VIR_MIGRATE_LIVE and flags & ls.VIR_MIGRATE_PEER2PEER
    others = {'VIR_MIGRATE_AUTO_CONVERGE', 'VIR_MIGRATE_COMPRESSED',
              'VIR_MIGRATE_POSTCOPY'} - {flag}
    assert not any(flags & getattr(ls, o) for o in others)


def test_precopy_with_a_postcopy_deadline_can_switch(ls):
    flags, _ = ls.migrate_args(_step('precopy', postcopy_after_s=20.0))
    assert flags & ls.VIR_MIGRATE_POSTCOPY


def test_bandwidth_cap_in_whole_mib_s_and_zero_is_unlimited(ls):
    assert ls.migrate_args(_step('precopy', 12.2))[1] == {'bandwidth': 13}
    assert ls.migrate_args(_step('precopy', 0.3))[1] == {'bandwidth': 1}
    assert 'bandwidth' not in ls.migrate_args(_step('precopy', 0))[1]


def test_compress_methods_and_parallel_connections(ls):
    flags, params = ls.migrate_args(_step('compress'),
                                    compression=('zstd',),
                                    parallel_connections=4)
    assert flags & ls.VIR_MIGRATE_COMPRESSED
    assert flags & ls.VIR_MIGRATE_PARALLEL
    assert params == {'compression': ['zstd'], 'parallel.connections': 4}


def test_persistent_domain_moves_its_definition(ls):
    flags, _ = ls.migrate_args(_step('precopy'), persistent=True)
    assert flags & ls.VIR_MIGRATE_PERSIST_DEST
    assert flags & ls.VIR_MIGRATE_UNDEFINE_SOURCE


def test_tls_choices(ls):
    flags, _ = ls.migrate_args(_step('postcopy'), native_tls=True)
    assert flags & ls.VIR_MIGRATE_TLS
    assert not flags & ls.VIR_MIGRATE_TUNNELLED
    flags, _ = ls.migrate_args(_step('precopy'), tunnelled=True)
    assert flags & ls.VIR_MIGRATE_TUNNELLED
    with pytest.raises(ValueError, match='exclude'):
        ls.migrate_args(_step('precopy'), native_tls=True, tunnelled=True)


@pytest.mark.parametrize('step', [_step('postcopy'), _step('hybrid'),
                                  _step('precopy', postcopy_after_s=5)])
def test_tunnelled_postcopy_is_refused(ls, step):
    with pytest.raises(ValueError, match='post-copy'):
        ls.migrate_args(step, tunnelled=True)


def test_unknown_algorithm_is_refused(ls):
    with pytest.raises(ValueError, match='xbzrle-only'):
        ls.migrate_args(_step('xbzrle-only'))


def test_migrate_uri_parameter(ls):
    _, params = ls.migrate_args(_step('precopy'),
                                migrate_uri='tcp://10.0.0.2')
    assert params == {'migrate_uri': 'tcp://10.0.0.2'}


def test_downtime_limit_leaves_room_for_the_switchover(ls):
    # 500 ms target, 5 ms switchover, 0.05 MiB of device state at
    # 25 MiB/s (2 ms): QEMU gets 493 ms
    assert ls.downtime_limit_ms(500, 25.0, 5.0, 0.05) == 493
    assert ls.downtime_limit_ms(500, 0.0, 5.0, 0.05) == 495
    assert ls.downtime_limit_ms(4, 25.0, 5.0, 0.05) == 1


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

    import nova_livemig.drivers
    from nova_livemig import conf as nconf
    from nova_livemig import exception
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
