"""Slice (b): ``openstack server migrate --live-migration`` with no host
lands where nova-livemig's weigher, inside the real nova-scheduler,
prefers; swapping the measurements sends the next move elsewhere (the
negative control: the weigher, not chance or Nova's own weighers, picks).

The snapshot is written here, in the conductor's published format, to
the path the devstack plugin gave both nova.conf and nova-livemig.conf.
"""

import configparser
import json
import os
import subprocess

from tests.cloud.conftest import CLOUD_ETC


def _snapshot_path():
    parser = configparser.RawConfigParser(strict=False)
    parser.read(CLOUD_ETC / 'nova' / 'nova.conf')
    return parser.get('nova_livemig', 'snapshot_path')


def _publish(server_id, host, gbit_s):
    """Write the snapshot atomically: node links of ``gbit_s[node]``."""
    snapshot = {
        'version': 1,
        'hosts': [{'name': n, 'vcpus': 4, 'memory_mib': 4096,
                   'cpu_allocation_ratio': 4.0, 'ram_allocation_ratio': 1.0,
                   'state': 'up', 'cpu_util': 0.1} for n in sorted(gbit_s)],
        'vms': [{'id': server_id, 'host': host, 'vcpus': 1,
                 'memory_mib': 256, 'cpu_util': 0.1,
                 'dirty_rate_mib_s': 1.0, 'wws_mib': 16.0,
                 'resident_mib': 64.0}],
        'network': {'switches': ['sw'],
                    'links': [{'a': n, 'b': 'sw', 'gbit_s': g,
                               'used_gbit_s': 0.0}
                              for n, g in sorted(gbit_s.items())]},
    }
    path = _snapshot_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.new', 'w') as f:
        json.dump(snapshot, f)
    os.replace(path + '.new', path)


def _migrate(cloud, name):
    cloud.run('server', 'migrate', '--live-migration', '--wait', name,
              microversion='2.30')
    return cloud.json('server', 'show', name)


def test_live_migration_without_host_goes_where_the_weigher_prefers(
        cloud, server):
    shown = server('lm-weigher', host='node1')
    sid = shown['id']
    # node3 behind a fast link, node2 behind a slow one: node3 is quicker.
    _publish(sid, 'node1', {'node1': 10.0, 'node2': 0.05, 'node3': 10.0})
    moved = _migrate(cloud, 'lm-weigher')
    assert moved['status'] == 'ACTIVE'
    assert moved['OS-EXT-SRV-ATTR:host'] == 'node3'
    # Swap the links: now node2 is the quick destination from node3.
    _publish(sid, 'node3', {'node1': 0.05, 'node2': 10.0, 'node3': 10.0})
    moved = _migrate(cloud, 'lm-weigher')
    assert moved['OS-EXT-SRV-ATTR:host'] == 'node2'
    migrations = cloud.json('server', 'migration', 'list', '--server',
                            'lm-weigher', microversion='2.80')
    assert sorted(m['Status'] for m in migrations) == ['completed',
                                                       'completed']
    # Placement holds the server on node2 only.
    providers = {p['name']: p['uuid'] for p in
                 cloud.placement('/resource_providers')['resource_providers']}
    held = cloud.placement(f'/allocations/{sid}')['allocations']
    assert list(held) == [providers['node2']], held
    # libvirt: the guest runs on node2 and on no other node.
    domain = moved['OS-EXT-SRV-ATTR:instance_name']
    for node, want in (('node1', None), ('node2', 'running'),
                       ('node3', None)):
        assert _domain_state(node, domain) == want, node


def _domain_state(node, domain):
    """``virsh domstate`` of ``domain`` on testbed ``node``; None if the
    node has no such domain."""
    with open('/run/nova-livemig-testbed/state.json') as f:
        uri = {n['name']: n['libvirt_uri']
               for n in json.load(f)['nodes']}[node]
    proc = subprocess.run(['virsh', '-c', uri, 'domstate', domain],
                          capture_output=True, text=True, timeout=60)
    return proc.stdout.strip() if proc.returncode == 0 else None
