"""What a plan does: one set of figures per migration, and the policy's
figures for where the VMs end up.

Without a schedule the figures of a migration are the plan's prediction
(the VM alone on its path). With one they are the schedule's: the
algorithm it runs with (the scheduler may switch it), its start and end,
its downtime and the bytes it sends at the link share it gets. The table
and the JSON of ``nova-livemig plan`` print these, so a move never shows
two sets of figures. Pure: no I/O.

>>> from nova_livemig import cost, plan
>>> pred = cost.Prediction('precopy', 12.5, 48.0, 9 * 1024 ** 3, True)
>>> out = of_plan(plan.Plan('single', moves=(plan.Move('vm1', 'a', 'b',
...     'precopy', pred, bandwidth_gbit_s=10.0),)))
>>> out.legs[0].algorithm, out.legs[0].total_s, out.scheduled
('precopy', 12.5, False)
>>> out.placement
{'vm1': 'b'}
"""

import dataclasses

from nova_livemig.policies import balance
from nova_livemig.policies import consolidate
from nova_livemig.scheduling import schedule as schedule_mod


@dataclasses.dataclass(frozen=True)
class Leg:
    """One live migration as it will run.

    :ivar total_s: seconds from its start to its end
    :ivar start_s: offset of its start in the schedule (None without one)
    :ivar end_s: offset of its end in the schedule (None without one)
    :ivar gbit_s: the smallest link share it gets in the schedule, or the
        free bandwidth of its path, alone on it, without a schedule
    :ivar note: how the scheduler changed the plan's move (``switched
        ...``, ``delayed ...``, ``hop ...``), or ``''``
    """
    vm: str
    source: str
    destination: str
    algorithm: str
    total_s: float
    downtime_ms: float
    bytes_sent: int
    converges: bool
    gbit_s: float
    risks: tuple = ()
    start_s: float | None = None
    end_s: float | None = None
    note: str = ''

    def to_primitive(self):
        """The ``moves[].scheduled[]`` items of ``doc/plan-format.md``."""
        return {'source': self.source, 'destination': self.destination,
                'algorithm': self.algorithm,
                'start_s': _round(self.start_s, 3),
                'end_s': _round(self.end_s, 3),
                'total_s': round(self.total_s, 3),
                'downtime_ms': round(self.downtime_ms, 3),
                'bytes': int(self.bytes_sent),
                'converges': self.converges,
                'min_gbit_s': round(self.gbit_s, 4),
                'risks': list(self.risks), 'note': self.note}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A plan's migrations, as they will run, and where the VMs end up.

    :ivar legs: :class:`Leg` values, in start order when scheduled, in
        plan order otherwise (a temporary hop is two legs)
    :ivar unscheduled: moves the scheduler could not run (its
        ``Unscheduled`` values); they change nothing
    :ivar placement: ``{vm: host}`` after the legs, for the VMs they move
    :ivar figures: the policy's figures for that placement (the plan's
        ``summary`` keys)
    :ivar scheduled: True when the figures are the schedule's
    """
    legs: tuple
    unscheduled: tuple = ()
    placement: dict = dataclasses.field(default_factory=dict)
    figures: dict = dataclasses.field(default_factory=dict)
    scheduled: bool = False

    @property
    def bytes_sent(self):
        return sum(leg.bytes_sent for leg in self.legs)

    @property
    def sum_total_s(self):
        return sum(leg.total_s for leg in self.legs)

    @property
    def max_downtime_ms(self):
        return max((leg.downtime_ms for leg in self.legs), default=0.0)

    def legs_of(self, vm):
        """The legs that move one VM, in order."""
        return [leg for leg in self.legs if leg.vm == vm]


def _round(value, digits):
    return None if value is None else round(value, digits)


def of_plan(plan, snapshot=None):
    """The outcome of an unscheduled plan: its predictions as they are.

    :param snapshot: the cluster before the plan, for the drain figures
        (hosts emptied); None leaves them out
    """
    legs = tuple(Leg(vm=m.vm, source=m.source, destination=m.destination,
                     algorithm=m.algorithm, total_s=m.predicted.total_s,
                     downtime_ms=m.predicted.downtime_ms,
                     bytes_sent=m.predicted.bytes_sent,
                     converges=m.predicted.converges,
                     gbit_s=m.bandwidth_gbit_s,
                     risks=tuple(m.predicted.risks))
                 for m in plan.moves)
    placement = {m.vm: m.destination for m in plan.moves}
    return Outcome(legs=legs, placement=placement,
                   figures=policy_figures(snapshot, plan, placement),
                   scheduled=False)


def of_schedule(snapshot, plan, schedule, options, algorithms):
    """The outcome of a scheduled plan: the schedule's figures.

    :param schedule: the plan's
        :class:`~nova_livemig.scheduling.schedule.Schedule`
    :param options: the :class:`~nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}`` the plan was made with
    """
    planned = {m.vm: m for m in plan.moves}
    items = sorted(schedule.moves,
                   key=lambda m: (m.start_s, m.end_s, m.vm))
    legs = tuple(_leg(m, schedule_mod.prediction(m, planned.get(m.vm),
                                                 algorithms))
                 for m in items)
    placement = {}
    for leg in sorted(legs, key=lambda leg: leg.end_s):
        placement[leg.vm] = leg.destination
    return Outcome(legs=legs, unscheduled=tuple(schedule.unscheduled),
                   placement=placement,
                   figures=policy_figures(snapshot, plan, placement,
                                          options),
                   scheduled=True)


def _leg(item, predicted):
    return Leg(vm=item.vm, source=item.source, destination=item.destination,
               algorithm=predicted.algorithm, total_s=predicted.total_s,
               downtime_ms=predicted.downtime_ms,
               bytes_sent=predicted.bytes_sent,
               converges=predicted.converges, gbit_s=item.min_gbit_s,
               risks=tuple(predicted.risks), start_s=item.start_s,
               end_s=item.end_s, note=item.note)


def policy_figures(snapshot, plan, placement, options=None):
    """The policy's figures for where the VMs end up.

    The plan's ``summary`` when every move lands where the plan says;
    recomputed for ``placement`` when the schedule left some out
    (``consolidate``, ``balance``). ``drain`` adds ``vms_moved_off`` and,
    with a snapshot, ``hosts_emptied``.

    :param placement: ``{vm: host}`` for the VMs that move
    :returns: a new dict of plain values
    """
    figures = dict(plan.summary or {})
    as_planned = placement == {m.vm: m.destination for m in plan.moves}
    if plan.policy == 'drain':
        figures.update(_drain_figures(snapshot, figures, placement))
    elif as_planned or snapshot is None or options is None:
        pass
    elif plan.policy == 'consolidate':
        landed = [m for m in plan.moves if placement.get(m.vm)
                  == m.destination]
        figures.update(consolidate.summarize(snapshot, landed, options))
    elif plan.policy == 'balance':
        figures.update(_balance_figures(snapshot, figures, placement))
    return figures


def _drain_figures(snapshot, summary, placement):
    drained = set(summary.get('drained_hosts') or ())
    if snapshot is None:
        moved = sum(1 for host in placement.values() if host not in drained)
        return {'vms_moved_off': moved}
    on_drained = [vm for vm in snapshot.vms.values() if vm.host in drained]
    stay = {vm.id for vm in on_drained
            if placement.get(vm.id, vm.host) in drained}
    left = {snapshot.vms[vm].host for vm in stay}
    return {'vms_moved_off': len(on_drained) - len(stay),
            'hosts_emptied': [h for h in summary.get('drained_hosts', ())
                              if h not in left]}


def _balance_figures(snapshot, summary, placement):
    target = summary.get('cpu_target_util')
    figures = balance.utilisation_figures(snapshot.relocated(placement),
                                          target or 0.0, 'after')
    if target is None:
        del figures['hosts_over_target_after']
    return figures
