"""The migration cost weigher inside Nova's own scheduler.

Nova's in-process functional harness (real API, conductor, scheduler and
placement; three computes on the fake virt driver) runs here, so these tests
need the venv ``tools/nova-venv.sh`` builds; elsewhere they are skipped.

The scenario: ``vm`` runs on host1 and a bigger ``filler`` on host3. Nova's
default weighers (RAM, CPU and disk spreading) therefore prefer host2 for any
move. The snapshot the nova-livemig conductor would publish says host1 and
host3 hang off the switch at 25 Gbit/s but host2 at 1 Gbit/s, so the cost
model predicts a quicker migration to host3 (about 1.7 s against 3.9 s for
this guest). With the weigher (multiplier 10, so that it outweighs the
spreading weighers), ``os-migrateLive`` with no host lands on host3; without
it, or with a stale snapshot, it lands on host2.
"""

import json
import os
import sysconfig
import time

import pytest

pytest.importorskip('nova')

import fixtures  # noqa: E402
from keystoneauth1 import session as ks_session  # noqa: E402
from nova.tests.functional import integrated_helpers  # noqa: E402

from nova_livemig import exception  # noqa: E402
from nova_livemig.executors import nova as nova_executor  # noqa: E402
from nova_livemig.weigher import migration_cost  # noqa: E402,F401  options

WEIGHER = 'nova_livemig.weigher.MigrationCostWeigher'
NOVA_WEIGHERS = 'nova.scheduler.weights.all_weighers'


class NovaHarness(integrated_helpers.ProviderUsageBaseTestCase):
    """ProviderUsageBaseTestCase made to run from a wheel under pytest."""

    def setUp(self):
        # The wheel installs api-paste.ini under <venv>/etc, not next to the
        # package where nova's test config looks for it.
        self.flags(api_paste_config=os.path.join(
            sysconfig.get_path('data'), 'etc', 'nova', 'api-paste.ini'),
            group='wsgi')
        super().setUp()

    def _clear_attrs(self):
        # nova's cleanup deletes every public attribute, including the test
        # method that pytest 8+ sets on the instance and deletes itself.
        method = self.__dict__.get(self._testMethodName)
        super()._clear_attrs()
        if method is not None:
            self.__dict__[self._testMethodName] = method

    def _host(self, server):
        return self.admin_api.get_server(server['id'])[
            'OS-EXT-SRV-ATTR:host']


class MigrationCostWeigherTest(NovaHarness):
    compute_driver = 'fake.MediumFakeDriver'
    weight_classes = [NOVA_WEIGHERS, WEIGHER]

    def setUp(self):
        self.flags(weight_classes=self.weight_classes,
                   group='filter_scheduler')
        tmp = self.useFixture(fixtures.TempDir()).path
        self.snapshot_path = os.path.join(tmp, 'snapshot.json')
        self.flags(snapshot_path=self.snapshot_path, snapshot_max_age_s=600,
                   migration_cost_weight_multiplier=10.0,
                   group='nova_livemig')
        super().setUp()
        for host in ('host1', 'host2', 'host3'):
            self._start_compute(host)
        flavors = {f['name']: f['id'] for f in self.api.get_flavors()}
        self.filler = self._create_server(
            name='filler', flavor_id=flavors['m1.small'], networks='none',
            az='nova:host3')
        self.vm = self._create_server(
            name='vm', flavor_id=flavors['m1.tiny'], networks='none',
            az='nova:host1')

    def publish(self, gbit_s, vm_host, age_s=0):
        """Write a snapshot as the conductor does: a new file renamed over
        the old one. ``gbit_s`` maps each host to its uplink speed."""
        doc = {
            'version': 1,
            'hosts': [{'name': h, 'vcpus': 10, 'memory_mib': 8192}
                      for h in ('host1', 'host2', 'host3')],
            'vms': [{'id': self.vm['id'], 'host': vm_host, 'vcpus': 1,
                     'memory_mib': 512, 'cpu_util': 0.5,
                     'dirty_rate_mib_s': 20.0},
                    {'id': self.filler['id'], 'host': 'host3', 'vcpus': 1,
                     'memory_mib': 2048, 'cpu_util': 0.1,
                     'dirty_rate_mib_s': 1.0}],
            'network': {'switches': ['tor'], 'links': [
                {'a': h, 'b': 'tor', 'gbit_s': g}
                for h, g in gbit_s.items()]},
        }
        tmp = self.snapshot_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(doc, f)
        stamp = time.time() - age_s
        os.utime(tmp, (stamp, stamp))
        os.replace(tmp, self.snapshot_path)

    def migrate(self):
        """Live-migrate ``vm`` with no host given; returns where it lands."""
        self._live_migrate(self.vm)
        return self._host(self.vm)

    def test_moves_go_where_the_snapshot_says_they_are_quickest(self):
        self.publish({'host1': 25.0, 'host2': 1.0, 'host3': 25.0}, 'host1')
        self.assertEqual('host3', self.migrate())

        # New measurements: host2 now has the fast uplink, host1 the slow
        # one. From host3 the weigher now prefers host2.
        self.publish({'host1': 1.0, 'host2': 25.0, 'host3': 25.0}, 'host3')
        self.assertEqual('host2', self.migrate())

        # And back: host1 fast, host3 slow (seen from host2).
        self.publish({'host1': 25.0, 'host2': 25.0, 'host3': 1.0}, 'host2')
        self.assertEqual('host1', self.migrate())

    def test_stale_snapshot_is_neutral(self):
        self.publish({'host1': 25.0, 'host2': 1.0, 'host3': 25.0}, 'host1',
                     age_s=601)
        self.assertEqual('host2', self.migrate())

    def test_boot_is_neutral(self):
        # The new instance is not in the snapshot: nova's spreading decides
        # (host2, the emptiest), although the snapshot favours host3.
        self.publish({'host1': 25.0, 'host2': 1.0, 'host3': 25.0}, 'host1')
        server = self._create_server(name='new', networks='none')
        self.assertEqual('host2', self._host(server))


class WithoutWeigherTest(MigrationCostWeigherTest):
    """Negative control: the same scenario with nova's weighers only."""

    weight_classes = [NOVA_WEIGHERS]

    def test_moves_go_where_the_snapshot_says_they_are_quickest(self):
        self.publish({'host1': 25.0, 'host2': 1.0, 'host3': 25.0}, 'host1')
        self.assertEqual('host2', self.migrate())

    test_stale_snapshot_is_neutral = None
    test_boot_is_neutral = None


class NovaExecutorTest(NovaHarness):
    """The ``nova`` executor against the same API: a planned live migration
    that stays running until the executor forces it to complete."""

    compute_driver = 'fake.FakeLiveMigrateDriver'

    def setUp(self):
        super().setUp()
        self._start_compute('host1')
        self._start_compute('host2')
        self.vm = self._create_server(networks='none', az='nova:host1')
        admin = self.admin_api
        # the harness stubs keystone: who we are travels in headers
        self.headers = {'X-Auth-User': admin.auth_user,
                        'X-User-Id': admin.auth_user,
                        'X-Auth-Project-Id': admin.project_id,
                        'X-Roles': ','.join(admin.roles)}
        self.executor = nova_executor.NovaClient(
            self.api_fixture.base_url, headers=self.headers)

    def test_live_migrate_then_force_complete(self):
        self.executor.live_migrate(self.vm['id'], 'host2')
        running = self._wait_for_migration_status(self.vm, ['running'])
        listed = self.executor.list_migrations(self.vm['id'])
        self.assertEqual([(running['id'], 'running', 'host1', 'host2')],
                         [(m['id'], m['status'], m['source_compute'],
                           m['dest_compute']) for m in listed])

        self.executor.force_complete(self.vm['id'], running['id'])
        self._wait_for_server_parameter(
            self.vm, {'OS-EXT-SRV-ATTR:host': 'host2', 'status': 'ACTIVE'})
        listed = self.executor.list_migrations(self.vm['id'])
        self.assertEqual(['completed'], [m['status'] for m in listed])

        # The same call through a keystoneauth session.
        via_session = nova_executor.NovaClient(
            self.api_fixture.base_url, session=ks_session.Session(),
            headers=self.headers)
        self.assertEqual(listed, via_session.list_migrations(self.vm['id']))

    def test_refusal_is_reported(self):
        err = self.assertRaises(
            exception.MigrationFailed, self.executor.live_migrate,
            self.vm['id'], 'no-such-host')
        self.assertIn('HTTP 400', str(err))
