"""Two conductors over a real RabbitMQ and one database: the active one is
killed (SIGKILL) in the middle of a drain, the standby takes the lease
over and finishes the plan.

The cluster is the one of :mod:`tests.functional.test_e2e_rabbit` (four
fake-driver agents, each its own process), with two conductor processes
``cond-a`` and ``cond-b`` sharing the database of each backend
(:mod:`tests.functional.databases`). The outcome is checked as there: every
VM on exactly one host, none lost, no step started twice, the plan
terminal; and here also: the standby served nothing before it took over,
its epoch is the next one, and it took the lease within one poll of the
killed conductor's lease running out.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from nova_livemig.conductor import lease as lease_mod
from nova_livemig.db import leases
from tests import fixtures
from tests.functional import databases
from tests.functional import test_e2e_rabbit as e2e

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

CONDUCTORS = ('cond-a', 'cond-b')
LEASE_S = 4.0
RENEW_S = 1.0


class Failover(e2e.Cluster):
    """The e2e cluster with two conductors instead of one."""

    def __init__(self, rabbitmq, tmp_path, url):
        super().__init__(rabbitmq, tmp_path)
        self.url = url
        self.confs = {}
        for name in CONDUCTORS:
            sections = {k: dict(v) for k, v in self.common.items()}
            sections['conductor'].update(
                host=name, lease_duration_s=LEASE_S,
                lease_renew_interval_s=RENEW_S)
            sections['database'] = {'connection': url}
            self.confs[name] = fixtures.write_conf(
                tmp_path / f'{name}.conf', sections)
        self.engine = sa.create_engine(url)

    def start(self, name):
        if name not in CONDUCTORS:
            return super().start(name)
        self.procs[name] = subprocess.Popen(
            [os.path.join(fixtures.BIN, 'nova-livemig-conductor'),
             '--config-file', str(self.confs[name]),
             '--log-file', self.log(name)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def start_all(self):
        self.start('cond-a')
        fixtures.wait_until(lambda: self.holder() == 'cond-a', 60,
                            0.1, 'cond-a active')
        self.start('cond-b')
        fixtures.wait_until(lambda: 'is on standby' in self.text('cond-b'),
                            60, 0.1, 'cond-b on standby')
        for host in e2e.HOSTS:
            super().start(host)
        self.wait_published(set(e2e.HOSTS))

    def holder(self):
        grant = self.grant()
        return None if grant is None else grant.holder

    def grant(self):
        try:
            return leases.read(self.engine, lease_mod.NAME)
        except sa.exc.DBAPIError:
            return None  # no schema yet

    def text(self, name):
        try:
            with open(self.log(name)) as f:
                return f.read()
        except OSError:
            return ''

    def stop_all(self, grace_s=10):
        super().stop_all(grace_s)
        self.engine.dispose()


@pytest.fixture(params=databases.BACKENDS)
def cluster(request, rabbitmq, tmp_path):
    with databases.fresh_url(request.param, tmp_path) as url:
        c = Failover(rabbitmq, tmp_path, url)
        try:
            c.start_all()
            yield c
        finally:
            c.stop_all()


def _drain_started(cluster):
    """A drain of h1, executing with a step running."""
    view = cluster.call('create_plan', 'drain', [], ['h1'], False)
    cluster.call('execute_plan', view['id'])
    cluster.wait_plan(view['id'], lambda v: v['totals']['counts'].get(
        'running', 0) >= 1)
    return view


def test_standby_finishes_the_plan_of_a_killed_active(cluster):
    view = _drain_started(cluster)
    before = cluster.grant()
    assert before.holder == 'cond-a'
    assert 'resuming plan' not in cluster.text('cond-b')

    killed_at = time.time()
    cluster.kill('cond-a')  # SIGKILL: no release, the lease must expire
    last = cluster.grant()
    taken = fixtures.wait_until(
        lambda: (cluster.holder() == 'cond-b') and cluster.grant(),
        LEASE_S * 10, 0.05, 'cond-b taking the lease over')
    seen_at = time.time()

    view = cluster.wait_plan(view['id'], lambda v: v['state'] in e2e.ENDED,
                             timeout_s=180)
    cluster.check_consistent(view)
    assert view['state'] == 'completed'
    assert cluster.placement()['h1'] == []
    assert taken.epoch == before.epoch + 1
    # taken when the killed conductor's lease ran out, not before, and
    # within one poll (plus scheduling) after
    taken_at = taken.expires_at - LEASE_S
    assert last.expires_at <= taken_at <= last.expires_at + RENEW_S + 2.0
    log_b = cluster.text('cond-b')
    assert f'is active (lease epoch {taken.epoch})' in log_b
    assert f'resuming plan {view["id"]}' in log_b
    sys.stdout.write(
        f'failover: killed at +0 s, lease expired at '
        f'+{last.expires_at - killed_at:.2f} s, taken at '
        f'+{taken_at - killed_at:.2f} s, seen by the test at '
        f'+{seen_at - killed_at:.2f} s (lease {LEASE_S} s, renew '
        f'{RENEW_S} s)\n')


def test_a_paused_active_is_fenced_when_it_wakes(cluster):
    """The active conductor is frozen (SIGSTOP) for longer than its lease:
    the standby takes over; woken up, the old one stops as active at
    once, and no step runs twice."""
    view = _drain_started(cluster)
    frozen = cluster.procs['cond-a']
    frozen.send_signal(signal.SIGSTOP)
    try:
        taken = fixtures.wait_until(
            lambda: (cluster.holder() == 'cond-b') and cluster.grant(),
            LEASE_S * 10, 0.05, 'cond-b taking the lease over')
    finally:
        frozen.send_signal(signal.SIGCONT)
    fixtures.wait_until(lambda: 'stops as active' in cluster.text('cond-a'),
                        30, 0.1, 'cond-a fenced')
    view = cluster.wait_plan(view['id'], lambda v: v['state'] in e2e.ENDED,
                             timeout_s=180)
    cluster.check_consistent(view)
    assert view['state'] == 'completed'
    assert taken.epoch == 2
    assert cluster.holder() == 'cond-b'
    assert frozen.poll() is None  # fenced, not dead: back on standby
