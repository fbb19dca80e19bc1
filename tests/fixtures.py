"""The harness the tests share: skip-or-fail under CI, a test clock, a
polling wait, the testbed loader and its guests, a conductor stub, and
clusters of agents (in-process) or of services (one process each).

The pytest fixtures built on these are in ``tests/unit/conftest.py``
(``clock``, ``db``, ``agents``) and ``tests/functional/conftest.py``
(``rabbitmq``, ``libvirt``, ``state``). The clusters import the RPC stack
(oslo.messaging, the agent, the client) when one is built, not before:
``benchmarks/calibrate.py`` loads this module for the testbed alone, and
``tests/conftest.py`` is loaded before ``tests/nova/conftest.py``, which
must patch Nova's concurrency backend before oslo.messaging loads.
"""

import functools
import importlib.util
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import pytest

from nova_livemig import messages

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTBED_PY = ROOT / 'tools' / 'testbed' / 'testbed.py'
#: the directory of the console scripts (nova-livemig-agent, ...)
BIN = os.path.dirname(sys.executable)


def skip_or_fail(why, what):
    """Skip the test because ``why``; under ``CI=true`` fail instead.

    :param why: what is missing, e.g. ``'libvirt-python is not installed'``
    :param what: the kind of tests CI must run, e.g. ``'testbed'``
    """
    if os.environ.get('CI', '').lower() == 'true':
        pytest.fail(f'{why} (CI=true: the {what} tests must run)')
    pytest.skip(why)


class Clock:
    """A clock the test moves by hand: calling it returns ``now``.

    >>> clock = Clock(100.0)
    >>> clock.now += 2.5
    >>> clock()
    102.5
    """

    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def wait_until(check, timeout_s=10.0, interval_s=0.01, what='the condition'):
    """Call ``check`` until it returns a true value, and return that.

    :raises AssertionError: naming ``what`` after ``timeout_s`` seconds
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'{what} not met within {timeout_s} s')
        time.sleep(interval_s)


# -- the libvirt/QEMU namespace testbed ---------------------------------

@functools.cache
def load_script(path):
    """A Python file outside any package (``tools/``, ``benchmarks/``),
    loaded once from its path; the module is named for the file."""
    path = pathlib.Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_testbed():
    """The testbed helpers, ``tools/testbed/testbed.py``."""
    return load_script(TESTBED_PY)


def testbed_driver_conf(node):
    """Agent configuration for the libvirt driver on one testbed node.

    Plain TCP without TLS between libvirtds, opted in with ``[libvirt]
    live_migration_scheme = tcp`` (the default is ``tls``): the testbed's
    own network in namespaces only, never a real cloud's.

    :param node: a node of the testbed's state (``testbed.node()``)
    """
    from oslo_config import cfg

    from nova_livemig import conf as conf_mod
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], project='nova-livemig', default_config_files=[])
    conf.set_override('host', node['name'], 'agent')
    conf.set_override('driver', 'libvirt', 'agent')
    conf.set_override('connection_uri', node['libvirt_uri'], 'libvirt')
    conf.set_override('live_migration_scheme', 'tcp', 'libvirt')
    conf.set_override('migration_inbound_addr', node['address'], 'libvirt')
    conf.set_override('live_migration_with_native_tls', False, 'libvirt')
    conf.set_override('vm_id', 'name', 'libvirt')
    return conf


def destroy_guests(state, names):
    """Destroy the guests ``names`` on every testbed node they run on and
    remove their serial logs; only those (other tests share the
    testbed)."""
    import libvirt
    for node in state['nodes']:
        conn = libvirt.open(node['libvirt_uri'])
        try:
            for name in names:
                try:
                    conn.lookupByName(name).destroy()
                except libvirt.libvirtError:
                    pass
        finally:
            conn.close()
    for name in names:
        load_testbed().serial_log(name, state).unlink(missing_ok=True)


# -- a conductor that records, and agents in this process ---------------

class ConductorStub:
    """Records the casts agents send to the conductor, validated."""

    def __init__(self):
        self.got = {'report_measurements': [], 'migration_progress': [],
                    'migration_result': []}
        self.cond = threading.Condition()

    def _add(self, kind, value):
        with self.cond:
            self.got[kind].append(value)
            self.cond.notify_all()

    def report_measurements(self, ctxt, report):
        self._add('report_measurements',
                  messages.HostReport.from_primitive(report))

    def migration_progress(self, ctxt, progress):
        self._add('migration_progress',
                  messages.Progress.from_primitive(progress))

    def migration_result(self, ctxt, result):
        self._add('migration_result', messages.Result.from_primitive(result))

    def wait_for(self, kind, pred=lambda v: True, timeout=10.0):
        """The values of ``kind`` that satisfy ``pred``, once there is one.

        :raises AssertionError: when none came within ``timeout`` seconds
        """
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [v for v in self.got[kind] if pred(v)]
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'no {kind} within {timeout} s: '
                                         f'{self.got}')
                self.cond.wait(left)


class AgentCluster:
    """Agents with the fake driver and a :class:`ConductorStub`, on one
    in-process transport (``fake://`` unless the config says otherwise).

    :param make_conf: ``make_conf(host)`` returns a private config for the
        agent of ``host``; the first host's also makes the transport
    :param hosts: the agents' hosts; ``agent`` and ``driver`` are the
        first one's
    """

    def __init__(self, make_conf, hosts=('a', 'b')):
        from nova_livemig import plugins
        from nova_livemig import rpc
        from nova_livemig.agent import manager as agent_mod
        from nova_livemig.agent import rpcapi
        self.transport = rpc.get_transport(make_conf(hosts[0]))
        self.stub = ConductorStub()
        self.server = rpc.get_server(self.transport, rpc.CONDUCTOR_TOPIC,
                                     'conductor', [self.stub])
        self.server.start()
        self.agents = {}
        for host in hosts:
            conf = make_conf(host)
            driver = plugins.load(plugins.DRIVERS, 'fake',
                                  invoke_args=(conf,))
            self.agents[host] = agent_mod.Agent(conf, driver, self.transport)
            self.agents[host].start()
        self.agent = self.agents[hosts[0]]
        self.driver = self.agent.driver
        self.api = rpcapi.AgentAPI(self.transport, timeout=10)

    def stop(self):
        for agent in self.agents.values():
            agent.stop()
        self.server.stop()
        self.server.wait()
        self.transport.cleanup()

    def result(self, step_id):
        """The result the agents sent for ``step_id`` (waits for it)."""
        return self.stub.wait_for('migration_result',
                                  lambda r: r.step_id == step_id)[0]

    def vms_of(self, host):
        """The VM ids the agent of ``host`` measures, sorted."""
        report = messages.HostReport.from_primitive(
            self.api.measure({}, host))
        return sorted(v['id'] for v in report.vms)


# -- services, one process each ------------------------------------------

def write_conf(path, sections):
    """Write ``{section: {key: value}}`` as a config file; return ``path``."""
    with open(path, 'w') as f:
        for section, values in sections.items():
            f.write(f'[{section}]\n')
            for key, value in values.items():
                f.write(f'{key} = {value}\n')
            f.write('\n')
    return path


def stop_processes(procs, grace_s):
    """SIGTERM every process, then wait ``grace_s`` seconds for each
    before it is killed."""
    procs = list(procs)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class ServiceCluster:
    """A conductor and agents, each started from its console script with a
    config file written here, and an RPC client of the conductor.

    :param tmp_path: directory of the config files and logs
    :param common: ``{section: {key: value}}`` of every service
    :param agents: ``{host: {section: {key: value}}}``: each agent's
        additions to ``common`` (its ``[agent] host`` is set here)
    """

    def __init__(self, tmp_path, common, agents):
        from oslo_config import cfg

        from nova_livemig import conf as conf_mod
        from nova_livemig import rpc
        from nova_livemig.cmd import control
        self.tmp = tmp_path
        self.common = common
        self.conductor_conf = write_conf(tmp_path / 'conductor.conf', common)
        self.agent_confs = {}
        for host, extra in agents.items():
            sections = {k: dict(v) for k, v in common.items()}
            sections.setdefault('agent', {})['host'] = host
            for section, values in extra.items():
                sections.setdefault(section, {}).update(values)
            self.agent_confs[host] = write_conf(
                tmp_path / f'agent-{host}.conf', sections)
        self.procs = {}
        self.conf = cfg.ConfigOpts()
        conf_mod.register_opts(self.conf)
        self.conf(['--config-file', str(self.conductor_conf)],
                  default_config_dirs=[])
        self.transport = rpc.get_transport(self.conf)
        self.api = control.conductor_api(self.conf, self.transport)

    def log(self, name):
        """The log file of ``'conductor'`` or of an agent's host."""
        return str(self.tmp / f'{name}.log')

    def start(self, name):
        """Start ``'conductor'`` or the agent of host ``name``."""
        if name == 'conductor':
            cmd = [os.path.join(BIN, 'nova-livemig-conductor'),
                   '--config-file', str(self.conductor_conf)]
        else:
            cmd = [os.path.join(BIN, 'nova-livemig-agent'),
                   '--config-file', str(self.agent_confs[name])]
        cmd += ['--log-file', self.log(name)]
        self.procs[name] = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def start_all(self):
        self.start('conductor')
        for host in self.agent_confs:
            self.start(host)

    def kill(self, name, sig=signal.SIGKILL):
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(30)

    def stop_all(self, grace_s=10):
        procs, self.procs = list(self.procs.values()), {}
        stop_processes(procs, grace_s)
        self.transport.cleanup()

    def call(self, method, *args, retry_s=60):
        """Call the conductor, through bus outages and restarts."""
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return getattr(self.api, method)({}, *args)
            except Exception:  # noqa: BLE001 - not up, or restarting
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)


def assert_schedule_holds(snap, moves, sched, options):
    """The rules every schedule keeps, checked at each of its instants.

    No host holds more than its capacity (or than it held at the start),
    no link carries more than its free bandwidth, no host runs more
    migrations out or in than ``options`` allow; no pinned VM moves, no
    move ends before it starts or leaves its aggregates; every move asked
    for is scheduled or listed as unscheduled with a reason.

    :param moves: the :class:`~nova_livemig.plan.Move` values scheduled
    :param sched: their :class:`~nova_livemig.scheduling.schedule.Schedule`
    """
    from nova_livemig import graph as graph_mod
    from nova_livemig.scheduling import schedule as schedule_mod
    capacity = {k: lk.free_gbit_s
                for k, lk in graph_mod.LinkGraph(snap).links.items()}
    start = schedule_mod.occupancy(snap, (), 0.0)
    for t in schedule_mod.events(sched.moves):
        for name, (vcpus, mem) in schedule_mod.occupancy(
                snap, sched.moves, t).items():
            host = snap.hosts[name]
            assert vcpus <= max(host.vcpu_capacity,
                                start[name][0]) + 1e-6, (t, name, vcpus)
            assert mem <= max(host.memory_capacity_mib,
                              start[name][1]) + 1e-6, (t, name, mem)
        for key, load in schedule_mod.link_load(sched.moves, t).items():
            assert load <= capacity[key] * (1 + 1e-6) + 1e-9, (t, key, load)
        running = [m for m in sched.moves if m.start_s <= t < m.end_s]
        max_out = options.max_outgoing_per_host
        max_in = options.max_incoming_per_host
        if getattr(sched, 'order', None) == schedule_mod.ORDER_NOVA:
            max_out, max_in = 1, len(snap.vms)   # Nova's limits, adopted
        for name in snap.hosts:
            assert sum(m.source == name for m in running) <= (
                max_out), (t, name)
            assert sum(m.destination == name for m in running) <= (
                max_in), (t, name)
    for m in sched.moves:
        vm = snap.vms[m.vm]
        assert not vm.pinned, m
        assert m.end_s >= m.start_s, m
        assert set(snap.hosts[vm.host].aggregates) <= set(
            snap.hosts[m.destination].aggregates), m
    missing = ({m.vm for m in moves} - {m.vm for m in sched.moves}
               - {u.vm for u in sched.unscheduled})
    assert not missing, missing
    assert all(u.reason for u in sched.unscheduled), sched.unscheduled
