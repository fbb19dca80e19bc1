"""Fleet scenarios: one parametrised test reads ``tests/scenarios/*.json``.

A scenario file holds:

* ``description``: what it shows, in words;
* ``snapshot``: a snapshot (format v1);
* ``policy``: a policy plugin name (``consolidate``, ``balance``,
  ``drain``...) run with ``request`` (a :class:`PlanRequest` as JSON), or
  ``moves``: the moves are given in ``moves`` as ``[vm, destination]`` or
  ``[vm, destination, algorithm]`` (the scheduler alone is tested);
* ``options``: fields of :class:`PlanningOptions` (lists for tuples);
* ``expect``: the properties below (an unknown key fails the test).

Every scenario also checks what must always hold: the plan fits the
snapshot (aggregates, pinned VMs, final capacity), no host is over capacity
and no link over its free capacity at any instant of the schedule, no host
runs more concurrent migrations than allowed, and every scheduled move ends
after it starts. The real cost models are used.
"""

import json
import pathlib

import pytest

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import graph as graph_mod
from nova_livemig import model
from nova_livemig import plan
from nova_livemig import plugins
from nova_livemig import policies
from nova_livemig.scheduling import predictions
from nova_livemig.scheduling import simulation
from tests import fixtures

SCENARIOS = sorted(
    (pathlib.Path(__file__).resolve().parent.parent / 'scenarios')
    .glob('*.json'))


def load_scenario(path):
    doc = json.loads(path.read_text(encoding='utf-8'))
    snap = model.from_primitive(doc['snapshot'])
    opts = {k: tuple(v) if isinstance(v, list) else v
            for k, v in doc.get('options', {}).items()}
    options = plan.PlanningOptions(**opts)
    algorithms = algorithms_mod.load_algorithms(options.algorithms)
    graph = graph_mod.LinkGraph(snap)
    if doc['policy'] == 'moves':
        result = given_moves(snap, graph, doc['moves'], options, algorithms)
    else:
        policy = plugins.load(plugins.POLICIES, doc['policy'])
        request = policies.PlanRequest(**{
            k: tuple(v) for k, v in doc.get('request', {}).items()})
        result = policy.plan(snap, graph, request, options, algorithms)
    sched = simulation.schedule(snap, graph, result.moves, options,
                                algorithms)
    return doc, snap, options, result, sched


def given_moves(snap, graph, pairs, options, algorithms):
    predictor = predictions.Predictor(options, algorithms)
    moves = []
    for entry in pairs:
        vm = snap.vms[entry[0]]
        path = graph.widest_path(vm.host, entry[1])
        algo = (entry[2] if len(entry) > 2
                else predictor.best(vm, path.free_gbit_s) or 'precopy')
        moves.append(plan.Move(
            vm=vm.id, source=vm.host, destination=entry[1], algorithm=algo,
            predicted=predictor.predict(vm, algo, path.free_gbit_s),
            path=path.links, bandwidth_gbit_s=path.free_gbit_s))
    return plan.Plan(policy='moves', moves=tuple(moves))


def check_always(snap, options, result, sched):
    # the plan, applied, fits (aggregates, pinned, up, capacity at the end)
    plan.apply(snap, result.moves)
    fixtures.assert_schedule_holds(snap, result.moves, sched, options)


def final_hosts(snap, sched):
    where = {vm.id: vm.host for vm in snap.vms.values()}
    for move in sorted(sched.moves, key=lambda m: m.end_s):
        where[move.vm] = move.destination
    return where


def check_expect(expect, snap, result, sched):
    where = final_hosts(snap, sched)
    in_use = {h for vm, h in where.items()}
    checks = {
        'unscheduled': lambda v: len(sched.unscheduled) == v,
        'unscheduled_reason_contains': lambda v: any(
            v in u.reason for u in sched.unscheduled),
        'moves': lambda v: len(sched.moves) == v,
        'moves_max': lambda v: len(sched.moves) <= v,
        'hops_min': lambda v: sched.count('hop') >= v,
        'hops_max': lambda v: sched.count('hop') <= v,
        'final_hosts': lambda v: all(where[k] == h for k, h in v.items()),
        'algorithm_of': lambda v: all(
            m.algorithm == v[m.vm] for m in sched.moves if m.vm in v),
        'note_of': lambda v: all(
            m.note.startswith(v[m.vm]) for m in sched.moves if m.vm in v),
        'makespan_vs_bound_max': lambda v: (
            sched.makespan_s <= v * sched.bound_s),
        'bound_reason_contains': lambda v: v in sched.bound_reason,
        'vs_nova_max': lambda v: (
            sched.makespan_s <= v * sched.nova.makespan_s
            or sched.nova.failed > 0),
        'serial': lambda v: v == all(
            a.end_s <= b.start_s + 1e-9 for a, b in zip(
                sorted(sched.moves, key=lambda m: m.start_s),
                sorted(sched.moves, key=lambda m: m.start_s)[1:])),
        'hosts_in_use_after': lambda v: len(in_use) == v,
        'at_lower_bound': lambda v: v == (
            result.summary['hosts_in_use_after']
            == result.summary['lower_bound_hosts']),
        'hosts_over_target_after': lambda v: (
            result.summary['hosts_over_target_after'] == v),
        'stddev_decreases': lambda v: v == (
            result.summary['stddev_after'] < result.summary['stddev_before']),
        'emptied': lambda v: not (set(v) & in_use),
    }
    unknown = set(expect) - set(checks)
    assert not unknown, f'unknown expectations: {sorted(unknown)}'
    for key, value in expect.items():
        assert checks[key](value), (key, value, sched.to_primitive())


@pytest.mark.parametrize('path', SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path):
    doc, snap, options, result, sched = load_scenario(path)
    check_always(snap, options, result, sched)
    check_expect(doc['expect'], snap, result, sched)


def test_scenarios_cover_the_issue():
    names = {p.stem for p in SCENARIOS}
    assert {'swap_cycle', 'full_cluster_one_slot', 'bottleneck_link',
            'dirty_vm_postcopy', 'dirty_vm_unmovable',
            'aggregates'} <= names
