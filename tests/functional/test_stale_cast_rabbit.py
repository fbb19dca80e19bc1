"""A stale cast never runs, over a private RabbitMQ.

The plan runner (the real :class:`Engine`, the ``agent`` executor, an
SQLite database) sends a step to the agent of host a, whose process was
just stopped: the cast waits in a's queue in the broker. The runner gives
the step up once its start window has passed (the agent is gone), and
sends nothing more to a while it is down. When a's agent comes back it
finds the stale cast first: it refuses it (its start-by time has passed),
and only the step sent after it came back moves the VM, once.
"""

import subprocess
import sys
import time

import oslo_messaging
import pytest

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import plan as plan_mod
from nova_livemig import rpc
from nova_livemig.conductor import livemodel
from nova_livemig.conductor import outcomes
from nova_livemig.conductor import runner
from nova_livemig.conductor import settings as settings_mod
from nova_livemig.db import api as db_api
from nova_livemig.executors import agent as agent_executor
from tests import fixtures
from tests.functional.test_agent_rabbit import _agent_conf
from tests.unit import conductor_fixtures as cf
from tests.unit import fakehosts

pytestmark = pytest.mark.rabbitmq


def _start_agent(tmp_path, host, url, snapshot):
    conf_file = _agent_conf(tmp_path, host, url, snapshot)
    err = open(tmp_path / f'{host}.err', 'a')
    return subprocess.Popen(
        [sys.executable, '-m', 'nova_livemig.cmd.agent', '--config-file',
         str(conf_file)], cwd=fixtures.ROOT, stdout=subprocess.DEVNULL,
        stderr=err)


def _wait(what, cond, timeout_s=60.0, tick=None):
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        if tick is not None:
            tick()
        time.sleep(0.2)


def test_a_cast_given_up_while_its_agent_was_down_is_refused(
        rabbitmq, tmp_path):
    snapshot = fakehosts.write_snapshot(tmp_path)
    procs = {h: _start_agent(tmp_path, h, rabbitmq.url, snapshot)
             for h in ('a', 'b', 'c')}
    conf = fakehosts.make_conf(tmp_path)
    conf.set_override('transport_url', rabbitmq.url)
    conf.set_override('job_poll_interval_s', 1.0, group='conductor')
    transport = rpc.get_transport(conf)
    settings = settings_mod.Settings(
        job_poll_interval_s=1.0, start_window_s=3.0, clock_skew_s=0.5,
        tick_s=0.2)
    live = livemodel.LiveModel(report_max_age_s=2)
    db = db_api.Database(f'sqlite:///{tmp_path}/conductor.sqlite')
    db.sync()
    options = plan_mod.PlanningOptions(algorithms=('precopy',))
    executor = agent_executor.AgentExecutor(conf, transport)
    engine = runner.Engine(db, live, executor, settings, options,
                           algorithms_mod.load_algorithms(('precopy',)))
    server = rpc.get_server(transport, rpc.CONDUCTOR_TOPIC, 'conductor',
                            [cf.ConductorSide(live, engine)])
    server.start()
    try:
        _wait('the three agents\' reports',
              lambda: all(live.is_fresh(h) for h in 'abc')
              and len(live.snapshot().vms) == 5)
        # a's agent stops; its reports are still fresh for a moment, so
        # the runner sends the step: the cast waits in the broker
        fixtures.stop_processes([procs.pop('a')], grace_s=30)
        plan = cf.manual_plan(cf.Cluster(db, None, None, None, None, {}),
                              cf.move('vm1', 'a', 'b',
                                      predicted=dict(cf.PREDICTED,
                                                     total_s=1.0)))
        engine.execute(plan['id'])
        engine.run_once()
        stale, = db.steps(plan['id'])
        assert stale['state'] == 'running'
        # given up once the agent is gone and the start window over
        _wait('the step given up', lambda: db.get_step(
            stale['id'])['state'] == 'failed', tick=engine.run_once)
        given_up = db.get_step(stale['id'])
        assert given_up['host'] == 'a'
        # nothing is sent to a while it is down: its next step waits
        for _ in range(5):
            engine.run_once()
            time.sleep(0.2)
        steps = db.steps(plan['id'])
        assert [s['state'] for s in steps] == ['failed', 'pending']
        # a's agent comes back and meets the stale cast first
        procs['a'] = _start_agent(tmp_path, 'a', rabbitmq.url, snapshot)
        api = executor.api
        _wait('the stale cast refused', lambda: _job(api, stale['id'])
              .get('state') == 'failed')
        job = _job(api, stale['id'])
        assert job['result']['error'].startswith(
            'refused: its start-by time passed')
        # the step sent after a came back moves the VM, once
        _wait('the plan to end', lambda: db.plan_state(plan['id'])
              in ('completed', 'failed'), tick=engine.run_once)
        plan = db.get_plan(plan['id'])
        assert plan['state'] == 'completed', plan['error']
        assert [s['state'] for s in plan['steps']] == ['failed',
                                                       'completed']
        assert outcomes.LOST in plan['steps'][0]['error'] or \
            'gone' in plan['steps'][0]['error']
        assert db.get_step(stale['id'])['state'] == 'failed'  # not undone
        log = (tmp_path / 'a.log').read_text()
        assert log.count('migrating vm1 from a to b') == 1
        assert f'step {stale["id"]} (vm1) refused' in log
    finally:
        fixtures.stop_processes(procs.values(), grace_s=30)
        server.stop()
        server.wait()
        transport.cleanup()


def _job(api, step_id):
    try:
        return api.get_job({}, 'a', step_id)
    except oslo_messaging.MessagingTimeout:
        return {}
