"""Properties of schedules and fleet plans on random snapshots (hypothesis).

Whatever the cluster and the moves asked for:

* at no instant of the schedule is a host over capacity (a migrating VM
  counts on both hosts), unless it already was before any move;
* no link carries more than its free capacity at any instant;
* no host runs more concurrent migrations than allowed;
* pinned VMs stay; every move stays inside its VM's aggregates;
* a move that is not scheduled is reported with a reason;
* consolidation never claims fewer hosts than the lower bound, and never
  ends with more hosts in use than it started with.
"""

import os

import hypothesis
from hypothesis import strategies as st

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import graph as graph_mod
from nova_livemig import model
from nova_livemig import plan
from nova_livemig.policies import balance
from nova_livemig.policies import consolidate
from nova_livemig.scheduling import bounds
from nova_livemig.scheduling import predictions
from nova_livemig.scheduling import simulation
from tests import fixtures

OPTIONS = plan.PlanningOptions(max_outgoing_per_host=2,
                               max_incoming_per_host=1)
ALGORITHMS = algorithms_mod.load_algorithms(OPTIONS.algorithms)
#: more examples with FLEET_EXAMPLES=500 (the default keeps the suite quick)
SETTINGS = hypothesis.settings(
    max_examples=int(os.environ.get('FLEET_EXAMPLES', '40')), deadline=None)


@st.composite
def snapshots(draw):
    n_hosts = draw(st.integers(2, 6))
    two_racks = draw(st.booleans())
    hosts, links = [], []
    for i in range(n_hosts):
        name = f'h{i}'
        hosts.append({
            'name': name, 'vcpus': draw(st.sampled_from([8, 16, 32])),
            'memory_mib': draw(st.sampled_from([16, 32, 64])) * 1024,
            'cpu_allocation_ratio': draw(st.sampled_from([1.0, 2.0, 4.0])),
            'aggregates': draw(st.sampled_from([[], [], ['x'], ['x', 'y']])),
            'state': draw(st.sampled_from(['up'] * 5 + ['maintenance'])),
            'power_idle_w': 100.0, 'power_max_w': 300.0})
        tor = 'tor1' if two_racks and i % 2 else 'tor0'
        links.append({'a': name, 'b': tor,
                      'gbit_s': draw(st.sampled_from([1.0, 10.0, 25.0])),
                      'used_gbit_s': draw(st.sampled_from([0.0, 0.5]))})
    switches = ['tor0', 'tor1'] if two_racks else ['tor0']
    if two_racks:
        links.append({'a': 'tor0', 'b': 'tor1',
                      'gbit_s': draw(st.sampled_from([2.0, 10.0, 40.0]))})
    vms = []
    free = {h['name']: [h['vcpus'] * h['cpu_allocation_ratio'],
                        h['memory_mib']] for h in hosts}
    for i in range(draw(st.integers(0, 14))):
        host = draw(st.sampled_from(hosts))['name']
        vcpus = draw(st.sampled_from([1, 2, 4, 8]))
        mem = draw(st.sampled_from([1, 2, 4, 8, 16])) * 1024
        if free[host][0] < vcpus or free[host][1] < mem:
            continue
        free[host][0] -= vcpus
        free[host][1] -= mem
        vms.append({'id': f'v{i}', 'host': host, 'vcpus': vcpus,
                    'memory_mib': mem,
                    'cpu_util': draw(st.sampled_from([0.0, 0.3, 0.9, 1.0])),
                    'dirty_rate_mib_s': draw(st.sampled_from(
                        [0.0, 20.0, 300.0, 3000.0])),
                    'pinned': draw(st.booleans()) and draw(st.booleans())})
    return model.from_primitive({
        'version': 1, 'hosts': hosts, 'vms': vms,
        'network': {'switches': switches, 'links': links}})


@st.composite
def snapshots_and_moves(draw):
    snap = draw(snapshots())
    graph = graph_mod.LinkGraph(snap)
    predictor = predictions.Predictor(OPTIONS, ALGORITHMS)
    moves = []
    for vm in snap.vms.values():
        if vm.pinned or not draw(st.booleans()):
            continue
        src = snap.hosts[vm.host]
        dests = [h.name for h in snap.hosts.values()
                 if h.name != vm.host and h.state == 'up'
                 and set(src.aggregates) <= set(h.aggregates)]
        if not dests:
            continue
        dst = draw(st.sampled_from(dests))
        path = graph.widest_path(vm.host, dst)
        algo = draw(st.sampled_from(OPTIONS.algorithms))
        moves.append(plan.Move(
            vm=vm.id, source=vm.host, destination=dst, algorithm=algo,
            predicted=predictor.predict(vm, algo, path.free_gbit_s),
            path=path.links, bandwidth_gbit_s=path.free_gbit_s))
    return snap, graph, moves


def check_schedule(snap, graph, moves, sched):
    fixtures.assert_schedule_holds(snap, moves, sched, OPTIONS)


@SETTINGS
@hypothesis.given(snapshots_and_moves())
def test_any_moves_schedule_safely(case):
    snap, graph, moves = case
    sched = simulation.schedule(snap, graph, moves, OPTIONS, ALGORITHMS)
    check_schedule(snap, graph, moves, sched)
    # the bound is a bound (up to the 1e-3 the cost models wobble by
    # between nearby bandwidths)
    assert sched.makespan_s >= sched.bound_s * (1 - 1e-3) or not [
        m for m in sched.moves if not m.note.startswith('hop')], (
        sched.bound_reason, [(m.vm, m.source, m.destination, m.start_s,
                              m.end_s, m.algorithm, m.rates, m.note)
                             for m in sched.moves])


@SETTINGS
@hypothesis.given(snapshots())
def test_consolidation_is_safe_and_not_below_the_bound(snap):
    graph = graph_mod.LinkGraph(snap)
    result = consolidate.consolidate(snap, graph, OPTIONS, ALGORITHMS)
    after = plan.apply(snap, result.moves)   # aggregates, pinned, capacity
    s = result.summary
    assert s['hosts_in_use_after'] >= s['lower_bound_hosts']
    assert s['hosts_in_use_after'] <= s['hosts_in_use_before']
    assert s['hosts_in_use_after'] == bounds.hosts_in_use(after)
    busy = {}
    for vm in after.vms.values():
        busy[vm.host] = busy.get(vm.host, 0.0) + vm.busy_vcpus
    moved_to = {m.destination for m in result.moves}
    for name in moved_to:
        assert busy[name] <= (OPTIONS.cpu_target_util
                              * snap.hosts[name].vcpus + 1e-6)
    sched = simulation.schedule(snap, graph, result.moves, OPTIONS,
                                ALGORITHMS)
    check_schedule(snap, graph, result.moves, sched)


@SETTINGS
@hypothesis.given(snapshots())
def test_balance_never_overloads_a_destination(snap):
    graph = graph_mod.LinkGraph(snap)
    result = balance.balance(snap, graph, OPTIONS, ALGORITHMS)
    plan.apply(snap, result.moves)
    after = balance.utilisation(
        snap.relocated({m.vm: m.destination for m in result.moves}))
    for m in result.moves:
        assert after[m.destination] <= OPTIONS.cpu_target_util + 1e-6
    s = result.summary
    assert s['hosts_over_target_after'] <= s['hosts_over_target_before']
