"""The ``libvirt`` driver on real QEMU guests (tools/testbed).

Skips unless the testbed is up and libvirt-python is installed; under
``CI=true`` a missing testbed fails instead. Two dirtier guests of
256 MiB, a quiet one (2 MiB/s over 64 MiB) and a busy one (40 MiB/s over
128 MiB: more than a 200 Mbit/s link carries, so pre-copy never
converges), start on ``node1`` and move between the nodes; the tests run
in file order and follow them. Each migration is driven as the agent
drives it: the driver's job, the decisions of
:mod:`nova_livemig.drivers.migration`.

The test config uses ``qemu+tcp`` without TLS: the testbed's libvirtds
listen only inside its private namespaces (``auth_tcp = "none"``). The
product's default stays ``qemu+tls`` (checked below).
"""

import os
import pathlib
import subprocess
import time

from oslo_config import cfg
import pytest

from nova_livemig import conf as nconf
from nova_livemig import exception
from nova_livemig import messages
from nova_livemig.drivers import libvirt_flags
from nova_livemig.drivers import libvirt_stats
from nova_livemig.drivers import libvirt_uri
from nova_livemig.drivers import migration
from tests import fixtures

pytestmark = pytest.mark.testbed(nodes=3)
testbed = fixtures.load_testbed()

MIB = migration.MIB
QUIET = f'lvq-{os.getpid()}'
BUSY = f'lvb-{os.getpid()}'


@pytest.fixture(scope='module')
def drivers(state):
    from nova_livemig.drivers import libvirt as libvirt_driver
    return {n['name']: libvirt_driver.LibvirtDriver(
        fixtures.testbed_driver_conf(n))
            for n in state['nodes']}


@pytest.fixture(scope='module')
def where(state):
    """``{guest: node}``: both guests, started on node1, destroyed at the
    end wherever they are (only these two: other tests share the
    testbed)."""
    located = {}
    testbed.start_guest('node1', QUIET, memory_mib=256, dirty_mib_s=2,
                        wws_mib=64, scan_s=2, state=state)
    located[QUIET] = 'node1'
    testbed.start_guest('node1', BUSY, memory_mib=256, dirty_mib_s=40,
                        wws_mib=128, scan_s=2, state=state)
    located[BUSY] = 'node1'
    yield located
    fixtures.destroy_guests(state, (QUIET, BUSY))


def _clean(name, state, scans=2):
    """Wait for ``scans`` more full memory checks; assert them clean."""
    before = testbed.wait_for_status(name, min_scans=1, timeout_s=120,
                                     state=state)
    assert before['status'] == 'ok', before
    after = testbed.wait_for_status(
        name, after_seq=before['seq'], min_scans=before['scans'] + scans,
        timeout_s=90, state=state)
    assert after['status'] == 'ok', after
    return after


def _running_on(libvirt, state, name, node_name):
    conn = libvirt.open(testbed.node(node_name, state)['libvirt_uri'])
    try:
        dom = conn.lookupByName(name)
        return dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    except libvirt.libvirtError:
        return False
    finally:
        conn.close()


def _step(name, src, dst, drivers, algorithm='precopy', deadline_s=120.0,
          postcopy_after_s=None):
    return messages.MigrationStep(
        plan_id='test', step_id=f'{name}-{time.monotonic_ns()}', vm=name,
        source=src, destination=dst, algorithm=algorithm,
        max_downtime_ms=500.0, bandwidth_mib_s=0, deadline_s=deadline_s,
        postcopy_after_s=postcopy_after_s,
        predicted={'algorithm': algorithm, 'total_s': 12.0,
                   'downtime_ms': 500.0, 'bytes': 140 * MIB,
                   'converges': True, 'iterations': 3, 'slowdown': 0.0,
                   'risks': []},
        destination_uri=drivers[dst].migration_uri())


def _drive(driver, step, on_sample=None, poll_s=0.25, timeout_s=180):
    """The agent's monitor loop, in short; returns
    ``(final JobInfo, switched_at_s, aborted_at_s, samples)``."""
    driver.start_migration(step)
    t0 = time.monotonic()
    switched = aborted = None
    samples = []
    while True:
        job = driver.job_info(step.vm)
        now = time.monotonic() - t0
        if job.finished:
            return job, switched, aborted, samples
        assert now < timeout_s, f'{step.vm}: still migrating: {job}'
        samples.append(job)
        if on_sample is not None and on_sample(job, now):
            driver.switch_to_postcopy(step.vm)
            switched = now
        elif migration.should_abort(job, step, now) and aborted is None:
            assert driver.abort(step.vm)
            aborted = now
        elif (switched is None
              and migration.should_switch_to_postcopy(job, step, now)):
            driver.switch_to_postcopy(step.vm)
            switched = now
        time.sleep(poll_s)


def test_libvirt_constants_match_libvirt_python(libvirt):
    for module in (libvirt_stats, libvirt_flags):
        for name in dir(module):
            if name.startswith('VIR_'):
                assert getattr(module, name) == getattr(libvirt, name), name
    assert libvirt_flags.PARAM_BANDWIDTH == libvirt.VIR_MIGRATE_PARAM_BANDWIDTH
    assert libvirt_flags.PARAM_URI == libvirt.VIR_MIGRATE_PARAM_URI
    assert libvirt_flags.PARAM_COMPRESSION == \
        libvirt.VIR_MIGRATE_PARAM_COMPRESSION
    assert libvirt_flags.PARAM_PARALLEL_CONNECTIONS == \
        libvirt.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS


def test_product_defaults_are_tls(libvirt):
    conf = cfg.ConfigOpts()
    nconf.register_opts(conf)
    conf([], project='nova-livemig', default_config_files=[])
    conf.set_override('host', 'cmp1', 'agent')
    assert conf.libvirt.connection_uri == 'qemu:///system'
    assert conf.libvirt.live_migration_scheme == 'tls'
    assert conf.libvirt.live_migration_with_native_tls
    assert libvirt_uri.connection_uri(
        conf.libvirt.live_migration_scheme,
        libvirt_uri.check_address('destination', 'cmp1')) == \
        'qemu+tls://cmp1/system'


def test_measure_busy_and_quiet_guests(state, drivers, where):
    for name in (QUIET, BUSY):
        testbed.wait_for_status(name, min_scans=1, timeout_s=120,
                                state=state)
    host, vms = drivers['node1'].measure()
    assert host['name'] == 'node1'
    assert host['vcpus'] >= 1 and host['memory_mib'] > 512
    assert 0.0 <= host['cpu_util'] <= 1.0
    by_id = {v['id']: v for v in vms}
    busy, quiet = by_id[BUSY], by_id[QUIET]
    print(f'measured: host {host}; busy {busy}; quiet {quiet}')
    for vm in (busy, quiet):
        assert vm['host'] == 'node1'
        assert vm['memory_mib'] == 256 and vm['vcpus'] == 1
        assert 0.0 < vm['cpu_util'] <= 1.0
    # 40 MiB/s (41.9 MB/s) dirtied; page sampling is noisy: a wide band,
    # with the spread of the windows reported
    assert 20.0 <= busy['dirty_rate_mib_s'] <= 80.0, busy
    assert busy['dirty_rate_err_mib_s'] is not None
    assert busy['dirty_rate_err_mib_s'] < busy['dirty_rate_mib_s']
    assert quiet['dirty_rate_mib_s'] < 10.0, quiet
    assert busy['cpu_util'] > quiet['cpu_util'] * 0.5


@pytest.mark.slow
def test_precopy_of_a_quiet_guest(state, drivers, where, libvirt):
    _clean(QUIET, state, scans=1)
    step = _step(QUIET, 'node1', 'node2', drivers)
    job, switched, aborted, samples = _drive(drivers['node1'], step)
    assert (switched, aborted) == (None, None)
    assert job.state == migration.JOB_COMPLETED, job
    where[QUIET] = 'node2'
    assert any(s.state == migration.JOB_RUNNING and s.processed_bytes > 0
               for s in samples), samples
    stats = drivers['node1'].completed_stats(QUIET)
    print(f'pre-copy, quiet: {stats}')
    # 64 MiB working set plus the guest's kernel and page cache, about
    # 140 MiB; how long it took depends on how busy the machine is
    assert stats['total_s'] > 0.0 and stats['downtime_ms'] > 0.0, stats
    assert 80 * MIB < stats['bytes'] < 600 * MIB, stats
    assert stats['iterations'] >= 2 and stats['postcopy'] is False, stats
    assert _running_on(libvirt, state, QUIET, 'node2')
    assert not _running_on(libvirt, state, QUIET, 'node1')
    _clean(QUIET, state)
    drivers['node1'].cleanup(QUIET)
    assert drivers['node1'].job_info(QUIET).state == migration.JOB_NONE


@pytest.mark.slow
def test_abort_at_the_deadline_keeps_the_guest_on_the_source(
        state, drivers, where, libvirt):
    _clean(BUSY, state, scans=1)
    step = _step(BUSY, 'node1', 'node2', drivers, deadline_s=8.0)
    job, switched, aborted, samples = _drive(drivers['node1'], step)
    assert switched is None and aborted is not None and aborted >= 8.0
    assert job.state == migration.JOB_CANCELLED, job
    assert migration.result_state(job) == 'aborted'
    # no completed statistics after an abort: the last running sample
    stats = drivers['node1'].completed_stats(BUSY)
    print(f'aborted at {aborted:.1f} s: {stats}')
    assert stats['bytes'] > 0 and stats['total_s'] > 0.0, stats
    assert stats['bytes'] == samples[-1].processed_bytes
    assert _running_on(libvirt, state, BUSY, 'node1')
    assert not _running_on(libvirt, state, BUSY, 'node2')
    _clean(BUSY, state)
    drivers['node1'].cleanup(BUSY)


def _libvirtd_pid(netns):
    out = subprocess.run(['ip', 'netns', 'pids', netns], check=True,
                         capture_output=True, text=True).stdout.split()
    for pid in out:
        try:
            comm = pathlib.Path(f'/proc/{pid}/comm').read_text().strip()
        except OSError:
            continue
        if comm == 'libvirtd':
            return int(pid)
    return None


def _start_libvirtd(state, node):
    ns_dir = pathlib.Path(os.environ.get(
        'TESTBED_VAR', '/var/lib/nova-livemig-testbed')) / 'ns'
    subprocess.run(['nsenter', f'--mount={ns_dir}/{node["name"]}.mnt',
                    f'--uts={ns_dir}/{node["name"]}.uts',
                    f'--net=/run/netns/{node["netns"]}',
                    'libvirtd', '--daemon', '--listen'], check=True)


@pytest.mark.slow
def test_destination_libvirtd_dies_mid_migration(state, drivers, where,
                                                 libvirt):
    # node3: the other tests of the testbed use node1 and node2
    dst = testbed.node('node3', state)
    pid = _libvirtd_pid(dst['netns'])
    assert pid is not None, 'no libvirtd in node3'
    _clean(BUSY, state, scans=1)
    step = _step(BUSY, 'node1', 'node3', drivers, deadline_s=120.0)
    killed = []

    def kill(job, now):
        if not killed and job.processed_bytes > 20 * MIB:
            os.kill(pid, 9)
            killed.append(now)
        return False

    try:
        job, switched, aborted, _ = _drive(drivers['node1'], step,
                                           on_sample=kill)
    finally:
        if _libvirtd_pid(dst['netns']) is None:
            _start_libvirtd(state, dst)
    assert killed, 'the migration ended before libvirtd could be killed'
    print(f'libvirtd killed at {killed[0]:.1f} s: {job}')
    assert switched is None and aborted is None
    assert job.state == migration.JOB_FAILED, job
    assert job.error
    assert _running_on(libvirt, state, BUSY, 'node1')
    _clean(BUSY, state)
    drivers['node1'].cleanup(BUSY)
    # node3's libvirtd is back and the guest is not there
    deadline = time.monotonic() + 30
    while True:
        try:
            assert not _running_on(libvirt, state, BUSY, 'node3')
            break
        except libvirt.libvirtError:
            assert time.monotonic() < deadline
            time.sleep(1)


@pytest.mark.slow
def test_postcopy_switch_when_the_plan_says(state, drivers, where,
                                            libvirt):
    _clean(BUSY, state, scans=1)
    step = _step(BUSY, 'node1', 'node2', drivers, deadline_s=120.0,
                 postcopy_after_s=5.0)
    job, switched, aborted, samples = _drive(drivers['node1'], step)
    assert aborted is None
    # never before the plan says; how much later depends on the load
    assert switched is not None and 5.0 <= switched < 120.0, switched
    assert job.state == migration.JOB_COMPLETED, job
    where[BUSY] = 'node2'
    stats = drivers['node1'].completed_stats(BUSY)
    print(f'post-copy after {switched:.1f} s: {stats}, '
          f'{job.postcopy_requests} page requests')
    # from the source's job-completed event: libvirt keeps no completed
    # statistics after post-copy
    assert stats['postcopy'] is True, stats
    assert stats['total_s'] > switched, stats
    assert stats['downtime_ms'] > 0.0, stats
    assert stats['bytes'] > 128 * MIB, stats
    assert job.postcopy_requests > 0, job
    assert _running_on(libvirt, state, BUSY, 'node2')
    _clean(BUSY, state)
    drivers['node1'].cleanup(BUSY)


@pytest.mark.slow
def test_postcopy_switch_when_precopy_stops_converging(state, drivers,
                                                       where, libvirt):
    # The plan's fallback is far (60 s); the job stops converging well
    # before: the loop switches as soon as libvirt_stats says so.
    _clean(BUSY, state, scans=1)
    driver = drivers['node2']
    step = _step(BUSY, 'node2', 'node1', drivers, deadline_s=120.0,
                 postcopy_after_s=60.0)

    def not_converging(job, now):
        return migration.stops_converging(driver.history(BUSY))

    job, switched, aborted, samples = _drive(driver, step,
                                             on_sample=not_converging)
    assert aborted is None
    assert switched is not None and switched < 60.0, switched
    assert max(s.iteration for s in samples) >= 4
    assert job.state == migration.JOB_COMPLETED, job
    where[BUSY] = 'node1'
    stats = driver.completed_stats(BUSY)
    print(f'post-copy when not converging, after {switched:.1f} s, '
          f'{max(s.iteration for s in samples)} passes: {stats}')
    assert stats['postcopy'] is True, stats
    assert _running_on(libvirt, state, BUSY, 'node1')
    _clean(BUSY, state)
    driver.cleanup(BUSY)


@pytest.mark.slow
def test_attach_and_tune_a_migration_started_elsewhere(state, drivers,
                                                       where, libvirt):
    # nova-compute starts the migration (here: libvirt-python directly);
    # the driver attaches to it, tunes it and follows it to the end.
    import threading
    src, dst = where[QUIET], 'node1' if where[QUIET] != 'node1' else 'node2'
    driver = drivers[src]
    _clean(QUIET, state, scans=1)
    conn = libvirt.open(testbed.node(src, state)['libvirt_uri'])
    dom = conn.lookupByName(QUIET)
    assert driver.attach_job(QUIET) is False  # nothing runs yet
    errors = []

    def migrate():
        try:
            dom.migrateToURI3(
                testbed.node(dst, state)['libvirt_uri'],
                {libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 5},
                libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER)
        except libvirt.libvirtError as err:
            errors.append(err)

    thread = threading.Thread(target=migrate)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not driver.attach_job(QUIET):
            assert time.monotonic() < deadline, 'no job to attach to'
            time.sleep(0.2)
        driver.tune_job(QUIET, bandwidth_mib_s=40, max_downtime_ms=300)
        assert dom.migrateGetMaxSpeed(0) == 40
        assert dom.migrateGetMaxDowntime(0) == 300
        while True:
            job = driver.job_info(QUIET)
            if job.finished:
                break
            assert time.monotonic() < deadline + 60, job
            time.sleep(0.25)
    finally:
        thread.join(120)
        conn.close()
    assert not errors, errors
    assert job.state == migration.JOB_COMPLETED, job
    where[QUIET] = dst
    stats = driver.completed_stats(QUIET)
    print(f'attached pre-copy: {stats}')
    # the tuning reached the running job (the speed and downtime read back
    # above); how long it then took depends on how busy the machine is
    assert stats['bytes'] > 80 * MIB and stats['total_s'] > 0, stats
    with pytest.raises(exception.MigrationFailed, match='no running'):
        driver.tune_job(QUIET, bandwidth_mib_s=10)
    driver.cleanup(QUIET)
    assert _running_on(libvirt, state, QUIET, dst)
    _clean(QUIET, state)
