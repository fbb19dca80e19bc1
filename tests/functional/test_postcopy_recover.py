"""Post-copy that survives a broken link, on real QEMU guests
(tools/testbed).

A busy dirtier guest (256 MiB, 40 MiB/s over 128 MiB: pre-copy never
converges on the 200 Mbit/s links) moves from ``node2`` to ``node3`` by
post-copy, driven by a real agent (the ``libvirt`` driver, its monitor
loop, a conductor stub on the in-process transport). In the middle of the
post-copy pass the test drops every packet between node2 and node3
(iptables in node3's namespace, both directions; node3's traffic with
anyone else flows on), so the link breaks silently as a pulled cable
would. Only these two nodes and these guests (``pcr-``) are touched; the
rule is removed and the guests destroyed whatever happens.

The agent probes the destination from node2's namespace, as an agent on
node2 would (this test's process runs in the root namespace, which still
reaches node3).
"""

import os
import subprocess
import sys
import time

import pytest

from nova_livemig import messages
from nova_livemig import rpc
from nova_livemig.agent import manager as agent_mod
from nova_livemig.drivers import migration
from tests import fixtures

pytestmark = [pytest.mark.testbed(nodes=3), pytest.mark.slow]
testbed = fixtures.load_testbed()

MIB = migration.MIB
SRC, DST = 'node2', 'node3'
#: seconds the link stays cut in the recovery test
CUT_S = 8.0
#: MiB the post-copy pass moves before the cut. Under TCG, QEMU delivers
#: an interrupt holding its big lock; if that touches a page still on the
#: source while the link is down, the destination's main loop blocks and
#: never runs libvirt 9.0's in-band ``migrate-recover``: the resume hangs
#: (seen 3 times in 5 with a cut after 16 MiB, with the vCPU thread in
#: handle_userfault). By 96 MiB the kernel's own pages have come over.
MOVED_MIB = 96
_PROBE = ('import socket, sys\n'
          'try:\n'
          '    socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)'
          '.close()\n'
          'except OSError:\n'
          '    sys.exit(1)\n')


def _probe_from(netns):
    def probe(address, port):
        return subprocess.run(
            ['ip', 'netns', 'exec', netns, sys.executable, '-c', _PROBE,
             address, str(port)], capture_output=True,
            timeout=10).returncode == 0
    return probe


class Link:
    """The node2<->node3 path: :meth:`cut` drops every packet between
    them in node3's namespace, :meth:`restore` removes exactly those
    rules (tagged with this process's id)."""

    def __init__(self, state):
        self.netns = testbed.node(DST, state)['netns']
        self.peer = testbed.node(SRC, state)['address']
        self.tag = f'pcr-{os.getpid()}'
        self.is_cut = False

    def _rules(self, op):
        for chain, way in (('INPUT', '-s'), ('OUTPUT', '-d')):
            subprocess.run(['ip', 'netns', 'exec', self.netns, 'iptables',
                            op, chain, way, self.peer, '-m', 'comment',
                            '--comment', self.tag, '-j', 'DROP'],
                           check=True)

    def cut(self):
        self._rules('-I')
        self.is_cut = True

    def restore(self):
        if self.is_cut:
            self._rules('-D')
            self.is_cut = False


@pytest.fixture
def link(state):
    lk = Link(state)
    try:
        yield lk
    finally:
        lk.restore()


@pytest.fixture
def guest(state, request):
    name = f'pcr-{os.getpid()}-{request.node.name[-12:].strip("_")}'
    testbed.start_guest(SRC, name, memory_mib=256, dirty_mib_s=40,
                        wws_mib=128, scan_s=2, state=state)
    try:
        yield name
    finally:
        fixtures.destroy_guests(state, (name,))


@pytest.fixture
def agent(state):
    """A real agent of node2 (libvirt driver) over the in-process
    transport, its casts recorded by a conductor stub."""
    from nova_livemig.drivers import libvirt as libvirt_driver

    def make(**agent_opts):
        conf = fixtures.testbed_driver_conf(testbed.node(SRC, state))
        conf.set_override('monitor_interval_s', 0.25, 'agent')
        for key, value in agent_opts.items():
            conf.set_override(key, value, 'agent')
        driver = libvirt_driver.LibvirtDriver(
            conf, probe=_probe_from(testbed.node(SRC, state)['netns']))
        transport = rpc.get_transport(conf)
        stub = fixtures.ConductorStub()
        server = rpc.get_server(transport, rpc.CONDUCTOR_TOPIC,
                                'conductor', [stub])
        server.start()
        made.append((server, transport))
        return agent_mod.Agent(conf, driver, transport), stub

    made = []
    yield make
    for server, transport in made:
        server.stop()
        server.wait()
        transport.cleanup()


def _step(name, state):
    return messages.MigrationStep(
        plan_id='pcr', step_id=f'pcr-{time.monotonic_ns()}', vm=name,
        source=SRC, destination=DST, algorithm='postcopy',
        max_downtime_ms=500.0, bandwidth_mib_s=0, deadline_s=600.0,
        postcopy_after_s=2.0,
        predicted={'algorithm': 'postcopy', 'total_s': 12.0,
                   'downtime_ms': 50.0, 'bytes': 256 * MIB,
                   'converges': True, 'iterations': 1, 'slowdown': 0.3,
                   'risks': []},
        destination_uri=testbed.node(DST, state)['address'])


def _domain_state(libvirt, state, node_name, name):
    """``(state, reason)`` of the guest on a node, or None when absent."""
    conn = libvirt.open(testbed.node(node_name, state)['libvirt_uri'])
    try:
        return tuple(conn.lookupByName(name).state())
    except libvirt.libvirtError:
        return None
    finally:
        conn.close()


def _in_postcopy(libvirt, state, name, moved_mib, timeout_s=300):
    """Wait until the source shows the guest paused for post-copy and
    ``moved_mib`` more MiB went out since: the middle of the pass."""
    conn = libvirt.open(testbed.node(SRC, state)['libvirt_uri'])
    try:
        dom = conn.lookupByName(name)
        deadline = time.monotonic() + timeout_s
        start = None
        while time.monotonic() < deadline:
            if dom.state() == [libvirt.VIR_DOMAIN_PAUSED,
                               libvirt.VIR_DOMAIN_PAUSED_POSTCOPY]:
                moved = dom.jobStats().get('memory_processed', 0)
                start = moved if start is None else start
                if moved - start >= moved_mib * MIB:
                    return
            time.sleep(0.1)
        raise AssertionError(f'{name}: no post-copy pass in {timeout_s} s')
    finally:
        conn.close()


def _clean(name, state, scans=2):
    """``(first, last)`` status lines of ``scans`` more full memory checks
    of the guest, each asserted clean."""
    first = status = testbed.wait_for_status(name, min_scans=1,
                                             timeout_s=180, state=state)
    for _ in range(scans):
        assert status['status'] == 'ok', status
        status = testbed.wait_for_status(
            name, after_seq=status['seq'], min_scans=status['scans'] + 1,
            timeout_s=180, state=state)
    assert status['status'] == 'ok', status
    return first, status


def _runs_once_on(libvirt, state, name, node_name):
    other = SRC if node_name == DST else DST
    here = _domain_state(libvirt, state, node_name, name)
    print(f'{name}: {node_name} {here}, {other} '
          f'{_domain_state(libvirt, state, other, name)}')
    # the reason may stay post-copy-failed: libvirt 9.0 does not know
    # QEMU 10's recovery states and never learns that the resume worked
    assert here is not None and here[0] == libvirt.VIR_DOMAIN_RUNNING, name
    assert _domain_state(libvirt, state, other, name) in (
        None, (libvirt.VIR_DOMAIN_SHUTOFF,
               libvirt.VIR_DOMAIN_SHUTOFF_MIGRATED)), name


def test_postcopy_resumes_after_the_link_comes_back(state, libvirt, guest,
                                                    link, agent):
    _clean(guest, state, scans=1)
    ag, stub = agent(postcopy_stall_s=3.0, postcopy_recover_timeout_s=120.0)
    step = _step(guest, state)
    t0 = time.monotonic()
    ag.live_migrate(step)
    _in_postcopy(libvirt, state, guest, moved_mib=MOVED_MIB)
    link.cut()
    cut_at = time.monotonic() - t0
    time.sleep(CUT_S)
    link.restore()
    result = stub.wait_for('migration_result',
                           lambda r: r.step_id == step.step_id,
                           timeout=600)[0]
    total = time.monotonic() - t0
    print(f'{guest}: cut at {cut_at:.1f} s for {CUT_S:.0f} s; result '
          f'{result.state} on {result.host} after {total:.1f} s: '
          f'{result.stats}')
    assert (result.state, result.host, result.error) == (
        'completed', DST, None), result
    assert result.stats['postcopy'] is True, result.stats
    assert result.stats['postcopy_pauses'] >= 1, result.stats
    assert result.stats['postcopy_paused_s'] > 0.0, result.stats
    # every page of the 128 MiB working set crossed once, before or after
    # the resume (libvirt may count the resumed job alone)
    assert result.stats['bytes'] > 128 * MIB, result.stats
    _runs_once_on(libvirt, state, guest, DST)
    before, after = _clean(guest, state)
    print(f'{guest}: memory check after the recovery: {after["line"]}')
    assert after['corrupt'] == 0


def test_postcopy_whose_link_never_returns_ends_stranded(
        state, libvirt, guest, link, agent):
    _clean(guest, state, scans=1)
    ag, stub = agent(postcopy_stall_s=3.0, postcopy_recover_timeout_s=10.0)
    step = _step(guest, state)
    ag.live_migrate(step)
    _in_postcopy(libvirt, state, guest, moved_mib=MOVED_MIB)
    link.cut()
    result = stub.wait_for('migration_result',
                           lambda r: r.step_id == step.step_id,
                           timeout=600)[0]
    print(f'{guest}: {result.state} on {result.host}: {result.error}; '
          f'{result.stats}')
    # neither a success nor a plain failure: the VM is on the destination,
    # paused, with its memory split, and the error says so
    assert (result.state, result.host) == ('failed', DST), result
    for word in (guest, SRC, DST, 'split', 'paused', 'resume',
                 'Not re-planned'):
        assert word in result.error, (word, result.error)
    assert result.stats['postcopy'] is True
    assert result.stats['postcopy_pauses'] >= 1, result.stats
    assert result.stats['total_s'] >= result.stats['postcopy_paused_s']
    assert _domain_state(libvirt, state, SRC, guest) == (
        libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)
    assert _domain_state(libvirt, state, DST, guest) is not None
    # the agent gave up on this step but left the VM as it was: no abort,
    # no destroy; the driver still knows the job, for a resume by hand
    assert ag.driver.job_info(guest).postcopy_paused
    link.restore()


def test_link_rules_are_only_ours(state, link):
    # the cut touches only node2<->node3 and is removed by restore
    link.cut()
    try:
        rules = subprocess.run(
            ['ip', 'netns', 'exec', link.netns, 'iptables', '-S'],
            check=True, capture_output=True, text=True).stdout
        assert rules.count(link.tag) == 2, rules
    finally:
        link.restore()
    rules = subprocess.run(
        ['ip', 'netns', 'exec', link.netns, 'iptables', '-S'],
        check=True, capture_output=True, text=True).stdout
    assert link.tag not in rules, rules



def test_testbed_hosts_can_recover_a_postcopy(state, libvirt):
    from nova_livemig.drivers import libvirt as libvirt_driver
    for name in (SRC, DST):
        node = testbed.node(name, state)
        driver = libvirt_driver.LibvirtDriver(
            fixtures.testbed_driver_conf(node))
        conn = libvirt.open(node['libvirt_uri'])
        try:
            versions = conn.getLibVersion(), conn.getVersion()
        finally:
            conn.close()
        print(f'{name}: libvirt {versions[0]}, QEMU {versions[1]}')
        # libvirt 9.0 and QEMU 10 (tools/testbed/README.md)
        assert versions[0] >= 8005000 and versions[1] >= 3000000
        assert driver.postcopy_recoverable() is True
