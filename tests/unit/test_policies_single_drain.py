"""Scenarios for the ``single`` and ``drain`` policies.

Crafted clusters use a stand-in pre-copy model, so that which destination
is cheapest is obvious from the links; the shipped example cluster uses the
real cost models. Every plan is checked with :func:`plan.apply`.
"""

import pytest

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig import exception
from nova_livemig import graph
from nova_livemig import model
from nova_livemig import plan
from nova_livemig import plugins
from nova_livemig import policies
from nova_livemig.policies import drain
from nova_livemig.policies import single


class StandInPrecopy(algorithms.Algorithm):
    """Time = memory / payload rate; converges when the dirty rate is under
    half the payload rate; downtime grows with the dirty rate."""

    name = 'precopy'

    def predict(self, inp, params):
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params) / cost.MIB
        ok = inp.dirty_rate_mib_s < rate / 2
        return cost.Prediction(
            self.name, inp.memory_mib / rate * (1 + inp.dirty_rate_mib_s
                                                / rate),
            1000 * inp.dirty_rate_mib_s / rate, int(inp.memory_mib
                                                    * cost.MIB), ok)


STAND_IN = {'precopy': StandInPrecopy()}
OPTIONS = plan.PlanningOptions(algorithms=('precopy',),
                               dirty_rate_rel_err=0.0)
ALL = ('precopy', 'autoconverge', 'compress', 'postcopy', 'hybrid')


@pytest.fixture
def real_algorithms():
    return algorithms.load_algorithms(ALL)


def run(policy, snap, algos=None, options=OPTIONS, **request):
    result = policy.plan(snap, graph.LinkGraph(snap),
                         policies.PlanRequest(**request), options,
                         algos or STAND_IN)
    plan.apply(snap, result.moves)  # every plan obeys the rules
    return result


def cluster(hosts, vms, uplinks=None):
    """One switch; every host on it at 25 Gbit/s less ``uplinks[h]``."""
    uplinks = uplinks or {}
    return model.from_primitive({
        'version': 1,
        'hosts': [{'name': n, 'vcpus': 16, 'memory_mib': 32768, **kw}
                  for n, kw in hosts],
        'vms': [dict(id=i, host=h, vcpus=v, memory_mib=m, cpu_util=0.5,
                     dirty_rate_mib_s=d, **kw) for i, h, v, m, d, kw in vms],
        'network': {'switches': ['tor'], 'links': [
            {'a': n, 'b': 'tor', 'gbit_s': 25.0,
             'used_gbit_s': uplinks.get(n, 0.0)} for n, _ in hosts]}})


def unplaced(result):
    return {u.vm: u.reason for u in result.unplaced}


def test_both_policies_are_plugins():
    assert isinstance(plugins.load(plugins.POLICIES, 'single'), single.Single)
    assert isinstance(plugins.load(plugins.POLICIES, 'drain'), drain.Drain)


class TestSingle:

    def test_goes_where_the_migration_is_cheapest(self):
        snap = cluster([('a', {}), ('b', {}), ('c', {})],
                       [('x', 'a', 2, 4096, 10.0, {})], uplinks={'b': 15.0})
        result = run(single.Single(), snap, vms=('x',))
        [move] = result.moves
        assert (move.vm, move.source, move.destination) == ('x', 'a', 'c')
        assert result.policy == 'single' and result.unplaced == ()
        assert result.summary == {'requested': ['x']}

    def test_several_vms_share_the_room_left(self):
        # c has room for one of them only; b is slower but has room
        snap = cluster([('a', {}), ('b', {}), ('c', {'memory_mib': 12288})],
                       [('x', 'a', 2, 8192, 10.0, {}),
                        ('y', 'a', 2, 8192, 10.0, {})], uplinks={'b': 10.0})
        result = run(single.Single(), snap, vms=('x', 'y', 'x'))
        assert [(m.vm, m.destination) for m in result.moves] == [
            ('x', 'c'), ('y', 'b')]

    def test_a_pinned_vm_stays(self):
        snap = cluster([('a', {}), ('b', {})],
                       [('x', 'a', 2, 4096, 10.0, {'pinned': True})])
        result = run(single.Single(), snap, vms=('x',))
        assert result.moves == () and unplaced(result) == {'x': 'pinned'}

    def test_a_vm_on_a_down_host_cannot_be_live_migrated(self):
        snap = cluster([('a', {'state': 'down'}), ('b', {})],
                       [('x', 'a', 2, 4096, 10.0, {})])
        result = run(single.Single(), snap, vms=('x',))
        assert unplaced(result)['x'].startswith('source host is down')

    def test_only_hosts_up_in_the_same_aggregates(self):
        snap = cluster([('a', {'aggregates': ['gpu']}),
                        ('b', {}),
                        ('c', {'aggregates': ['gpu'],
                               'state': 'maintenance'}),
                        ('d', {'aggregates': ['gpu', 'ssd']})],
                       [('x', 'a', 2, 4096, 10.0, {})], uplinks={'d': 20.0})
        [move] = run(single.Single(), snap, vms=('x',)).moves
        assert move.destination == 'd'

    def test_nothing_can_take_it(self):
        snap = cluster([('a', {}), ('b', {'vcpus': 2})],
                       [('x', 'a', 4, 4096, 10.0, {})])
        result = run(single.Single(), snap, vms=('x',))
        assert unplaced(result) == {'x': (
            'no destination: 1 host(s) lack room for 4 vcpus / 4096 MiB; '
            '1 host(s) are the source, not up, or outside its aggregates')}

    def test_a_vm_too_hot_for_any_path(self):
        snap = cluster([('a', {}), ('b', {})],
                       [('x', 'a', 2, 4096, 2000.0, {})])
        result = run(single.Single(), snap, vms=('x',))
        assert 'meets the downtime target of 500 ms' in unplaced(result)['x']

    @pytest.mark.parametrize('vms,allowed', [
        ((), 'at least one VM id'),
        (('nope',), 'a VM id of the snapshot, e.g. x'),
    ])
    def test_bad_requests(self, vms, allowed):
        snap = cluster([('a', {}), ('b', {})],
                       [('x', 'a', 2, 4096, 10.0, {})])
        with pytest.raises(exception.InvalidInput) as info:
            run(single.Single(), snap, vms=vms)
        assert info.value.field == 'vms'
        assert info.value.allowed.startswith(allowed)

    def test_on_the_example_cluster(self, example_snapshot,
                                    real_algorithms):
        result = run(single.Single(), example_snapshot, real_algorithms,
                     plan.PlanningOptions(), vms=('pg-primary',
                                                  'spark-exec-01'))
        dest = {m.vm: m.destination for m in result.moves}
        # general stays in general; high-memory goes to the other one
        assert dest['pg-primary'] in {'cmp-r1-02', 'cmp-r2-01'}
        assert dest['spark-exec-01'] == 'cmp-r2-03'
        for move in result.moves:
            assert move.predicted.meets(500.0)
            assert move.algorithm in ALL


class TestDrain:

    def test_the_hardest_vm_is_placed_first(self):
        # b has room for the big one only, c for the small one only. Small
        # first would take b (emptier after the move) and strand the big.
        snap = cluster([('a', {'state': 'maintenance'}),
                        ('b', {'memory_mib': 20480}),
                        ('c', {'memory_mib': 8192})],
                       [('small', 'a', 1, 4096, 5.0, {}),
                        ('big', 'a', 4, 16384, 5.0, {}),
                        ('fill-b', 'b', 1, 4096, 1.0, {}),
                        ('fill-c', 'c', 1, 4096, 1.0, {})])
        result = run(drain.Drain(), snap)
        assert [(m.vm, m.destination) for m in result.moves] == [
            ('big', 'b'), ('small', 'c')]
        assert result.summary == {'drained_hosts': ['a'],
                                  'vms_on_drained_hosts': 2}

    def test_never_overfills_as_the_plan_accumulates(self):
        # b is the cheap destination, but holds only two of the four
        snap = cluster([('a', {'state': 'maintenance'}),
                        ('b', {'memory_mib': 16384}), ('c', {})],
                       [(f'vm{i}', 'a', 2, 8192, 10.0, {}) for i in range(4)],
                       uplinks={'c': 10.0})
        result = run(drain.Drain(), snap)
        to = [m.destination for m in result.moves]
        assert sorted(to) == ['b', 'b', 'c', 'c']

    def test_a_vm_that_fits_nowhere_is_reported(self):
        snap = cluster([('a', {'state': 'maintenance'}),
                        ('b', {'memory_mib': 16384})],
                       [('x', 'a', 2, 8192, 10.0, {}),
                        ('y', 'a', 2, 12288, 10.0, {})])
        result = run(drain.Drain(), snap)
        assert [m.vm for m in result.moves] == ['y']
        assert unplaced(result)['x'].startswith(
            'no destination: 1 host(s) lack room for 2 vcpus / 8192 MiB')

    def test_named_hosts_never_receive_each_other_s_vms(self):
        snap = cluster([('a', {}), ('b', {}), ('c', {})],
                       [('x', 'a', 2, 4096, 10.0, {}),
                        ('y', 'b', 2, 4096, 10.0, {})],
                       uplinks={'c': 20.0})
        result = run(drain.Drain(), snap, hosts=('a', 'b', 'a'))
        assert {m.destination for m in result.moves} == {'c'}
        assert result.summary['drained_hosts'] == ['a', 'b']

    def test_pinned_vms_on_a_drained_host(self):
        snap = cluster([('a', {'state': 'maintenance'}), ('b', {})],
                       [('x', 'a', 2, 4096, 10.0, {'pinned': True}),
                        ('y', 'a', 2, 4096, 10.0, {})])
        result = run(drain.Drain(), snap)
        assert [m.vm for m in result.moves] == ['y']
        assert unplaced(result) == {'x': 'pinned'}

    def test_nothing_in_maintenance_plans_nothing(self):
        snap = cluster([('a', {}), ('b', {})],
                       [('x', 'a', 2, 4096, 10.0, {})])
        result = run(drain.Drain(), snap)
        assert result.moves == () and result.unplaced == ()
        assert result.summary['drained_hosts'] == []

    def test_an_unknown_host(self):
        snap = cluster([('a', {}), ('b', {})], [])
        with pytest.raises(exception.InvalidInput) as info:
            run(drain.Drain(), snap, hosts=('zz',))
        assert (info.value.field, info.value.value) == ('hosts', 'zz')
        assert info.value.allowed == 'a host name of the snapshot, e.g. a, b'

    def test_the_maintenance_host_of_the_example(self, example_snapshot,
                                                 real_algorithms):
        snap = example_snapshot
        result = run(drain.Drain(), snap, real_algorithms,
                     plan.PlanningOptions())
        on_it = {vm.id for vm in snap.vms_on('cmp-r1-03')}
        assert {m.vm for m in result.moves} == on_it
        assert result.unplaced == ()
        assert {m.destination for m in result.moves} <= {
            'cmp-r1-01', 'cmp-r1-02', 'cmp-r2-01'}
        # the hardest first: the database replica, then the hot VMs
        assert [m.vm for m in result.moves][:3] == [
            'pg-replica', 'redis-01', 'build-01']
        for move in result.moves:
            assert move.predicted.meets(500.0)

    def test_a_high_memory_host_of_the_example(self, example_snapshot,
                                               real_algorithms):
        # cmp-r2-03 has room for two of the three 128 GiB VMs
        result = run(drain.Drain(), example_snapshot, real_algorithms,
                     plan.PlanningOptions(), hosts=('cmp-r2-02',))
        assert {m.destination for m in result.moves} == {'cmp-r2-03'}
        assert len(result.moves) == 2
        [(vm_id, reason)] = unplaced(result).items()
        assert vm_id in {'spark-exec-01', 'spark-exec-02', 'es-data-01'}
        assert 'lack room for 16 vcpus / 131072 MiB' in reason

    def test_the_pinned_vm_of_the_example(self, example_snapshot,
                                          real_algorithms):
        result = run(drain.Drain(), example_snapshot, real_algorithms,
                     plan.PlanningOptions(), hosts=('cmp-r2-01',))
        assert unplaced(result) == {'vnf-fw-01': 'pinned'}
        assert {m.vm for m in result.moves} == {'web-05', 'ci-runner-01'}
