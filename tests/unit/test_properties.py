"""Properties of ``single`` and ``drain`` on random clusters.

Whatever the cluster, a plan never overfills a host, never moves a pinned
VM, never takes a VM out of its aggregates and never targets a host that is
not up: :func:`nova_livemig.plan.apply` checks all four. Every VM a policy
is asked to move is either moved once or reported unplaced, and a drain
never moves a VM onto a host being drained.
"""

import collections

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from nova_livemig import algorithms
from nova_livemig import graph
from nova_livemig import model
from nova_livemig import plan
from nova_livemig import policies
from nova_livemig.policies import drain
from nova_livemig.policies import single

ALGORITHMS = algorithms.load_algorithms(
    ('precopy', 'autoconverge', 'compress', 'postcopy', 'hybrid'))
OPTIONS = plan.PlanningOptions()
AGGREGATES = ('general', 'ssd')


@st.composite
def snapshots(draw):
    """A valid snapshot: 2-10 hosts in 1-3 racks, a ToR per rack joined by
    a spine, random capacities, states, aggregates, link use and VMs."""
    n_hosts = draw(st.integers(2, 10))
    n_racks = draw(st.integers(1, 3))
    hosts, links = [], []
    for i in range(n_hosts):
        hosts.append({
            'name': f'h{i}',
            'vcpus': draw(st.sampled_from([2, 4, 8, 16, 32])),
            'memory_mib': draw(st.sampled_from(
                [4096, 8192, 16384, 32768, 65536])),
            'cpu_allocation_ratio': draw(st.sampled_from([1.0, 2.0, 4.0])),
            'ram_allocation_ratio': draw(st.sampled_from([1.0, 1.5])),
            'state': draw(st.sampled_from(
                ['up', 'up', 'up', 'maintenance', 'down'])),
            'aggregates': draw(st.lists(st.sampled_from(AGGREGATES),
                                        unique=True, max_size=2)),
        })
        gbit_s = draw(st.sampled_from([1.0, 10.0, 25.0, 100.0]))
        links.append({'a': f'h{i}', 'b': f'tor{i % n_racks}',
                      'gbit_s': gbit_s,
                      'used_gbit_s': gbit_s * draw(st.sampled_from(
                          [0.0, 0.3, 0.9, 1.0]))})
    for r in range(n_racks):
        links.append({'a': f'tor{r}', 'b': 'spine', 'gbit_s': 100.0,
                      'used_gbit_s': draw(st.sampled_from([0.0, 50.0]))})
    vms = []
    for i in range(draw(st.integers(0, 24))):
        memory_mib = draw(st.sampled_from([512, 2048, 4096, 8192, 16384]))
        vms.append({
            'id': f'vm{i}',
            'host': draw(st.sampled_from([h['name'] for h in hosts])),
            'vcpus': draw(st.sampled_from([1, 2, 4, 8])),
            'memory_mib': memory_mib,
            'cpu_util': draw(st.sampled_from([0.0, 0.3, 1.0])),
            'dirty_rate_mib_s': draw(st.sampled_from(
                [0.0, 10.0, 200.0, 1500.0, 6000.0])),
            'pinned': draw(st.integers(0, 9)) == 0,
        })
    return model.from_primitive({
        'version': 1, 'hosts': hosts, 'vms': vms,
        'network': {'switches': [f'tor{r}' for r in range(n_racks)]
                    + ['spine'], 'links': links}})


def plan_with(policy, snap, request):
    result = policy.plan(snap, graph.LinkGraph(snap), request, OPTIONS,
                         ALGORITHMS)
    plan.apply(snap, result.moves)  # capacity, pinned, aggregates, up
    return result


def accounted_once(result, vm_ids):
    seen = collections.Counter([m.vm for m in result.moves]
                               + [u.vm for u in result.unplaced])
    return seen == collections.Counter(vm_ids)


SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(snap=snapshots(), data=st.data())
def test_drain_keeps_every_rule(snap, data):
    named = data.draw(st.lists(st.sampled_from(list(snap.hosts)),
                               unique=True, max_size=3))
    result = plan_with(drain.Drain(), snap,
                       policies.PlanRequest(hosts=tuple(named)))
    drained = set(named) or {h.name for h in snap.hosts.values()
                             if h.state == 'maintenance'}
    on_drained = [vm.id for vm in snap.vms.values() if vm.host in drained]
    assert accounted_once(result, on_drained)
    assert not {m.destination for m in result.moves} & drained
    for u in result.unplaced:
        assert (u.reason == 'pinned') == snap.vms[u.vm].pinned


@SETTINGS
@given(snap=snapshots(), data=st.data())
def test_single_keeps_every_rule(snap, data):
    if not snap.vms:
        return
    wanted = data.draw(st.lists(st.sampled_from(list(snap.vms)),
                                min_size=1, max_size=4))
    result = plan_with(single.Single(), snap,
                       policies.PlanRequest(vms=tuple(wanted)))
    assert accounted_once(result, list(dict.fromkeys(wanted)))
    for move in result.moves:
        assert move.predicted.meets(OPTIONS.max_downtime_ms)
