"""The ``consolidate`` policy and the lower bound on active hosts."""

import pytest

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import graph as graph_mod
from nova_livemig import model
from nova_livemig import plan
from nova_livemig import plugins
from nova_livemig import policies
from nova_livemig.policies import consolidate
from nova_livemig.scheduling import bounds

OPTIONS = plan.PlanningOptions()
ALGORITHMS = algorithms_mod.load_algorithms(OPTIONS.algorithms)


def snapshot(hosts, vms, gbit_s=25.0):
    """hosts: (name, vcpus, GiB, extra fields); vms: (id, host, vcpus, GiB,
    cpu_util, extra fields)."""
    return model.from_primitive({
        'version': 1,
        'hosts': [dict({'name': n, 'vcpus': c, 'memory_mib': g * 1024,
                        'power_idle_w': 100.0, 'power_max_w': 300.0}, **x)
                  for n, c, g, x in hosts],
        'vms': [dict({'id': i, 'host': h, 'vcpus': c, 'memory_mib': g * 1024,
                      'cpu_util': u, 'dirty_rate_mib_s': 5.0}, **x)
                for i, h, c, g, u, x in vms],
        'network': {'switches': ['tor'], 'links': [
            {'a': n, 'b': 'tor', 'gbit_s': gbit_s} for n, *_ in hosts]}})


def run(snap, options=OPTIONS):
    return consolidate.consolidate(snap, graph_mod.LinkGraph(snap), options,
                                   ALGORITHMS)


def hosts(names, vcpus=16, gib=64, **extra):
    return [(n, vcpus, gib, extra) for n in names]


def test_four_quarter_full_hosts_pack_onto_one():
    snap = snapshot(hosts('abcd'), [(f'v{h}', h, 2, 16, 0.1, {})
                                    for h in 'abcd'])
    result = run(snap)
    s = result.summary
    assert (s['hosts_in_use_before'], s['hosts_in_use_after']) == (4, 1)
    assert s['lower_bound_hosts'] == 1
    assert s['migrations'] == 3
    plan.apply(snap, result.moves)


def test_fullest_host_keeps_its_vms():
    vms = [('big1', 'a', 2, 20, 0.1, {}), ('big2', 'a', 2, 20, 0.1, {}),
           ('s1', 'b', 1, 4, 0.1, {}), ('s2', 'c', 1, 4, 0.1, {})]
    result = run(snapshot(hosts('abc'), vms))
    assert {m.vm for m in result.moves} == {'s1', 's2'}
    assert {m.destination for m in result.moves} == {'a'}


def test_cpu_headroom_limits_packing():
    # four VMs of 8 vcpus fully busy: 0.8 * 16 = 12.8 busy vcpus per host
    snap = snapshot(hosts('abcd', vcpus=16),
                    [(f'v{h}', h, 8, 4, 1.0, {}) for h in 'abcd'])
    s = run(snap).summary
    assert s['hosts_in_use_after'] == 4
    assert s['lower_bound_by_resource']['cpu_used'] == 3
    loose = plan.PlanningOptions(cpu_target_util=1.0)
    assert run(snap, loose).summary['hosts_in_use_after'] == 2


def test_pinned_vm_keeps_its_host():
    vms = [('pin', 'c', 1, 4, 0.1, {'pinned': True}),
           ('x', 'a', 2, 30, 0.1, {}), ('y', 'b', 2, 30, 0.1, {})]
    result = run(snapshot(hosts('abc'), vms))
    assert all(m.vm != 'pin' for m in result.moves)
    assert {m.destination for m in result.moves} == {'c'}


def test_aggregates_are_respected():
    hs = (hosts(['x1', 'x2'], aggregates=['x'])
          + hosts(['y1', 'y2'], aggregates=['y']))
    vms = [(f'v{h}', h, 1, 8, 0.1, {}) for h in ('x1', 'x2', 'y1', 'y2')]
    result = run(snapshot(hs, vms))
    plan.apply(result and snapshot(hs, vms), result.moves)
    assert result.summary['hosts_in_use_after'] == 2
    assert result.summary['lower_bound_hosts'] == 2


def test_hosts_not_up_are_left_alone():
    hs = hosts('ab') + hosts('m', state='maintenance')
    vms = [('va', 'a', 1, 8, 0.1, {}), ('vb', 'b', 1, 8, 0.1, {}),
           ('vm', 'm', 1, 8, 0.1, {})]
    result = run(snapshot(hs, vms))
    assert all(m.vm != 'vm' and m.destination != 'm' for m in result.moves)
    assert result.summary['hosts_in_use_after'] == 1


def test_power_saved_is_the_whole_draw_of_freed_hosts():
    # a: 2 busy vcpus of 16; b: 2 busy of 16; after: a or b with 4 busy
    snap = snapshot(hosts('ab'), [('va', 'a', 2, 8, 1.0, {}),
                                  ('vb', 'b', 2, 8, 1.0, {})])
    s = run(snap).summary
    draw = 100.0 + 200.0 * 2 / 16
    after = 100.0 + 200.0 * 4 / 16
    assert s['power_before_w'] == pytest.approx(2 * draw)
    assert s['power_after_w'] == pytest.approx(after)
    assert s['power_saved_w'] == pytest.approx(2 * draw - after)


def test_plugin_loads_by_name():
    policy = plugins.load(plugins.POLICIES, 'consolidate')
    snap = snapshot(hosts('ab'), [('va', 'a', 1, 8, 0.1, {}),
                                  ('vb', 'b', 1, 8, 0.1, {})])
    result = policy.plan(snap, graph_mod.LinkGraph(snap),
                         policies.PlanRequest(), OPTIONS, ALGORITHMS)
    assert result.policy == 'consolidate' and len(result.moves) == 1


def test_lower_bound_uses_the_largest_hosts_first():
    hs = hosts(['small1', 'small2'], gib=32) + hosts(['large'], gib=128)
    vms = [(f'v{i}', 'small1', 1, 8, 0.1, {}) for i in range(4)]
    snap = snapshot(hs, vms)
    assert bounds.active_hosts(snap, 0.8).hosts == 1
    # 96 GiB cannot fit one 32 GiB host, but fits the 128 GiB one
    big = [(f'v{i}', h, 1, 16, 0.1, {}) for i, h in enumerate(
        ['small1', 'small2', 'large', 'large', 'large', 'large'])]
    assert bounds.active_hosts(snapshot(hs, big), 0.8).hosts == 1
    assert run(snapshot(hs, big)).summary['hosts_in_use_after'] == 1


def test_lower_bound_counts_pinned_hosts_and_aggregate_groups():
    hs = (hosts(['x1', 'x2'], aggregates=['x'])
          + hosts(['y1', 'y2'], aggregates=['y']))
    vms = [('p', 'x1', 1, 1, 0.1, {'pinned': True}),
           ('q', 'x2', 1, 1, 0.1, {'pinned': True}),
           ('r', 'y1', 1, 1, 0.1, {})]
    bound = bounds.active_hosts(snapshot(hs, vms), 0.8)
    assert bound.by_resource['pinned'] == 2
    assert bound.aggregate_sum == 3
    assert bound.hosts == 3
