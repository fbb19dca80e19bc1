"""Where a VM may go: capacity bookkeeping, hard rules, and the ranking by
predicted migration cost, then balance.

These tests are about placement, not cost, so they use a small stand-in
pre-copy model whose numbers are easy to reason about: the real models are
tested with the algorithms.
"""

import pytest

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig import graph
from nova_livemig import model
from nova_livemig import plan
from nova_livemig.policies import ranking


class StandInPrecopy(algorithms.Algorithm):
    """Rounds of pre-copy at the path's payload rate; converges when the
    last round fits in the downtime target."""

    name = 'precopy'

    def predict(self, inp, params):
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params) / cost.MIB
        remaining, total_s, sent = inp.memory_mib, 0.0, 0.0
        for rounds in range(1, params.max_iterations + 1):
            if remaining / rate * 1000 <= inp.max_downtime_ms:
                downtime = remaining / rate * 1000 + params.switchover_ms
                return cost.Prediction(
                    self.name, total_s + downtime / 1000, downtime,
                    int((sent + remaining) * cost.MIB), True, rounds)
            total_s += remaining / rate
            sent += remaining
            remaining = min(inp.memory_mib, inp.dirty_rate_mib_s
                            * remaining / rate)
        return cost.Prediction(self.name, total_s, remaining / rate * 1000,
                               int(sent * cost.MIB), False, rounds)


OPTIONS = plan.PlanningOptions(algorithms=('precopy',),
                               dirty_rate_rel_err=0.0)
ALGORITHMS = {'precopy': StandInPrecopy()}


def host(name, vcpus=16, memory_mib=32768, **kw):
    return dict(name=name, vcpus=vcpus, memory_mib=memory_mib, **kw)


def vm(vm_id, where, vcpus=2, memory_mib=4096, dirty=10.0, **kw):
    return dict(id=vm_id, host=where, vcpus=vcpus, memory_mib=memory_mib,
                cpu_util=0.5, dirty_rate_mib_s=dirty, **kw)


def cluster(hosts, vms, uplinks=None):
    """Every host on one switch at 25 Gbit/s, less ``uplinks[host]`` used."""
    uplinks = uplinks or {}
    return model.from_primitive({
        'version': 1, 'hosts': hosts, 'vms': vms,
        'network': {'switches': ['tor'], 'links': [
            {'a': h['name'], 'b': 'tor', 'gbit_s': 25.0,
             'used_gbit_s': uplinks.get(h['name'], 0.0)} for h in hosts]}})


def ranker(snap, options=OPTIONS):
    return ranking.Ranker(graph.LinkGraph(snap), options, ALGORITHMS)


def test_the_stand_in_model_is_sane():
    params = cost.CostParams()
    fast = StandInPrecopy().predict(cost.MigrationInput(4096, 10.0, 25.0),
                                    params)
    slow = StandInPrecopy().predict(cost.MigrationInput(4096, 10.0, 5.0),
                                    params)
    hot = StandInPrecopy().predict(cost.MigrationInput(4096, 5000.0, 10.0),
                                   params)
    assert fast.converges and fast.total_s < slow.total_s
    assert not hot.converges


class TestUsage:

    def test_counts_what_is_on_each_host(self):
        snap = cluster([host('a'), host('b')],
                       [vm('x', 'a', 4, 8192), vm('y', 'a', 2, 1024)])
        usage = ranking.Usage(snap)
        assert (usage.vcpus['a'], usage.memory_mib['a'], usage.count['a']) \
            == (6, 9216, 2)
        assert usage.vcpus['b'] == 0 and usage.placement['x'] == 'a'
        assert usage.cpu_util('a') == pytest.approx(3.0 / 16)
        assert usage.memory_fill('a') == pytest.approx(9216 / 32768)

    def test_fits_under_the_allocation_ratios(self):
        snap = cluster([host('a'), host('b', vcpus=4, memory_mib=8192,
                                        cpu_allocation_ratio=2.0,
                                        ram_allocation_ratio=1.5)],
                       [vm('x', 'a', 8, 12288)])
        usage = ranking.Usage(snap)
        x = snap.vms['x']
        assert usage.fits(x, 'b')  # 8 of 8 vcpus, 12288 of 12288 MiB
        bigger = model.Vm('z', 'a', 9, 1024, 0.1, 1.0)
        assert not usage.fits(bigger, 'b')
        hungrier = model.Vm('z', 'a', 1, 12289, 0.1, 1.0)
        assert not usage.fits(hungrier, 'b')

    def test_fits_under_a_cpu_target(self):
        snap = cluster([host('a'), host('b', vcpus=4)],
                       [vm('x', 'a', 4, 1024)])  # 2 busy vcpus
        usage = ranking.Usage(snap)
        assert usage.fits(snap.vms['x'], 'b', cpu_target_util=0.5)
        assert not usage.fits(snap.vms['x'], 'b', cpu_target_util=0.4)

    def test_a_move_takes_room_on_the_destination_only(self):
        snap = cluster([host('a'), host('b', vcpus=4)],
                       [vm('x', 'a', 4, 1024), vm('y', 'a', 4, 1024)])
        usage = ranking.Usage(snap)
        usage.move(snap.vms['x'], 'b')
        assert (usage.vcpus['a'], usage.vcpus['b']) == (4, 4)
        assert usage.placement['x'] == 'b'
        assert not usage.fits(snap.vms['y'], 'b')


@pytest.mark.parametrize('dest,ok', [
    ({'aggregates': ('g', 'h')}, True),
    ({'aggregates': ('h',)}, False),
    ({'aggregates': ('g',), 'state': 'maintenance'}, False),
    ({'aggregates': ('g',), 'state': 'down'}, False),
    ({'aggregates': ('g',), 'name': 's'}, False),
])
def test_allowed(dest, ok):
    src = model.Host('s', 1, 1, aggregates=('g',))
    dest = {'name': 'd', 'vcpus': 1, 'memory_mib': 1, **dest}
    assert ranking.allowed(src, model.Host(**dest)) is ok


class TestRankerBest:

    def test_the_cheapest_migration_wins_over_balance(self):
        # b is fuller but its uplink is free; c is empty but its uplink is
        # busy, so the migration to c takes longer
        snap = cluster([host('a'), host('b'), host('c')],
                       [vm('x', 'a', memory_mib=8192),
                        vm('y', 'b', memory_mib=16384)],
                       uplinks={'c': 20.0})
        usage = ranking.Usage(snap)
        move, reason = ranker(snap).best(snap.vms['x'], usage)
        assert reason is None
        assert (move.source, move.destination) == ('a', 'b')
        assert move.bandwidth_gbit_s == 25.0
        assert move.path == (('a', 'tor'), ('b', 'tor'))
        assert move.algorithm == 'precopy' and move.predicted.converges

    def test_a_nearly_as_cheap_migration_goes_to_the_emptier_host(self):
        # c's path is 4 % narrower: within the tolerance, balance decides
        snap = cluster([host('a'), host('b'), host('c')],
                       [vm('x', 'a'), vm('y', 'b', memory_mib=16384)],
                       uplinks={'c': 1.0})
        usage = ranking.Usage(snap)
        assert ranker(snap).best(snap.vms['x'], usage)[0].destination == 'c'
        strict = ranking.Ranker(graph.LinkGraph(snap), OPTIONS,
                                  ALGORITHMS, cost_tolerance=0.0)
        assert strict.best(snap.vms['x'], usage)[0].destination == 'b'

    def test_at_equal_cost_the_emptier_host_wins(self):
        snap = cluster([host('a'), host('b'), host('c')],
                       [vm('x', 'a'), vm('y', 'b', memory_mib=16384),
                        vm('z', 'c', memory_mib=8192)])
        move, _ = ranker(snap).best(snap.vms['x'], ranking.Usage(snap))
        assert move.destination == 'c'

    def test_at_equal_cost_and_memory_the_less_busy_cpu_wins(self):
        snap = cluster([host('a'), host('b'), host('c')],
                       [vm('x', 'a'), vm('y', 'b', vcpus=8),
                        vm('z', 'c', vcpus=2)])
        move, _ = ranker(snap).best(snap.vms['x'], ranking.Usage(snap))
        assert move.destination == 'c'

    def test_a_full_identical_tie_goes_to_the_first_name(self):
        snap = cluster([host('a'), host('c'), host('b')], [vm('x', 'a')])
        move, _ = ranker(snap).best(snap.vms['x'], ranking.Usage(snap))
        assert move.destination == 'b'

    def test_rules_exclude_and_capacity(self):
        snap = cluster([host('a', aggregates=['g']),
                        host('b', aggregates=['g'], state='maintenance'),
                        host('c', aggregates=['g'], vcpus=1),
                        host('d'),
                        host('e', aggregates=['g'])],
                       [vm('x', 'a')])
        r = ranker(snap)
        usage = ranking.Usage(snap)
        move, _ = r.best(snap.vms['x'], usage)
        assert move.destination == 'e'
        move, reason = r.best(snap.vms['x'], usage, exclude={'e'})
        assert move is None
        assert reason == ('no destination: 1 host(s) lack room for 2 vcpus '
                          '/ 4096 MiB; 4 host(s) are the source, not up, '
                          'or outside its aggregates')

    def test_a_host_without_free_path(self):
        snap = cluster([host('a'), host('b')], [vm('x', 'a')],
                       uplinks={'b': 25.0})
        move, reason = ranker(snap).best(snap.vms['x'],
                                         ranking.Usage(snap))
        assert move is None
        assert reason.endswith('1 host(s) have no free path')

    def test_no_move_that_would_miss_the_downtime_target(self):
        # 3000 MiB/s of dirtying never converges over 25 Gbit/s (~2.8 GiB/s)
        snap = cluster([host('a'), host('b')],
                       [vm('x', 'a', dirty=3000.0)])
        r = ranker(snap)
        move, reason = r.best(snap.vms['x'], ranking.Usage(snap))
        assert move is None
        assert reason == ('no destination where a migration meets the '
                          'downtime target of 500 ms (best: b with '
                          'precopy, does not converge)')
        move, reason = r.best(snap.vms['x'], ranking.Usage(snap),
                              require_meets=False)
        assert move.destination == 'b' and not move.predicted.converges

    def test_a_tight_downtime_target_is_reported_with_the_best_downtime(
            self):
        snap = cluster([host('a'), host('b')],
                       [vm('x', 'a', dirty=2000.0)])
        r = ranker(snap, plan.PlanningOptions(
            algorithms=('precopy',), dirty_rate_rel_err=0.0,
            max_downtime_ms=1.0))
        move, reason = r.best(snap.vms['x'], ranking.Usage(snap))
        assert move is None and 'target of 1 ms' in reason

    def test_a_cpu_target_keeps_busy_hosts_out(self):
        snap = cluster([host('a'), host('b', vcpus=4), host('c')],
                       [vm('x', 'a', vcpus=4), vm('y', 'c', vcpus=16)])
        usage = ranking.Usage(snap)
        r = ranker(snap)
        # x has 2 busy vcpus: b (4 vcpus) would be at 50%, c at 62.5%
        assert r.best(snap.vms['x'], usage)[0].destination == 'b'
        move, reason = r.best(snap.vms['x'], usage, cpu_target_util=0.4)
        assert move is None and '2 host(s) lack room' in reason

    def test_aggregates_are_those_of_the_host_the_vm_started_on(self):
        snap = cluster([host('a', aggregates=['g']), host('b'),
                        host('c', aggregates=['g'])], [vm('x', 'a')])
        usage = ranking.Usage(snap)
        usage.move(snap.vms['x'], 'c')
        move, _ = ranker(snap).best(snap.vms['x'], usage)
        assert (move.source, move.destination) == ('c', 'a')

    def test_predictions_do_not_grow_with_the_number_of_hosts(self):
        def calls_for(n_hosts):
            calls = []

            class Counting(StandInPrecopy):
                def predict(self, inp, params):
                    calls.append(inp.bandwidth_gbit_s)
                    return super().predict(inp, params)

            # uplinks carry slightly different background traffic
            snap = cluster([host(f'h{i}') for i in range(n_hosts)],
                           [vm('x', 'h0')],
                           uplinks={f'h{i}': (i % 7) * 0.01
                                    for i in range(1, n_hosts)})
            r = ranking.Ranker(graph.LinkGraph(snap), OPTIONS,
                                 {'precopy': Counting()})
            move, _ = r.best(snap.vms['x'], ranking.Usage(snap))
            r.best(snap.vms['x'], ranking.Usage(snap))  # all cached
            return calls, move

        few, _ = calls_for(10)
        many, move = calls_for(200)
        assert len(many) == len(few) <= 6
        # the chosen move is predicted at its exact path bandwidth
        assert move.bandwidth_gbit_s in {25.0 - k * 0.01 for k in range(7)}
        assert move.bandwidth_gbit_s in many

    def test_ranking_predictions_round_the_bandwidth_down(self):
        snap = cluster([host('a'), host('b')], [vm('x', 'a')])
        r = ranker(snap)
        x = snap.vms['x']
        assert r.ranking_prediction(x, 25.0) is r.ranking_prediction(x, 24.8)
        assert (r.ranking_prediction(x, 25.0).total_s
                >= r.predict(x, 25.0).total_s)
        assert (r.ranking_prediction(x, 25.0).total_s
                <= r.predict(x, 25.0 / 1.02).total_s)
