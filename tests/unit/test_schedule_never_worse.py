"""The schedule is never longer than the Nova-default schedule of the same
moves, with ``prefer_rack`` on or off; when it cannot beat it, it adopts
that order and says so."""

import dataclasses

import hypothesis
import pytest

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import cost
from nova_livemig import graph as graph_mod
from nova_livemig import model
from nova_livemig import plan
from nova_livemig.policies import consolidate
from nova_livemig.scheduling import fallback
from nova_livemig.scheduling import predictions
from nova_livemig.scheduling import schedule as schedule_mod
from nova_livemig.scheduling import simulation
from tests import fixtures
from tests.unit import test_schedule_properties as props

ALGORITHMS = algorithms_mod.load_algorithms(plan.PlanningOptions().algorithms)


def not_longer_than_nova(sched):
    """The guarantee, as :mod:`nova_livemig.scheduling.fallback` states it:
    not longer than Nova's, unless Nova's does less."""
    nova = sched.nova
    assert sched.explanation
    if fallback.does_same(nova, sched.unscheduled):
        assert sched.makespan_s <= nova.makespan_s + 1e-6, (
            sched.explanation)
    else:
        assert 'does less' in sched.explanation or (
            sched.makespan_s <= nova.makespan_s + 1e-6)


@props.SETTINGS
@hypothesis.given(props.snapshots_and_moves())
def test_any_moves_never_longer_than_nova(case):
    snap, graph, moves = case
    sched = simulation.schedule(snap, graph, moves, props.OPTIONS,
                                props.ALGORITHMS)
    not_longer_than_nova(sched)
    fixtures.assert_schedule_holds(snap, moves, sched, props.OPTIONS)


@props.SETTINGS
@hypothesis.given(props.snapshots(), hypothesis.strategies.booleans())
def test_consolidation_schedule_never_longer_than_nova(snap, prefer_rack):
    options = dataclasses.replace(props.OPTIONS, prefer_rack=prefer_rack)
    graph = graph_mod.LinkGraph(snap)
    result = consolidate.consolidate(snap, graph, options, props.ALGORITHMS)
    sched = simulation.schedule(snap, graph, result.moves, options,
                                props.ALGORITHMS)
    not_longer_than_nova(sched)
    fixtures.assert_schedule_holds(snap, result.moves, sched, options)


def fan_in():
    """Four 10 Gbit/s hosts each send an idle 4 GiB VM to one 40 Gbit/s
    host: Nova runs the four at once (it has no incoming limit); this
    scheduler, at one incoming migration at a time, cannot."""
    sources = [f's{i}' for i in range(4)]
    hosts = [{'name': h, 'vcpus': 16, 'memory_mib': 65536}
             for h in sources + ['d']]
    links = [{'a': h, 'b': 'tor', 'gbit_s': 10.0} for h in sources]
    links.append({'a': 'd', 'b': 'tor', 'gbit_s': 40.0})
    vms = [{'id': f'v{i}', 'host': h, 'vcpus': 2, 'memory_mib': 4096,
            'cpu_util': 0.1, 'dirty_rate_mib_s': 0.0}
           for i, h in enumerate(sources)]
    return model.from_primitive({
        'version': 1, 'hosts': hosts, 'vms': vms,
        'network': {'switches': ['tor'], 'links': links}})


def fan_in_schedule(max_incoming, nova=True):
    """The four moves of :func:`fan_in`, each with the algorithm the
    planner would give it, scheduled: ``(snapshot, moves, options,
    schedule)``."""
    snap = fan_in()
    graph = graph_mod.LinkGraph(snap)
    options = plan.PlanningOptions(max_incoming_per_host=max_incoming)
    predictor = predictions.Predictor(options, ALGORITHMS)
    moves = []
    for vm in snap.vms.values():
        path = graph.widest_path(vm.host, 'd')
        algo = predictor.best(vm, path.free_gbit_s)
        moves.append(plan.Move(
            vm=vm.id, source=vm.host, destination='d', algorithm=algo,
            predicted=predictor.predict(vm, algo, path.free_gbit_s),
            path=path.links, bandwidth_gbit_s=path.free_gbit_s))
    sched = simulation.schedule(snap, graph, moves, options, ALGORITHMS,
                                nova=nova)
    return snap, moves, options, sched


def test_adopts_the_nova_order_when_it_cannot_beat_it():
    snap, moves, options, sched = fan_in_schedule(max_incoming=1)
    assert sched.order == schedule_mod.ORDER_NOVA
    assert 'adopted the Nova-default order' in sched.explanation
    assert sched.makespan_s == pytest.approx(sched.nova.makespan_s)
    assert {m.vm for m in sched.moves} == {m.vm for m in moves}
    assert all(m.converges for m in sched.moves)
    # the moves run at their source NIC's 10 Gbit/s, four at a time
    payload_s = 4096 * cost.MIB / cost.bytes_per_s(10.0, options.params)
    assert sched.makespan_s >= payload_s
    # what it would have been: one at a time
    alone = fan_in_schedule(max_incoming=1, nova=False)[3]
    assert alone.order == schedule_mod.ORDER_LIVEMIG
    assert alone.makespan_s > 2 * sched.makespan_s
    data = sched.to_primitive()
    assert data['order'] == 'nova-default' and data['explanation']
    fixtures.assert_schedule_holds(snap, moves, sched, options)


def test_keeps_its_order_when_it_wins():
    sched = fan_in_schedule(max_incoming=4)[3]
    assert sched.order == schedule_mod.ORDER_LIVEMIG
    assert 'not longer than the Nova default' in sched.explanation
    assert sched.makespan_s <= sched.nova.makespan_s + 1e-6


def _move(vm, start, end):
    return schedule_mod.ScheduledMove(vm, 'a', 'b', start, end, 'precopy',
                                      'precopy', 1.0, 1, 1.0, True)


def test_choose_prefers_the_plan_order_before_adopting():
    baseline = schedule_mod.Baseline(10.0, 0, 0, 'nova')
    ours = ((_move('v', 0.0, 12.0),), ())
    moves, _, order, why = fallback.choose(
        ours, baseline, (_move('v', 0.0, 10.0),), (),
        lambda: ((_move('v', 0.0, 9.0),), ()))
    assert order == schedule_mod.ORDER_PLAN and moves[0].end_s == 9.0
    assert 'plan' in why
    moves, _, order, _ = fallback.choose(
        ours, baseline, (_move('v', 0.0, 10.0),), (),
        lambda: ((_move('v', 0.0, 11.0),), ()))
    assert order == schedule_mod.ORDER_NOVA and moves[0].end_s == 10.0


def test_choose_keeps_ours_when_nova_does_less():
    # Nova aborts a pre-copy that does not converge: shorter, not better
    baseline = schedule_mod.Baseline(10.0, 1, 0, 'nova')
    ours = ((_move('v', 0.0, 12.0),), ())
    calls = []
    moves, _, order, why = fallback.choose(
        ours, baseline, (), (), lambda: calls.append(1))
    assert order == schedule_mod.ORDER_LIVEMIG and moves[0].end_s == 12.0
    assert 'does less' in why and not calls
