"""``consolidate`` on hosts of different sizes, and the bound it prints."""

from nova_livemig import plan
from nova_livemig.scheduling import bounds
from tests.unit.test_consolidate import run
from tests.unit.test_consolidate import snapshot


def test_large_hosts_are_kept_before_full_small_ones():
    # four 64 GiB hosts, full; two 256 GiB hosts, a quarter full. Keeping
    # the full small hosts (fewest moves first) needs 4 hosts at least;
    # the two large ones hold everything.
    hs = ([(f's{i}', 16, 64, {}) for i in range(4)]
          + [(f'l{i}', 64, 256, {}) for i in range(2)])
    vms = [(f'v{h}{k}', h, 2, 16, 0.1, {}) for h in ('s0', 's1', 's2', 's3')
           for k in range(4)]
    vms += [(f'w{h}{k}', h, 2, 16, 0.1, {}) for h in ('l0', 'l1')
            for k in range(4)]
    snap = snapshot(hs, vms)
    result = run(snap)
    s = result.summary
    assert s['lower_bound_hosts'] == 2
    assert s['hosts_in_use_after'] == 2
    assert {m.destination for m in result.moves} == {'l0', 'l1'}
    assert s['migrations'] == 16  # the large hosts' VMs stay
    plan.apply(snap, result.moves)


def test_among_hosts_of_one_size_the_fullest_keeps_its_vms():
    hs = [(f'l{i}', 64, 256, {}) for i in range(3)]
    vms = ([(f'a{k}', 'l0', 2, 16, 0.1, {}) for k in range(6)]
           + [(f'b{k}', 'l1', 2, 16, 0.1, {}) for k in range(2)]
           + [(f'c{k}', 'l2', 2, 16, 0.1, {}) for k in range(1)])
    result = run(snapshot(hs, vms))
    assert result.summary['hosts_in_use_after'] == 1
    assert {m.destination for m in result.moves} == {'l0'}
    assert result.summary['migrations'] == 3


def test_a_small_pinned_host_counts_as_kept():
    hs = ([('s0', 16, 64, {})] + [(f'l{i}', 64, 256, {}) for i in range(2)])
    vms = ([('pin', 's0', 2, 16, 0.1, {'pinned': True})]
           + [(f'v{i}', 'l0', 2, 16, 0.1, {}) for i in range(4)]
           + [(f'w{i}', 'l1', 2, 16, 0.1, {}) for i in range(4)])
    result = run(snapshot(hs, vms))
    s = result.summary
    assert s['lower_bound_by_resource']['pinned'] == 1
    # the pinned host's room is used first: what is left fits one host
    assert s['lower_bound_hosts'] == 2
    assert s['hosts_in_use_after'] == 2
    assert all(m.vm != 'pin' for m in result.moves)


def test_bound_on_all_resources_at_once_beats_each_alone():
    # one host has memory but few vcpus, one vcpus but little memory, the
    # others are balanced: no single host holds 100 GiB and 50 vcpus,
    # although memory alone and vcpus alone each fit one host
    hs = [('mem', 4, 128, {}), ('cpu', 64, 16, {}),
          ('m0', 32, 64, {}), ('m1', 32, 64, {})]
    vms = ([(f'a{i}', 'm0', 5, 10, 0.01, {}) for i in range(5)]
           + [(f'b{i}', 'm1', 5, 10, 0.01, {}) for i in range(5)])
    snap = snapshot(hs, vms)
    bound = bounds.active_hosts(snap, 0.8)
    assert bound.by_resource['memory'] == 1
    assert bound.by_resource['vcpus'] == 1
    assert bound.by_resource['combined'] == 2
    assert bound.hosts == 2
    assert run(snap).summary['hosts_in_use_after'] == 2


def test_hosts_that_must_stay_count_in_the_bound():
    hs = [(f'h{i}', 16, 64, {}) for i in range(3)]
    vms = [(f'v{i}', f'h{i}', 1, 4, 0.1, {}) for i in range(3)]
    snap = snapshot(hs, vms)
    assert bounds.active_hosts(snap, 0.8).hosts == 1
    stays = bounds.active_hosts(snap, 0.8, kept=('h1', 'h2'))
    assert stays.hosts == 2
    assert stays.by_resource['pinned'] == 2


def test_unmovable_vm_keeps_its_host_in_the_bound():
    # pre-copy alone cannot move a VM dirtying 4 GB/s over 1 Gbit/s: its
    # small host stays, and the bound counts it (without that it would
    # say one host: 48 GiB fit a 64 GiB host)
    precopy = plan.PlanningOptions(algorithms=('precopy',))
    hs = [('h0', 16, 64, {}), ('h1', 16, 64, {}), ('h2', 16, 40, {})]
    vms = [('v0', 'h0', 1, 8, 0.1, {}), ('v1', 'h1', 1, 8, 0.1, {}),
           ('hot', 'h2', 1, 32, 0.1, {'dirty_rate_mib_s': 4000.0})]
    snap = snapshot(hs, vms, gbit_s=1.0)
    assert bounds.active_hosts(snap, 0.8).hosts == 1
    result = run(snap, precopy)
    s = result.summary
    assert all(m.vm != 'hot' for m in result.moves)
    assert s['lower_bound_by_resource']['pinned'] == 1
    assert s['lower_bound_hosts'] == 2
    assert s['hosts_in_use_after'] == 2
