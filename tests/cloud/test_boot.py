"""Slice (a): the cloud boots a self-checking guest on a testbed node.

Real services, a real nova-compute (libvirt driver) inside the node's
namespaces, a real QEMU guest.
"""

import json

from tests.cloud import guest

TESTBED_STATE = '/run/nova-livemig-testbed/state.json'


def _testbed_nodes():
    with open(TESTBED_STATE) as f:
        return [n['name'] for n in json.load(f)['nodes']]


def test_every_testbed_node_is_a_hypervisor(cloud):
    services = cloud.json('compute', 'service', 'list', '--service',
                          'nova-compute')
    up = sorted(s['Host'] for s in services if s['State'] == 'up')
    assert up == sorted(_testbed_nodes())
    hypervisors = cloud.json('hypervisor', 'list')
    assert sorted(h['Hypervisor Hostname'] for h in hypervisors) == up
    assert {h['Hypervisor Type'] for h in hypervisors} == {'QEMU'}


def test_server_boots_on_the_asked_node_and_checks_its_memory(cloud, server):
    node = _testbed_nodes()[-1]
    shown = server('lm-boot', host=node)
    assert shown['status'] == 'ACTIVE'
    assert shown['OS-EXT-SRV-ATTR:host'] == node
    # The guest's own check of its whole memory, from its serial console.
    status = guest.wait_for_scans(cloud, 'lm-boot', min_scans=1)
    assert status['status'] == 'ok' and status['corrupt'] == 0, status
    # Placement: the server's resources are held on its node only.
    providers = {p['name']: p['uuid'] for p in
                 cloud.placement('/resource_providers')
                 ['resource_providers']}
    allocations = cloud.placement(f"/allocations/{shown['id']}")
    held = allocations['allocations']
    assert list(held) == [providers[node]], held
    assert held[providers[node]]['resources']['MEMORY_MB'] == 256


def test_deleted_server_frees_its_node(cloud, server):
    node = _testbed_nodes()[0]
    shown = server('lm-delete', host=node)
    cloud.run('server', 'delete', '--wait', 'lm-delete')
    allocations = cloud.placement(f"/allocations/{shown['id']}")
    assert allocations['allocations'] == {}
    assert cloud.run('server', 'show', 'lm-delete', check=False).returncode
