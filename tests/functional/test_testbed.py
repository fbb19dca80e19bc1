"""The libvirt/QEMU namespace testbed (tools/testbed) works end to end.

Skips unless ``tools/testbed/up.sh`` has run (state file present) and
libvirt-python is installed; under ``CI=true`` (tools/test.sh brings the
testbed up) a missing testbed is a failure instead.  Boots a small dirtier
guest on the first node, checks its memory reports clean, live-migrates it
(pre-copy, peer-to-peer) to the second node and checks its memory is still
clean there.
"""

import os

import pytest

from tests import fixtures

pytestmark = pytest.mark.testbed
testbed = fixtures.load_testbed()


@pytest.fixture(scope='module')
def guest(state):
    """A quiet guest on the first node, destroyed wherever it ends up."""
    name = f'tbtest-{os.getpid()}'
    testbed.start_guest(state['nodes'][0]['name'], name, memory_mib=128,
                        dirty_mib_s=2, wws_mib=32, scan_s=2, state=state)
    yield name
    fixtures.destroy_guests(state, [name])


def test_nodes_reachable_with_distinct_host_uuids(state, libvirt):
    uuids = set()
    for node in state['nodes']:
        conn = libvirt.open(node['libvirt_uri'])
        try:
            assert conn.getHostname() == node['name']
            caps = conn.getCapabilities()
            uuids.add(caps.split('<uuid>')[1].split('</uuid>')[0])
        finally:
            conn.close()
    assert len(uuids) == len(state['nodes'])


def test_guest_boots_and_memory_is_clean(state, guest):
    status = testbed.wait_for_status(guest, min_scans=1, timeout_s=60,
                                     state=state)
    assert status['status'] == 'ok', status


@pytest.mark.slow
def test_precopy_migration_keeps_memory_clean(state, guest, libvirt):
    src, dst = state['nodes'][0], state['nodes'][1]
    before = testbed.wait_for_status(guest, min_scans=1, timeout_s=60,
                                     state=state)
    assert before['status'] == 'ok', before

    conn = libvirt.open(src['libvirt_uri'])
    try:
        dom = conn.lookupByName(guest)
        dom.migrateToURI3(
            dst['libvirt_uri'], {},
            libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER)
    finally:
        conn.close()

    conn = libvirt.open(dst['libvirt_uri'])
    try:
        dom = conn.lookupByName(guest)
        assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    finally:
        conn.close()
    # A status line from the destination after two more full checks.
    after = testbed.wait_for_status(
        guest, after_seq=before['seq'] + 2, min_scans=before['scans'] + 2,
        timeout_s=60, state=state)
    assert after['status'] == 'ok', after
