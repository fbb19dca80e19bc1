"""The ``nova`` executor without Nova: its ``[nova]`` options, and how it
reads Nova's answers into JobStatus primitives (a fake compute API holds
the server and its migration records; a test clock drives time).

The same calls against Nova's real API are in tests/nova.
"""

import threading

from keystoneauth1 import token_endpoint
from oslo_config import cfg
import oslo_messaging
import pytest

from nova_livemig import conf as livemig_conf
from nova_livemig import exception
from nova_livemig import messages
from nova_livemig import plugins
from nova_livemig import rpc
from nova_livemig.agent import rpcapi
from nova_livemig.conf import nova_client
from nova_livemig.executors import nova
from tests import fixtures

T0 = 1_800_000_000.0  # the test clock's start, seconds since the epoch
CREATED = '2027-01-15T08:00:00.000000'  # T0 in nova's format (UTC, naive)


class FakeNova:
    """The compute API as the executor sees it through NovaClient."""

    def __init__(self):
        self.host = 'h1'
        self.task_state = None
        self.fault = None
        self.migrations = []  # /os-migrations entries
        self.calls = []
        self.refuse_force = False

    def add(self, status, mig_id=None, **fields):
        mig = {'id': mig_id or len(self.migrations) + 1, 'status': status,
               'source_compute': 'h1', 'dest_compute': 'h2',
               'migration_type': 'live-migration', 'created_at': CREATED,
               'updated_at': CREATED, **fields}
        self.migrations.append(mig)
        return mig

    def live_migrate(self, vm_id, host, block_migration='auto'):
        self.calls.append(('live_migrate', vm_id, host))
        self.task_state = 'migrating'

    def force_complete(self, vm_id, migration_id):
        self.calls.append(('force_complete', vm_id, migration_id))
        if self.refuse_force:
            raise exception.MigrationFailed('POST ...: HTTP 400')

    def abort_migration(self, vm_id, migration_id):
        self.calls.append(('abort', vm_id, migration_id))

    def server(self, vm_id):
        server = {'id': vm_id, 'OS-EXT-SRV-ATTR:host': self.host,
                  'OS-EXT-STS:task_state': self.task_state}
        if self.fault:
            server['fault'] = {'message': self.fault}
        return server

    def migrations_in_progress(self, vm_id):
        # nova leaves 'accepted' and 'running (post-copy)' out of this list
        return [{k: v for k, v in m.items() if k != 'migration_type'}
                for m in self.migrations
                if m['status'] in ('queued', 'preparing', 'running',
                                   'post-migrating')]

    def list_migrations(self, vm_id):
        return sorted(self.migrations, key=lambda m: -m['id'])

    def forced(self):
        return [c for c in self.calls if c[0] == 'force_complete']


def make_conf(tmp_path, text=''):
    path = tmp_path / 'nova-livemig.conf'
    path.write_text(text)
    conf = cfg.ConfigOpts()
    livemig_conf.register_opts(conf)
    conf(args=[], project='nova-livemig', default_config_files=[str(path)])
    return conf


@pytest.fixture
def fake():
    return FakeNova()


@pytest.fixture
def clock():
    return fixtures.Clock(T0)


@pytest.fixture
def executor(tmp_path, fake, clock):
    ex = nova.NovaExecutor(make_conf(tmp_path), session=object(),
                           clock=clock)
    ex.client = fake
    return ex


def step(algorithm='precopy', postcopy_after_s=None, step_id='s1'):
    return messages.MigrationStep.from_primitive({
        'plan_id': 'p1', 'step_id': step_id, 'vm': 'vm1', 'source': 'h1',
        'destination': 'h2', 'algorithm': algorithm,
        'max_downtime_ms': 500.0, 'bandwidth_mib_s': 0.0,
        'deadline_s': 60.0, 'postcopy_after_s': postcopy_after_s,
        'predicted': {'algorithm': algorithm, 'total_s': 2.0,
                      'downtime_ms': 50.0, 'bytes': 1, 'converges': True},
        'destination_uri': None}).to_primitive()


def job(executor, s):
    """The answer, checked as the conductor checks it."""
    return messages.JobStatus.from_primitive(executor.job(s))


# -- [nova] options -----------------------------------------------------------

def test_loaded_by_name_with_a_session_from_the_conf_file(tmp_path):
    conf = make_conf(tmp_path, '[nova]\nauth_type = admin_token\n'
                     'token = t0k3n\nendpoint = http://ctl:8774/v2.1\n'
                     'endpoint_override = http://ctl:8774/v2.1\n'
                     'region_name = R2\ntimeout = 7\n')
    ex = plugins.load(plugins.EXECUTORS, 'nova', invoke_args=(conf,))
    assert isinstance(ex, nova.NovaExecutor)
    assert isinstance(ex.client.session.auth, token_endpoint.Token)
    assert ex.client.session.timeout == 7
    assert ex.client.endpoint == 'http://ctl:8774/v2.1'
    assert ex.client.endpoint_filter == {
        'service_type': 'compute', 'interface': 'public',
        'region_name': 'R2'}


@pytest.mark.parametrize('text, names', [
    ('', ['[nova] auth_type', 'password with auth_url']),
    ('[nova]\nauth_type = password\n', ['[nova] auth_url',
                                        'auth_type password needs it']),
    ('[nova]\nauth_type = kerberos-by-pigeon\n',
     ['[nova] auth_type', 'kerberos-by-pigeon', 'installed keystoneauth1']),
])
def test_missing_credentials_are_named(tmp_path, text, names):
    with pytest.raises(exception.InvalidInput) as err:
        nova.NovaExecutor(make_conf(tmp_path, text))
    for name in names:
        assert name in str(err.value)


def test_sample_lists_the_password_plugin_options():
    (group, opts), = nova_client.list_opts().items()
    names = {o.dest for o in opts}
    assert group.name == 'nova'
    assert {'endpoint_override', 'region_name', 'interface', 'auth_type',
            'auth_url', 'username', 'password', 'project_name',
            'user_domain_name', 'cafile', 'timeout'} <= names


def test_client_refusal_names_the_call_and_the_status():
    class Resp:
        status_code = 409
        text = 'Cannot live-migrate while the server is locked'
        content = b'x'

    class Session:
        def request(self, url, method, **kwargs):
            self.kwargs = kwargs
            return Resp()

    client = nova.NovaClient(session=Session(), interface='internal')
    with pytest.raises(exception.MigrationFailed) as err:
        client.live_migrate('vm1', 'h2')
    assert str(err.value).startswith(
        'POST /servers/vm1/action: nova answered HTTP 409: Cannot')
    assert client.session.kwargs['headers']['OpenStack-API-Version'] == \
        'compute 2.80'


# -- start, abort --------------------------------------------------------

def test_start_asks_nova_for_the_planned_host(executor, fake):
    executor.start(step())
    assert fake.calls == [('live_migrate', 'vm1', 'h2')]


# -- tune_migration to the source's agent (agent API 1.1) ----------------

class RecordingAgentAPI:
    """Records the casts in the fake's call list (to see their order)."""

    def __init__(self, calls, fail=False):
        self.calls = calls
        self.fail = fail

    def tune_migration(self, ctxt, host, step):
        if self.fail:
            raise RuntimeError('the message bus is gone')
        self.calls.append(('tune_migration', host, step))


class AgentStub:
    """An agent endpoint of API 1.1 on host h1."""

    target = oslo_messaging.Target(version='1.1')

    def __init__(self):
        self.got = []
        self.seen = threading.Event()

    def tune_migration(self, ctxt, step):
        self.got.append(messages.MigrationStep.from_primitive(step))
        self.seen.set()


def test_start_casts_tune_to_the_source_agent_after_nova_accepts(
        executor, fake):
    executor.agent_api = RecordingAgentAPI(fake.calls)
    executor.start(step())
    assert fake.calls == [('live_migrate', 'vm1', 'h2'),
                          ('tune_migration', 'h1', step())]


def test_refused_live_migration_casts_no_tune(executor, fake):
    executor.agent_api = RecordingAgentAPI(fake.calls)

    def refuse(vm_id, host, block_migration='auto'):
        raise exception.MigrationFailed('POST ...: HTTP 400')
    fake.live_migrate = refuse
    with pytest.raises(exception.MigrationFailed):
        executor.start(step())
    assert fake.calls == []


def test_failed_tune_cast_is_logged_and_the_step_runs(executor, fake,
                                                      caplog):
    executor.agent_api = RecordingAgentAPI(fake.calls, fail=True)
    executor.start(step())  # does not raise: nova migrates anyway
    assert fake.calls == [('live_migrate', 'vm1', 'h2')]
    assert ('step s1: could not ask the agent of h1 to tune the migration '
            'of vm1: the message bus is gone') in caplog.text


def test_tune_goes_over_the_transport_to_the_source_host(tmp_path, fake):
    conf = make_conf(tmp_path)
    transport = rpc.get_transport(conf)
    agent = AgentStub()
    server = rpc.get_server(transport, rpc.AGENT_TOPIC, 'h1', [agent])
    server.start()
    try:
        ex = nova.NovaExecutor(conf, transport, session=object())
        ex.client = fake
        ex.start(step())
        assert agent.seen.wait(10)
        assert agent.got == [messages.MigrationStep.from_primitive(step())]
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


@pytest.mark.parametrize('text, transport', [
    ('[nova]\ntune_via_agent = false\n', object()),
    ('', None),  # no transport: nothing to cast on
])
def test_no_tune_when_disabled_or_without_transport(tmp_path, text,
                                                    transport):
    ex = nova.NovaExecutor(make_conf(tmp_path, text), transport,
                           session=object())
    assert ex.agent_api is None


def test_tune_via_agent_is_on_by_default(tmp_path):
    conf = make_conf(tmp_path)
    assert conf.nova.tune_via_agent is True
    transport = rpc.get_transport(conf)
    try:
        ex = nova.NovaExecutor(conf, transport, session=object())
        assert isinstance(ex.agent_api, rpcapi.AgentAPI)
    finally:
        transport.cleanup()


def test_abort_deletes_the_migration_in_progress(executor, fake):
    executor.start(step())
    fake.add('running', 7)
    executor.abort(step())
    assert fake.calls[-1] == ('abort', 'vm1', 7)


def test_abort_without_a_migration_in_progress_says_so(executor, fake):
    fake.add('completed')
    with pytest.raises(exception.MigrationFailed,
                       match='no live migration of server vm1 in progress'):
        executor.abort(step())


# -- job: running, and the switch to post-copy ----------------------------

def test_running_migration_reports_nova_memory_counters(executor, fake,
                                                        clock):
    executor.start(step())
    fake.add('running', memory_total_bytes=1000,
             memory_processed_bytes=600, memory_remaining_bytes=400)
    clock.now = T0 + 12.5
    status = job(executor, step())
    assert status.state == 'running'
    assert status.progress == {
        'step_id': 's1', 'vm': 'vm1', 'elapsed_s': 12.5,
        'processed_bytes': 600, 'remaining_bytes': 400, 'total_bytes': 1000,
        'dirty_rate_mib_s': 0.0, 'iteration': 0, 'phase': 'precopy'}
    assert fake.forced() == []


def test_accepted_migration_is_running_without_progress(executor, fake):
    executor.start(step())
    fake.add('accepted')
    status = job(executor, step())
    assert (status.state, status.progress) == ('running', None)


def test_before_nova_records_the_migration_it_is_running(executor, fake):
    fake.add('failed')  # an earlier attempt, not this step's
    executor.start(step())
    status = job(executor, step())
    assert (status.state, status.result) == ('running', None)


@pytest.mark.parametrize('algorithm, after, elapsed, processed, forced', [
    ('postcopy', 0.0, 0.0, 0, True),
    ('precopy', None, 3600.0, 999, False),
    ('precopy', 20.0, 19.0, 0, False),
    ('precopy', 20.0, 20.0, 0, True),
    ('hybrid', None, 5.0, 999, False),
    ('hybrid', None, 5.0, 1000, True),  # the first pass is done
])
def test_force_complete_when_the_algorithm_switches(
        executor, fake, clock, algorithm, after, elapsed, processed, forced):
    s = step(algorithm, after)
    executor.start(s)
    mig = fake.add('running', 3, memory_total_bytes=1000,
                   memory_processed_bytes=processed)
    clock.now = T0 + elapsed
    for _ in range(3):
        assert job(executor, s).state == 'running'
    assert fake.forced() == ([('force_complete', 'vm1', mig['id'])]
                             if forced else [])


def test_refused_force_complete_is_asked_again(executor, fake):
    s = step('postcopy', 0.0)
    executor.start(s)
    fake.add('running')
    fake.refuse_force = True
    assert job(executor, s).state == 'running'
    fake.refuse_force = False
    job(executor, s)
    job(executor, s)
    assert len(fake.forced()) == 2


def test_postcopy_phase_then_completed(executor, fake, clock):
    s = step('postcopy', 0.0)
    executor.start(s)
    mig = fake.add('running', memory_total_bytes=1000,
                   memory_processed_bytes=700)
    clock.now = T0 + 1.5  # force_complete 1.5 s into the migration
    job(executor, s)
    # nova lists a migration in post-copy nowhere but /os-migrations
    mig.update(status='running (post-copy)', memory_processed_bytes=None)
    status = job(executor, s)
    assert status.state == 'running'
    assert status.progress['phase'] == 'postcopy'
    assert status.progress['processed_bytes'] == 700

    mig.update(status='completed', updated_at='2027-01-15T08:00:04.500000')
    fake.host, fake.task_state = 'h2', None
    status = job(executor, s)
    assert status.state == 'completed'
    assert status.result == {
        'step_id': 's1', 'vm': 'vm1', 'state': 'completed', 'host': 'h2',
        'stats': {'total_s': 4.5, 'downtime_ms': 0.0, 'bytes': 700,
                  'iterations': 0, 'postcopy': True, 'normal_bytes': None,
                  'zero_pages': None, 'postcopy_started_s': 1.5},
        'error': None}
    assert len(fake.forced()) == 1


# -- job: how it ended -----------------------------------------------------

def test_never_started_is_unknown(executor, fake):
    assert job(executor, step()).state == 'unknown'


@pytest.mark.parametrize('status, state', [
    ('failed', 'failed'), ('error', 'failed'), ('cancelled', 'aborted')])
def test_ended_on_the_source(executor, fake, status, state):
    executor.start(step())
    fake.add(status)
    fake.task_state = None
    fake.fault = 'Migration pre-check error: CPU doesn\'t have compatibility'
    status_ = job(executor, step())
    assert status_.state == state
    assert status_.result['host'] == 'h1'
    assert 'nova migration 1 (h1 -> h2)' in status_.result['error']
    if state == 'failed':
        assert f'ended {status}' in status_.result['error']
        assert 'pre-check error' in status_.result['error']


def test_on_a_third_host_is_failed_and_says_where(executor, fake):
    executor.start(step())
    fake.add('completed')
    fake.host, fake.task_state = 'h3', None
    result = job(executor, step()).result
    assert (result['state'], result['host']) == ('failed', 'h3')
    assert 'ended completed; server on h3' in result['error']


def test_after_a_restart_the_last_migration_counts(tmp_path, fake):
    fake.add('cancelled')
    fresh = nova.NovaExecutor(make_conf(tmp_path), session=object())
    fresh.client = fake
    assert job(fresh, step()).state == 'aborted'


def test_without_admin_role_the_host_is_missing(executor, fake):
    fake.host = None
    with pytest.raises(exception.MigrationFailed, match='admin role'):
        executor.job(step())


@pytest.mark.parametrize('status,refused', [(400, True), (409, True),
                                            (500, False), (503, False)])
def test_a_refused_live_migration_is_a_refusal_not_a_loss(executor, fake,
                                                          status, refused):
    """Nova's HTTP 400 or 409 means nothing started and the same request
    would be refused again: StepRefused, which the conductor re-plans as
    an attempt; a server error may be passing, and stays a failure to
    send (the conductor asks before deciding)."""
    def answer(vm_id, host, block_migration='auto'):
        err = exception.MigrationFailed(f'POST ...: HTTP {status}')
        err.status_code = status
        raise err
    fake.live_migrate = answer
    with pytest.raises(exception.MigrationFailed) as err:
        executor.start(step())
    assert isinstance(err.value, exception.StepRefused) is refused
