"""The scheduler reads the predictions the plan made instead of making them
again, and never reads them for a VM that is not the very same one."""

import dataclasses

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import graph as graph_mod
from nova_livemig import plan
from nova_livemig.policies import consolidate
from nova_livemig.scheduling import predictions
from nova_livemig.scheduling import simulation
from tests.unit import test_scheduling as small

REAL = algorithms_mod.load_algorithms(plan.PlanningOptions().algorithms)


class Counting:
    """A cost model that counts its predictions."""

    def __init__(self, inner, calls):
        self.inner = inner
        self.calls = calls
        self.name = inner.name
        self.uses_postcopy = getattr(inner, 'uses_postcopy', False)

    def predict(self, inp, params):
        self.calls.append(self.name)
        return self.inner.predict(inp, params)


def cluster():
    return small.star(['a', 'b', 'c', 'd'],
                      [(f'v{i}', 'ab'[i % 2], 2 + i % 3, 5.0 * i)
                       for i in range(8)])


def test_schedule_reads_the_plans_predictions():
    snap = cluster()
    graph = graph_mod.LinkGraph(snap)
    calls = []
    algorithms = {n: Counting(a, calls) for n, a in REAL.items()}
    options = plan.PlanningOptions(max_outgoing_per_host=2)
    result = consolidate.consolidate(snap, graph, options, algorithms)
    assert result.moves
    planned = len(calls)
    simulation.schedule(snap, graph, result.moves, options, algorithms,
                        nova=False)
    after_plan = len(calls) - planned
    # the same schedule without the plan's cache (other cost model
    # objects: nothing to read)
    calls_fresh = []
    fresh = {n: Counting(a, calls_fresh) for n, a in REAL.items()}
    simulation.schedule(snap, graph, result.moves, options, fresh,
                        nova=False)
    assert after_plan < len(calls_fresh) / 2, (after_plan, len(calls_fresh))


def test_another_vm_with_the_same_id_is_predicted_afresh():
    snap = cluster()
    options = plan.PlanningOptions()
    vm = snap.vms['v3']
    planner = predictions.Predictor(options, REAL)
    before = planner.predict(vm, 'precopy', 10.0)
    busier = dataclasses.replace(vm, dirty_rate_mib_s=900.0,
                                 dirty_rate_err_mib_s=None)
    reader = predictions.Predictor(options, REAL, reuse=True)
    assert reader.predict(vm, 'precopy', 10.0) is before
    again = reader.predict(busier, 'precopy', 10.0)
    assert again == predictions.Predictor(
        dataclasses.replace(options, max_downtime_ms=options.max_downtime_ms),
        REAL).predict(busier, 'precopy', 10.0)
    assert again.bytes_sent > before.bytes_sent
