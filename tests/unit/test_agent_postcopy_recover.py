"""The agent's monitor when a post-copy link breaks: a scripted driver
(its link cut after a few looks, back or not) under a real agent on the
in-process transport; the agent's clock is a counter, so nothing here
depends on how fast the machine is."""

import threading

from oslo_config import cfg
import pytest

from nova_livemig import conf as nconf
from nova_livemig import drivers
from nova_livemig import rpc
from nova_livemig.agent import manager as agent_mod
from nova_livemig.drivers import migration
from tests import fixtures
from tests.unit import fakehosts

MIB = migration.MIB


class LinkDriver(drivers.ComputeDriver):
    """One post-copy job whose link breaks after ``cut_after`` looks and
    comes back ``back_after`` looks later (never when None); with
    ``recovers`` False the driver cannot pause nor resume."""

    name = 'link'

    def __init__(self, conf, cut_after=4, back_after=6, recovers=True):
        super().__init__(conf)
        self.cut_after, self.back_after = cut_after, back_after
        self.recovers = recovers
        self.looks = 0
        self.moved = 0
        self.paused = False
        self.resumed_at = None
        self.calls = []
        self.lock = threading.Lock()

    def measure(self):
        return {}, []

    def migration_uri(self):
        return None

    def start_migration(self, step):
        self.calls.append('start')

    def _link_up(self):
        if self.looks < self.cut_after:
            return True
        return (self.back_after is not None
                and self.looks >= self.cut_after + self.back_after)

    def job_info(self, vm):
        with self.lock:
            self.looks += 1
            if self.paused:
                return migration.JobInfo(
                    state=migration.JOB_RUNNING, phase=migration.POSTCOPY,
                    processed_bytes=self.moved, postcopy_paused=True)
            if self._link_up():
                self.moved += 8 * MIB
            if self.moved >= 256 * MIB:
                return migration.JobInfo(
                    state=migration.JOB_COMPLETED, phase=migration.POSTCOPY,
                    processed_bytes=self.moved, elapsed_s=self.looks)
            return migration.JobInfo(
                state=migration.JOB_RUNNING, phase=migration.POSTCOPY,
                processed_bytes=self.moved, elapsed_s=self.looks)

    def switch_to_postcopy(self, vm):
        self.calls.append('switch')

    def abort(self, vm):
        self.calls.append('abort')
        return False

    def completed_stats(self, vm):
        return migration.stats_of(migration.JobInfo(
            state=migration.JOB_COMPLETED, phase=migration.POSTCOPY,
            processed_bytes=self.moved, elapsed_s=self.looks))

    def pause_postcopy(self, vm):
        if not self.recovers:
            return super().pause_postcopy(vm)
        with self.lock:
            self.calls.append('pause')
            self.paused = True
        return True

    def resume_postcopy(self, vm):
        if not self.recovers:
            return super().resume_postcopy(vm)
        with self.lock:
            self.calls.append('resume')
            if not self._link_up():
                return False
            self.paused = False
            return True


class Counter:
    """A clock that moves 0.25 s at each reading."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 0.25
        return self.t


@pytest.fixture
def run():
    made = []

    def run(**driver_args):
        conf = cfg.ConfigOpts()
        nconf.register_opts(conf)
        conf([], project='nova-livemig', default_config_files=[])
        conf.set_override('host', 'a', 'agent')
        conf.set_override('monitor_interval_s', 0.001, 'agent')
        conf.set_override('progress_interval_s', 1000.0, 'agent')
        conf.set_override('postcopy_stall_s', 2.0, 'agent')
        conf.set_override('postcopy_recover_timeout_s', 20.0, 'agent')
        transport = rpc.get_transport(conf)
        stub = fixtures.ConductorStub()
        server = rpc.get_server(transport, rpc.CONDUCTOR_TOPIC, 'conductor',
                                [stub])
        server.start()
        made.append((server, transport))
        driver = LinkDriver(conf, **driver_args)
        agent = agent_mod.Agent(conf, driver, transport, clock=Counter())
        step = fakehosts.step(algorithm='postcopy')
        agent.live_migrate(step)
        result = stub.wait_for('migration_result', timeout=30)[0]
        return result, driver

    yield run
    for server, transport in made:
        server.stop()
        server.wait()
        transport.cleanup()


def test_a_link_that_comes_back_is_paused_resumed_and_reported(run):
    result, driver = run(cut_after=4, back_after=20)
    assert (result.state, result.host, result.error) == ('completed', 'b',
                                                         None)
    assert result.stats['postcopy'] is True
    assert result.stats['postcopy_pauses'] == 1
    # the guest stalled from the last look that saw bytes move until they
    # moved again after the resume: at least the looks the link was down
    assert result.stats['postcopy_paused_s'] >= 20 * 0.25
    assert driver.calls.count('pause') == 1
    assert 'abort' not in driver.calls
    assert driver.calls[-1] == 'resume'


def test_a_link_that_never_comes_back_strands_the_vm_on_the_destination(
        run):
    result, driver = run(cut_after=4, back_after=None)
    # neither completed nor a failure with the VM at home: the VM is on
    # the destination, paused, and the error says where its memory is
    assert (result.state, result.host) == ('failed', 'b')
    for words in ('vm1', 'from a to b', 'split', 'paused on b',
                  'only on a', 'resume', 'Not re-planned'):
        assert words in result.error, (words, result.error)
    assert result.stats['postcopy'] is True
    assert result.stats['postcopy_pauses'] == 1
    assert result.stats['postcopy_paused_s'] > 20.0
    # the whole step, on the agent's clock (the job's stops when paused)
    assert result.stats['total_s'] > result.stats['postcopy_paused_s']
    assert 'abort' not in driver.calls
    assert driver.calls.count('resume') >= 2  # it kept trying


def test_a_driver_that_cannot_recover_is_left_alone(run):
    result, driver = run(cut_after=4, back_after=60, recovers=False)
    assert (result.state, result.host) == ('completed', 'b')
    assert 'postcopy_pauses' not in result.stats
    assert 'abort' not in driver.calls


def test_a_postcopy_without_a_break_reports_no_pause(run):
    result, driver = run(cut_after=10 ** 6)
    assert result.state == 'completed'
    assert result.stats['postcopy_pauses'] == 0
    assert result.stats['postcopy_paused_s'] == 0.0
    assert 'pause' not in driver.calls


@pytest.mark.parametrize('field,value', [('postcopy_pauses', -1),
                                         ('postcopy_pauses', 1.5),
                                         ('postcopy_paused_s', -0.1),
                                         ('postcopy_paused_s', 'long')])
def test_a_result_with_bad_pause_figures_is_refused_naming_the_field(
        field, value):
    from nova_livemig import exception
    from nova_livemig import messages
    stats = {'total_s': 1.0, 'downtime_ms': 1.0, 'bytes': 1,
             'iterations': 1, 'postcopy': True, field: value}
    with pytest.raises(exception.InvalidInput, match=f'stats.{field}'):
        messages.Result.from_primitive({
            'step_id': 's', 'vm': 'v', 'state': 'completed', 'host': 'b',
            'stats': stats, 'error': None})


def test_a_stall_before_post_copy_began_is_not_stranded(run, monkeypatch):
    # the driver refuses the pause (the job is not in post-copy yet: the
    # VM is on the source); the agent never reports it stranded
    monkeypatch.setattr(LinkDriver, 'pause_postcopy',
                        lambda self, vm: self.calls.append('pause') or False)
    result, driver = run(cut_after=4, back_after=200)
    assert (result.state, result.host) == ('completed', 'b')
    assert result.stats['postcopy_pauses'] == 0
    assert driver.calls.count('pause') > 1  # asked again at each look
