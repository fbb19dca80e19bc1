"""The libvirt driver's post-copy recovery with libvirt's objects stubbed:
a call that returns with the post-copy paused leaves the job running and
paused; a resume waits for the failed call, the path and the
destination, then calls migrateToURI3 again with the resume flag; a VM
that left the source counts as completed only when the destination shows
it migrated. The real thing is tests/functional/test_postcopy_recover.py.
"""

import threading

import pytest

from nova_livemig import conf as conf_mod
from nova_livemig.drivers import libvirt_job
from nova_livemig.drivers import migration
from tests.unit import fakehosts

libvirt = pytest.importorskip('libvirt')

PAUSED_FAILED = (libvirt.VIR_DOMAIN_PAUSED,
                 libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)
DEST_FAILED = (libvirt.VIR_DOMAIN_RUNNING,
               libvirt.VIR_DOMAIN_RUNNING_POSTCOPY_FAILED)
DEST_DONE = (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_MIGRATED)


def _error(message):
    err = libvirt.libvirtError(message)
    err.err = (libvirt.VIR_ERR_OPERATION_FAILED, 0, message, 0, '', '', '',
               0, 0)
    return err


class Dom:
    """The source's domain: each migrateToURI3 call takes the next
    ``outcomes`` entry (an error message, or None for success) after
    ``release`` is set; ``state`` is what dom.state() says."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.state_now = (libvirt.VIR_DOMAIN_PAUSED,
                          libvirt.VIR_DOMAIN_PAUSED_POSTCOPY)
        self.active = True
        self.calls = []
        self.aborts = []

    def UUIDString(self):
        return '11111111-2222-3333-4444-555555555555'

    def name(self):
        return 'vm1'

    def state(self):
        if self.active is None:
            raise _error('Domain not found')
        return list(self.state_now)

    def isActive(self):
        if self.active is None:
            raise _error('Domain not found')
        return self.active

    def jobStats(self, flags=0):
        return {'type': libvirt.VIR_DOMAIN_JOB_UNBOUNDED,
                'time_elapsed': 1000, 'memory_total': 256 << 20,
                'memory_processed': 64 << 20, 'data_processed': 64 << 20}

    def migrateToURI3(self, uri, params, flags):
        self.calls.append((uri, dict(params), flags))
        outcome = self.outcomes.pop(0)
        if callable(outcome):
            outcome = outcome()
        if outcome is not None:
            raise _error(outcome)

    def abortJobFlags(self, flags):
        self.aborts.append(flags)


class Conn:
    def __init__(self, dest_state):
        self.dest_state = dest_state

    def isAlive(self):
        return True

    def domainEventRegisterAny(self, *args):
        return 1

    def lookupByUUIDString(self, uuid):
        if self.dest_state[0] is None:
            raise _error('Domain not found')
        return type('D', (), {'state': lambda _: list(self.dest_state[0])})()

    def close(self):
        pass


@pytest.fixture
def make(monkeypatch):
    from nova_livemig.drivers import libvirt as module
    monkeypatch.setattr(module, 'start_event_loop', lambda: None)
    monkeypatch.setattr(module, 'RESUME_SETTLE_S', 0.0)

    def make(outcomes, probe=True, dest=DEST_FAILED):
        from oslo_config import cfg
        conf = cfg.ConfigOpts()
        conf_mod.register_opts(conf)
        conf([], project='nova-livemig', default_config_files=[])
        conf.set_override('host', 'a', 'agent')
        conf.set_override('live_migration_scheme', 'tcp', 'libvirt')
        conf.set_override('live_migration_with_native_tls', False,
                          'libvirt')
        dest_state = [dest]
        monkeypatch.setattr(module.libvirt, 'open',
                            lambda uri: Conn(dest_state))
        probes = []
        driver = module.LibvirtDriver(
            conf, probe=lambda a, p: probes.append((a, p)) or probe)
        dom = Dom(outcomes)
        job = libvirt_job.MigrationJob('vm1', dom, fakehosts.step(
            algorithm='postcopy'))
        flags = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_POSTCOPY
        job.args = ('qemu+tcp://b/system', {'bandwidth': 0}, flags)
        job.address = 'b'
        job.phase, job.switch_seen = migration.POSTCOPY, True
        driver._jobs.add(job)
        return driver, dom, job, probes, dest_state

    return make


def _call(driver, job):
    driver._start_call(job, job.args[2])
    job.call.join(5)


def test_a_call_that_returns_paused_leaves_the_job_running_paused(make):
    driver, dom, job, _, _ = make(['socket closed'])
    dom.state_now = PAUSED_FAILED
    _call(driver, job)
    assert not job.done.is_set() and job.postcopy_failed
    info = driver.job_info('vm1')
    assert info.state == migration.JOB_RUNNING and info.postcopy_paused


def test_a_call_that_fails_without_a_pause_fails_the_job(make):
    driver, dom, job, _, _ = make(['boom'])
    dom.state_now = (libvirt.VIR_DOMAIN_RUNNING, 1)
    _call(driver, job)
    assert job.done.is_set() and job.end_state()[0] == migration.JOB_FAILED


def test_resume_waits_for_the_path_then_sends_the_resume_flag(make):
    driver, dom, job, probes, _ = make(['socket closed', None],
                                       probe=False)
    dom.state_now = PAUSED_FAILED
    _call(driver, job)
    assert driver.resume_postcopy('vm1') is False  # no path
    assert probes == [('b', 16509)]
    driver._probe = lambda a, p: True
    assert driver.resume_postcopy('vm1') is True
    job.call.join(5)
    uri, params, flags = dom.calls[-1]
    assert (uri, params) == ('qemu+tcp://b/system', {'bandwidth': 0})
    assert flags & libvirt.VIR_MIGRATE_POSTCOPY_RESUME
    assert flags & libvirt.VIR_MIGRATE_POSTCOPY
    assert job.done.is_set() and job.end_state() == (
        migration.JOB_COMPLETED, None)
    assert job.resumes == 1


def test_no_resume_before_the_failed_call_returned(make):
    driver, dom, job, _, _ = make(['socket closed'])
    dom.state_now = PAUSED_FAILED
    gate = threading.Event()
    real = dom.migrateToURI3
    dom.migrateToURI3 = lambda *a: (gate.wait(5), real(*a))
    driver._start_call(job, job.args[2])
    assert driver.resume_postcopy('vm1') is False
    gate.set()
    job.call.join(5)
    assert len(dom.calls) == 1


def test_no_resume_while_the_destination_has_not_failed(make):
    driver, dom, job, _, dest = make(['socket closed', None],
                                     dest=(libvirt.VIR_DOMAIN_RUNNING,
                                           libvirt.VIR_DOMAIN_RUNNING_POSTCOPY))
    dom.state_now = PAUSED_FAILED
    _call(driver, job)
    assert driver.resume_postcopy('vm1') is False
    dest[0] = DEST_FAILED
    assert driver.resume_postcopy('vm1') is True


def test_pause_asks_libvirt_for_the_postcopy_abort(make):
    driver, dom, job, _, _ = make([])
    assert driver.pause_postcopy('vm1') is True
    assert dom.aborts == [libvirt.VIR_DOMAIN_ABORT_JOB_POSTCOPY]
    job.switch_seen = False
    assert driver.pause_postcopy('vm1') is False


@pytest.mark.parametrize('dest,state', [
    (DEST_DONE, migration.JOB_COMPLETED),
    (None, migration.JOB_FAILED),
    (DEST_FAILED, migration.JOB_FAILED)])
def test_a_resume_libvirt_calls_failed_counts_only_if_the_vm_arrived(
        make, dest, state):
    def resume_fails_and_the_source_goes():
        # the source shut down meanwhile (QEMU finished, or someone
        # destroyed it); the destination decides
        dom.active = None
        dest_state[0] = dest
        return 'QEMU reports migration is still running'

    driver, dom, job, _, dest_state = make(['socket closed',
                                            resume_fails_and_the_source_goes])
    dom.state_now = PAUSED_FAILED
    _call(driver, job)
    assert driver.resume_postcopy('vm1') is True
    job.call.join(5)
    assert job.done.is_set()
    assert job.end_state()[0] == state


def test_a_destination_that_cannot_be_asked_waits_the_settle_time(
        make, monkeypatch):
    from nova_livemig.drivers import libvirt as module
    driver, dom, job, _, _ = make(['socket closed', None])
    dom.state_now = PAUSED_FAILED
    _call(driver, job)

    def refuse(uri):
        raise _error('no client certificate')

    monkeypatch.setattr(module.libvirt, 'open', refuse)
    monkeypatch.setattr(module, 'RESUME_SETTLE_S', 3600.0)
    assert driver.resume_postcopy('vm1') is False
    monkeypatch.setattr(module, 'RESUME_SETTLE_S', 0.0)
    assert driver.resume_postcopy('vm1') is True
