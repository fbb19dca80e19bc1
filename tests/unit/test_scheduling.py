"""The scheduler on small hand-made clusters, with stand-in cost models.

The stand-ins (:class:`StandInPreCopy`, :class:`StandInPostCopy`) are a
few lines of textbook pre-copy and post-copy so that these tests do not
depend on the calibrated models; :mod:`test_scenarios` uses the real ones.
"""

import math

import pytest

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig import graph as graph_mod
from nova_livemig import model
from nova_livemig import plan
from nova_livemig.scheduling import schedule as schedule_mod
from nova_livemig.scheduling import sharing
from nova_livemig.scheduling import simulation


class StandInPreCopy(algorithms.Algorithm):
    """Rounds of copying what was dirtied during the previous round."""
    name = 'precopy'

    def predict(self, inp, params):
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params)
        dirty = inp.dirty_rate_mib_s * cost.MIB
        left = inp.memory_mib * cost.MIB
        total = sent = 0.0
        for i in range(params.max_iterations):
            t = left / rate
            if t * 1000.0 <= inp.max_downtime_ms or i == (
                    params.max_iterations - 1):
                break
            total += t
            sent += left
            left = min(dirty * t, inp.memory_mib * cost.MIB)
        downtime = t * 1000.0 + params.switchover_ms
        return cost.Prediction(
            algorithm=self.name, total_s=total + t, downtime_ms=downtime,
            bytes_sent=int(sent + left), converges=dirty < rate,
            iterations=i + 1)


class StandInPostCopy(algorithms.Algorithm):
    """Switch over at once, then fetch every page once."""
    name = 'postcopy'
    uses_postcopy = True

    def predict(self, inp, params):
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params)
        size = inp.memory_mib * cost.MIB
        return cost.Prediction(
            algorithm=self.name, total_s=size / rate,
            downtime_ms=params.switchover_ms + 50.0, bytes_sent=int(size),
            converges=True, slowdown=params.postcopy_slowdown,
            risks=('vm-lost-on-link-failure',))


STAND_INS = {'precopy': StandInPreCopy(), 'postcopy': StandInPostCopy()}
OPTIONS = plan.PlanningOptions(algorithms=('precopy', 'postcopy'))


def star(hosts, vms, gbit_s=10.0, vcpus=16, memory_mib=65536):
    """A snapshot: hosts on one switch; ``vms`` as (id, host, GiB, MiB/s)."""
    return model.from_primitive({
        'version': 1,
        'hosts': [{'name': h, 'vcpus': vcpus, 'memory_mib': memory_mib}
                  for h in hosts],
        'vms': [{'id': i, 'host': h, 'vcpus': 2, 'memory_mib': gib * 1024,
                 'cpu_util': 0.5, 'dirty_rate_mib_s': rate}
                for i, h, gib, rate in vms],
        'network': {'switches': ['tor'], 'links': [
            {'a': h, 'b': 'tor', 'gbit_s': gbit_s} for h in hosts]}})


def moves_for(snap, pairs, algorithm='precopy'):
    g = graph_mod.LinkGraph(snap)
    out = []
    for vm, dst in pairs:
        src = snap.vms[vm].host
        path = g.widest_path(src, dst)
        pred = STAND_INS[algorithm].predict(cost.MigrationInput.for_vm(
            snap.vms[vm], path.free_gbit_s, 500.0), cost.CostParams())
        out.append(plan.Move(vm=vm, source=src, destination=dst,
                             algorithm=algorithm, predicted=pred,
                             path=path.links,
                             bandwidth_gbit_s=path.free_gbit_s))
    return g, out


def run(snap, pairs, options=OPTIONS, **kw):
    g, moves = moves_for(snap, pairs)
    return simulation.schedule(snap, g, moves, options, STAND_INS, **kw)


def test_one_move_runs_alone_at_full_bandwidth():
    snap = star(['a', 'b'], [('v', 'a', 4, 0.0)])
    sched = run(snap, [('v', 'b')])
    (m,) = sched.moves
    assert m.start_s == 0.0
    assert m.min_gbit_s == pytest.approx(10.0)
    expected = 4 * cost.MIB * 1024 / cost.bytes_per_s(10.0, cost.CostParams())
    assert m.end_s == pytest.approx(expected, rel=0.02)
    assert sched.bound_s == pytest.approx(m.end_s, rel=0.02)


def test_two_moves_from_one_nic_share_it():
    snap = star(['a', 'b', 'c'], [('v1', 'a', 4, 0.0), ('v2', 'a', 4, 0.0)])
    sched = run(snap, [('v1', 'b'), ('v2', 'c')])
    assert [m.min_gbit_s for m in sched.moves] == pytest.approx([5.0, 5.0])
    assert sched.makespan_s <= 1.05 * sched.bound_s
    # Nova: one at a time out of a host, each at full speed
    assert sched.nova.makespan_s == pytest.approx(sched.makespan_s, rel=0.05)


def test_move_waits_for_room_freed_by_a_move_out():
    # b is full (64 GiB); v2 must leave b before v1 can arrive
    snap = star(['a', 'b', 'c'], [('v1', 'a', 32, 0.0), ('v2', 'b', 40, 0.0),
                                  ('v3', 'b', 24, 0.0)])
    sched = run(snap, [('v1', 'b'), ('v2', 'c')])
    by_vm = {m.vm: m for m in sched.moves}
    assert by_vm['v1'].start_s >= by_vm['v2'].end_s - 1e-9


def test_outgoing_limit():
    vms = [(f'v{i}', 'a', 2, 0.0) for i in range(5)]
    snap = star(['a', 'b'], vms)
    opts = plan.PlanningOptions(algorithms=('precopy',),
                                max_outgoing_per_host=2)
    sched = run(snap, [(v[0], 'b') for v in vms], options=opts)
    for t in schedule_mod.events(sched.moves):
        running = [m for m in sched.moves if m.start_s <= t < m.end_s]
        assert len(running) <= 2


def test_swap_cycle_goes_through_a_spare_host():
    snap = star(['a', 'b', 'c'], [('v1', 'a', 40, 0.0), ('v2', 'b', 40, 0.0),
                                  ('x1', 'a', 24, 0.0), ('x2', 'b', 24, 0.0)])
    sched = run(snap, [('v1', 'b'), ('v2', 'a')])
    assert not sched.unscheduled
    assert sched.count('hop') == 2
    hops = [m for m in sched.moves if m.note.startswith('hop')]
    assert {m.destination for m in hops} >= {'c'}


def test_swap_cycle_without_spare_is_reported():
    snap = star(['a', 'b'], [('v1', 'a', 40, 0.0), ('v2', 'b', 40, 0.0),
                             ('x1', 'a', 24, 0.0), ('x2', 'b', 24, 0.0)])
    sched = run(snap, [('v1', 'b'), ('v2', 'a')])
    assert len(sched.unscheduled) == 2
    assert 'no spare host' in sched.unscheduled[0].reason


def test_sharing_switches_precopy_when_share_is_too_small():
    # 300 MiB/s dirty: converges alone on 10 Gbit/s (~1140 MiB/s payload)
    # but not on a quarter of it (~286 MiB/s); the three others are idle
    vms = [(f'v{i}', 'a', 4, 0.0) for i in range(3)] + [('v3', 'a', 4, 300.)]
    snap = star(['a', 'b', 'c', 'd', 'e'], vms)
    opts = plan.PlanningOptions(algorithms=('precopy', 'postcopy'),
                                max_outgoing_per_host=4,
                                dirty_rate_rel_err=0.0)
    sched = run(snap, [('v0', 'b'), ('v1', 'c'), ('v2', 'd'), ('v3', 'e')],
                options=opts)
    by_vm = {m.vm: m for m in sched.moves}
    assert by_vm['v3'].note.startswith('switched precopy->postcopy')
    assert by_vm['v3'].algorithm == 'postcopy'
    assert all(m.start_s == 0.0 and m.converges for m in sched.moves)


def test_sharing_delays_when_no_other_algorithm():
    vms = [(f'v{i}', 'a', 4, 300.0) for i in range(4)]
    snap = star(['a', 'b', 'c', 'd', 'e'], vms)
    opts = plan.PlanningOptions(algorithms=('precopy',),
                                max_outgoing_per_host=4,
                                dirty_rate_rel_err=0.0)
    sched = run(snap, [('v0', 'b'), ('v1', 'c'), ('v2', 'd'), ('v3', 'e')],
                options=opts)
    assert sched.count('delayed') >= 1
    assert all(m.algorithm == 'precopy' and m.converges for m in sched.moves)
    # sharing would have cost more than waiting: no slower than serial
    assert sched.makespan_s <= sched.nova.makespan_s * 1.01


def test_unmovable_vm_is_said_plainly():
    snap = star(['a', 'b'], [('v', 'a', 4, 5000.0)])
    opts = plan.PlanningOptions(algorithms=('precopy',))
    sched = run(snap, [('v', 'b')], options=opts)
    (u,) = sched.unscheduled
    assert u.reason.startswith('unmovable')
    assert 'post-copy is not allowed' in u.reason
    assert not sched.moves


def test_to_primitive_is_json():
    import json
    snap = star(['a', 'b'], [('v', 'a', 4, 0.0)])
    data = json.loads(json.dumps(run(snap, [('v', 'b')]).to_primitive()))
    assert data['moves'][0]['vm'] == 'v'
    assert data['nova_default']['makespan_s'] > 0


def test_max_min_fair_never_exceeds_capacity():
    rates = sharing.max_min_fair(
        {1: ('x', 'y'), 2: ('y',), 3: ('x', 'z'), 4: ('z',)},
        {'x': 3.0, 'y': 10.0, 'z': 1.0})
    assert rates[3] == rates[4] == 0.5
    assert rates[1] == 2.5 and rates[2] == 7.5
    assert not math.isinf(max(rates.values()))


def test_cli_prints_schedule_and_draws(tmp_path, capsys):
    import json

    from nova_livemig.cmd import cli
    snap = star(['a', 'b', 'c'], [('v1', 'a', 8, 5.0), ('v2', 'b', 8, 5.0)])
    path = tmp_path / 'snap.json'
    path.write_text(json.dumps(snap.to_primitive()))
    out = tmp_path / 'g.html'
    status = cli.run(['plan', '--snapshot', str(path), '--policy',
                      'consolidate', '--graph', str(out)])
    text = capsys.readouterr().out
    assert status == 0
    assert 'hosts in use 2 -> 1 (lower bound 1)' in text
    assert 'Nova default:' in text and out.exists()
    assert cli.run(['plan', '--snapshot', str(path), '--policy', 'drain',
                    '--rack', 'nope']) == 2
    assert cli.run(['plan', '--snapshot', str(path), '--policy', 'drain',
                    '--rack', 'tor', '--format', 'json']) in (0, 1)
    data = json.loads(capsys.readouterr().out)
    assert 'schedule' in data
