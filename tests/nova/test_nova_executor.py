"""The ``nova`` executor against Nova's own API, in Nova's in-process
functional harness (real API, conductor, scheduler and placement; two
computes on ``fake.FakeLiveMigrateDriver``).

That fake driver holds a live migration ``running`` until it is forced to
complete or aborted (for at most 5 s, then it completes by itself), so the
executor meets each state the conductor can see. The executor is loaded as
the conductor loads it: by name from ``nova_livemig.executors``, with a
ConfigOpts whose ``[nova]`` group comes from a config file. Only the
keystoneauth session is injected: the harness stubs keystone, and who we
are travels in ``X-Auth-*`` headers that no keystoneauth plugin sends.

Runs only in the venv ``tools/nova-venv.sh`` builds:
``tools/run-nova-tests.sh -k NovaExecutor``.
"""

import os
import sysconfig
import time

import pytest

pytest.importorskip('nova')

import fixtures  # noqa: E402
from keystoneauth1 import plugin as ks_plugin  # noqa: E402
from keystoneauth1 import session as ks_session  # noqa: E402
from nova.tests.functional import integrated_helpers  # noqa: E402
from oslo_config import cfg  # noqa: E402

from nova_livemig import conf as livemig_conf  # noqa: E402
from nova_livemig import exception  # noqa: E402
from nova_livemig import messages  # noqa: E402
from nova_livemig import plugins  # noqa: E402
from nova_livemig import rpc  # noqa: E402
from nova_livemig.executors import nova as nova_executor  # noqa: E402

PREDICTED = {'algorithm': 'precopy', 'total_s': 2.0, 'downtime_ms': 50.0,
             'bytes': 1 << 30, 'converges': True}


class HarnessAuth(ks_plugin.BaseAuthPlugin):
    """The identity headers of the harness's stubbed keystone."""

    def __init__(self, headers):
        super().__init__()
        self.headers = headers

    def get_headers(self, session, **kwargs):
        return dict(self.headers)


class RecordingRPCClient:
    """Stands for the oslo.messaging client of the executor's AgentAPI:
    the harness runs under eventlet, where nova-livemig's threading-only
    RPC server refuses to start. Records ``(method, server, version,
    kwargs)`` in a list shared with the test (to see the order)."""

    def __init__(self, events, server=None, version=None):
        self.events = events
        self.server = server
        self.version = version

    def can_send_version(self, version):
        return True

    def prepare(self, server=None, version=None):
        return RecordingRPCClient(self.events, server, version)

    def cast(self, ctxt, method, **kwargs):
        self.events.append((method, self.server, self.version, kwargs))


class NovaExecutorHarnessTest(integrated_helpers.ProviderUsageBaseTestCase):
    """A VM on host1, host2 empty; the executor moves it to host2."""

    compute_driver = 'fake.FakeLiveMigrateDriver'

    def setUp(self):
        # as in test_weigher_functional: the wheel installs api-paste.ini
        # under <venv>/etc, not where nova's test config looks for it
        self.flags(api_paste_config=os.path.join(
            sysconfig.get_path('data'), 'etc', 'nova', 'api-paste.ini'),
            group='wsgi')
        super().setUp()
        self._start_compute('host1')
        self._start_compute('host2')
        self.vm = self._create_server(networks='none', az='nova:host1')
        admin = self.admin_api
        self.session = ks_session.Session(auth=HarnessAuth({
            'X-Auth-User': admin.auth_user, 'X-User-Id': admin.auth_user,
            'X-Auth-Project-Id': admin.project_id,
            'X-Roles': ','.join(admin.roles)}))
        self.executor = plugins.load(
            plugins.EXECUTORS, 'nova', invoke_args=(self.livemig_conf(),),
            invoke_kwds={'session': self.session})
        client = self.executor.client
        self.force_complete = self.useFixture(fixtures.MockPatchObject(
            client, 'force_complete', wraps=client.force_complete)).mock

    def _clear_attrs(self):
        # nova's cleanup deletes every public attribute, including the test
        # method that pytest 8+ sets on the instance and deletes itself.
        method = self.__dict__.get(self._testMethodName)
        super()._clear_attrs()
        if method is not None:
            self.__dict__[self._testMethodName] = method

    def livemig_conf(self):
        """The conductor's ConfigOpts, ``[nova]`` read from a file."""
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova-livemig.conf')
        with open(path, 'w') as f:
            f.write('[conductor]\nexecutor = nova\n'
                    f'[nova]\nendpoint_override = {self.api_fixture.base_url}'
                    '\nregion_name = RegionOne\ninterface = internal\n')
        conf = cfg.ConfigOpts()
        livemig_conf.register_opts(conf)
        conf(args=[], project='nova-livemig', default_config_files=[path])
        return conf

    def step(self, algorithm='precopy', destination='host2'):
        return messages.MigrationStep.from_primitive({
            'plan_id': 'p1', 'step_id': f's-{algorithm}', 'vm': self.vm['id'],
            'source': 'host1', 'destination': destination,
            'algorithm': algorithm, 'max_downtime_ms': 500.0,
            'bandwidth_mib_s': 0.0, 'deadline_s': 60.0,
            'postcopy_after_s': 0.0 if algorithm == 'postcopy' else None,
            'predicted': dict(PREDICTED, algorithm=algorithm),
            'destination_uri': None}).to_primitive()

    def job(self, step):
        """The executor's answer, checked as the conductor checks it."""
        return messages.JobStatus.from_primitive(self.executor.job(step))

    def host(self):
        return self.admin_api.get_server(self.vm['id'])[
            'OS-EXT-SRV-ATTR:host']

    def allocated_on(self):
        """The hosts whose placement providers hold the VM's resources."""
        providers = {self._get_provider_uuid_by_host(h): h
                     for h in ('host1', 'host2')}
        return sorted(providers[rp] for rp in
                      self._get_allocations_by_server_uuid(self.vm['id']))

    def wait_for_job(self, step, state, tries=50):
        for _ in range(tries):
            job = self.job(step)
            if job.state == state:
                return job
            time.sleep(0.1)
        self.fail(f'job of {step["step_id"]} never {state}: {job}')

    def test_loaded_by_name_from_conf(self):
        self.assertIsInstance(self.executor, nova_executor.NovaExecutor)
        client = self.executor.client
        self.assertEqual(self.api_fixture.base_url, client.endpoint)
        self.assertEqual({'service_type': 'compute', 'interface': 'internal',
                          'region_name': 'RegionOne'},
                         client.endpoint_filter)

    def test_postcopy_step_is_forced_to_complete(self):
        step = self.step('postcopy')
        self.assertEqual('unknown', self.job(step).state)

        self.executor.start(step)
        running = self._wait_for_migration_status(self.vm, ['running'])
        job = self.job(step)
        # this poll saw the migration running and asked for force-complete
        self.assertEqual('running', job.state)
        self.assertEqual('precopy', job.progress['phase'])
        self.force_complete.assert_called_once_with(self.vm['id'],
                                                    running['id'])

        job = self.wait_for_job(step, 'completed')
        self.assertEqual('host2', job.result['host'])
        self.assertIsNone(job.result['error'])
        self.assertEqual(1, self.force_complete.call_count)  # once
        # Nova's own view: the VM is on host2 and the migration completed
        self.assertEqual('host2', self.host())
        self.assertEqual(['host2'], self.allocated_on())
        self.assertEqual(
            [(running['id'], 'completed')],
            [(m['id'], m['status'])
             for m in self.executor.client.list_migrations(self.vm['id'])])

    def test_precopy_step_is_left_to_nova(self):
        step = self.step('precopy')
        self.executor.start(step)
        self._wait_for_migration_status(self.vm, ['running'])
        self.assertEqual('running', self.job(step).state)
        # the fake driver ends an unforced migration by itself after 5 s
        self.assertEqual('completed',
                         self.wait_for_job(step, 'completed', 100).state)
        self.force_complete.assert_not_called()

    def test_abort_while_running(self):
        step = self.step('precopy')
        self.executor.start(step)
        self._wait_for_migration_status(self.vm, ['running'])
        self.assertEqual('running', self.job(step).state)

        self.executor.abort(step)
        job = self.wait_for_job(step, 'aborted')
        self.assertEqual('host1', job.result['host'])
        self.assertIn('cancelled', job.result['error'])
        self.assertEqual('host1', self.host())
        self._wait_for_state_change(self.vm, 'ACTIVE')
        self.assertEqual(['host1'], self.allocated_on())

        # nothing in progress any more: nova cannot abort it twice
        err = self.assertRaises(exception.MigrationFailed,
                                self.executor.abort, step)
        self.assertIn('no live migration', str(err))

    def executor_with_agents(self, conf):
        """A nova executor with an RPC transport, its AgentAPI's client
        recording; returns ``(executor, events)``."""
        transport = rpc.get_transport(conf)
        self.addCleanup(transport.cleanup)
        executor = plugins.load(plugins.EXECUTORS, 'nova',
                                invoke_args=(conf, transport),
                                invoke_kwds={'session': self.session})
        events = []
        if executor.agent_api is not None:
            executor.agent_api.client = RecordingRPCClient(events)
        client = executor.client
        real = client.live_migrate

        def live_migrate(vm_id, host, block_migration='auto'):
            real(vm_id, host, block_migration)
            events.append(('os-migrateLive', host))
        client.live_migrate = live_migrate
        return executor, events

    def test_tune_is_cast_to_the_source_agent_after_nova_accepts(self):
        self.executor, events = self.executor_with_agents(
            self.livemig_conf())
        step = self.step('precopy')
        self.executor.start(step)
        self.assertEqual(
            [('os-migrateLive', 'host2'),
             ('tune_migration', 'host1', '1.1', {'step': step})], events)
        messages.MigrationStep.from_primitive(events[1][3]['step'])
        # nova's answer stays the authority: the step ends when nova ends
        # it (the fake driver after 5 s)
        self._wait_for_migration_status(self.vm, ['running'])
        self.assertEqual('running', self.job(step).state)
        job = self.wait_for_job(step, 'completed', 100)
        self.assertEqual('host2', job.result['host'])
        self.assertEqual('host2', self.host())
        self.assertEqual(2, len(events))  # nothing else was cast

    def test_refused_migration_casts_no_tune(self):
        self.executor, events = self.executor_with_agents(
            self.livemig_conf())
        step = self.step('precopy', destination='no-such-host')
        self.assertRaises(exception.MigrationFailed, self.executor.start,
                          step)
        self.assertEqual([], events)

    def test_tune_via_agent_false_casts_nothing(self):
        conf = self.livemig_conf()
        conf.set_override('tune_via_agent', False, group='nova')
        self.executor, events = self.executor_with_agents(conf)
        self.assertIsNone(self.executor.agent_api)
        self.executor.start(self.step('precopy'))
        self._wait_for_migration_status(self.vm, ['running'])
        self.assertEqual([('os-migrateLive', 'host2')], events)

    def test_bad_destination_is_refused_with_the_http_status(self):
        step = self.step('precopy', destination='no-such-host')
        err = self.assertRaises(exception.MigrationFailed,
                                self.executor.start, step)
        self.assertIn(f'POST /servers/{self.vm["id"]}/action', str(err))
        self.assertIn('HTTP 400', str(err))
        self.assertEqual('host1', self.host())
        self.assertEqual('unknown', self.job(step).state)
