"""A schedule: when each move runs, as plain values, and what it implies.

:class:`Schedule` is what :func:`nova_livemig.scheduling.simulation.schedule`
returns: the :class:`ScheduledMove` values (a start, an end, the algorithm
and the share of the links over time), the :class:`Unscheduled` moves with
the reason in words, the lower bound, and the :class:`Baseline` of the same
moves scheduled the way Nova does by default.

Three readers look at a finished schedule at one instant: :func:`events`
(the instants at which something starts or ends), :func:`occupancy` (what
each host holds) and :func:`link_load` (what each link carries).
"""

import dataclasses

from nova_livemig import cost

#: how the note of the first leg of a temporary hop begins
HOP_NOTE = 'hop: via'


@dataclasses.dataclass(frozen=True)
class ScheduledMove:
    """One migration in time.

    :ivar note: ``''``, or how the scheduler changed the plan's move:
        ``switched ...``, ``delayed ...``, ``hop ...``
    :ivar rates: ``((t_s, gbit_s), ...)``: its share of the links from t on
    """
    vm: str
    source: str
    destination: str
    start_s: float
    end_s: float
    algorithm: str
    planned_algorithm: str
    min_gbit_s: float
    bytes_sent: int
    downtime_ms: float
    converges: bool
    path: tuple = ()
    note: str = ''
    rates: tuple = ()

    def to_primitive(self):
        return {'vm': self.vm, 'source': self.source,
                'destination': self.destination,
                'start_s': round(self.start_s, 3),
                'end_s': round(self.end_s, 3),
                'algorithm': self.algorithm,
                'planned_algorithm': self.planned_algorithm,
                'min_gbit_s': round(self.min_gbit_s, 4),
                'bytes': int(self.bytes_sent),
                'downtime_ms': round(self.downtime_ms, 3),
                'converges': self.converges, 'note': self.note,
                'path': [list(k) for k in self.path],
                'rates': [[round(t, 3), round(r, 4)] for t, r in self.rates]}


def prediction(item, move=None, algorithms=None):
    """The figures a scheduled migration runs with, as a prediction.

    Time, downtime and bytes are the schedule's (at the link share the
    move gets); rounds, slowdown and risks are the plan's while the
    scheduler kept the move's algorithm, else the risks of the algorithm
    it switched to. One place for "what will this migration do", read by
    the conductor's steps and the offline ``nova-livemig plan`` output.

    :param item: a :class:`ScheduledMove`
    :param move: the plan's :class:`~nova_livemig.plan.Move` of that VM,
        or None (a temporary hop the plan did not have)
    :param algorithms: ``{name: Algorithm}``, to name the risks of an
        algorithm the scheduler switched to
    :returns: a :class:`~nova_livemig.cost.Prediction`

    >>> item = ScheduledMove('v', 'a', 'b', 2.0, 12.0, 'precopy', 'precopy',
    ...                      1.0, 2 ** 30, 300.0, True)
    >>> p = prediction(item)
    >>> p.total_s, p.downtime_ms, p.bytes_sent, p.risks
    (10.0, 300.0, 1073741824, ())
    """
    kept = move is not None and move.algorithm == item.algorithm
    if kept:
        extra = {'iterations': move.predicted.iterations,
                 'slowdown': move.predicted.slowdown,
                 'risks': tuple(move.predicted.risks),
                 'throttle_pct': move.predicted.throttle_pct}
    else:
        algorithm = (algorithms or {}).get(item.algorithm)
        postcopy = getattr(algorithm, 'uses_postcopy',
                           item.algorithm in ('postcopy', 'hybrid'))
        extra = {'risks': (cost.RISK_VM_LOST,) if postcopy else ()}
    return cost.Prediction(item.algorithm, item.end_s - item.start_s,
                           item.downtime_ms, int(item.bytes_sent),
                           item.converges, **extra)


@dataclasses.dataclass(frozen=True)
class Unscheduled:
    """A move the scheduler could not run, and why, in words."""
    vm: str
    source: str
    destination: str
    reason: str

    def to_primitive(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """The same moves scheduled the way Nova does by default.

    :ivar failed: pre-copies that do not converge at their share (aborted)
    :ivar stuck: moves that never found room
    """
    makespan_s: float
    failed: int
    stuck: int
    description: str

    def to_primitive(self):
        return {'makespan_s': round(self.makespan_s, 3),
                'failed': self.failed, 'stuck': self.stuck,
                'description': self.description}


#: :attr:`Schedule.order`: this scheduler's (busiest hosts first)
ORDER_LIVEMIG = 'livemig'
#: :attr:`Schedule.order`: the plan's order under this scheduler's rules
ORDER_PLAN = 'plan'
#: :attr:`Schedule.order`: the Nova-default schedule itself, adopted
ORDER_NOVA = 'nova-default'


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The result of :func:`nova_livemig.scheduling.simulation.schedule`.

    :ivar order: which order it follows: :data:`ORDER_LIVEMIG`,
        :data:`ORDER_PLAN` or :data:`ORDER_NOVA` (the Nova-default schedule
        adopted because this scheduler could not beat it)
    :ivar explanation: how it compares with the Nova-default schedule of
        the same moves, and why this order was chosen, in words
    """
    moves: tuple
    unscheduled: tuple
    makespan_s: float
    bound_s: float
    bound_reason: str
    nova: Baseline | None = None
    order: str = ORDER_LIVEMIG
    explanation: str = ''

    def count(self, note_prefix):
        return sum(1 for m in self.moves if m.note.startswith(note_prefix))

    def to_primitive(self):
        return {'moves': [m.to_primitive() for m in self.moves],
                'unscheduled': [u.to_primitive() for u in self.unscheduled],
                'makespan_s': round(self.makespan_s, 3),
                'bound_s': round(self.bound_s, 3),
                'bound_reason': self.bound_reason,
                'switched': self.count('switched'),
                'delayed': self.count('delayed'),
                'hops': self.count(HOP_NOTE),
                'nova_default': (self.nova.to_primitive()
                                 if self.nova else None),
                'order': self.order, 'explanation': self.explanation}


def events(moves):
    """The instants at which something starts or ends, sorted."""
    return sorted({m.start_s for m in moves} | {m.end_s for m in moves})


def occupancy(snapshot, moves, t):
    """``{host: (vcpus, memory_mib)}`` allocated at instant ``t`` by a
    schedule: a migrating VM counts on both hosts; a move ending at ``t``
    has released its source."""
    vcpus = dict.fromkeys(snapshot.hosts, 0)
    mem = dict.fromkeys(snapshot.hosts, 0)
    where = {}
    by_vm = {}
    for m in sorted(moves, key=lambda m: m.start_s):
        by_vm.setdefault(m.vm, []).append(m)
    for vm in snapshot.vms.values():
        hosts = {vm.host}
        for m in by_vm.get(vm.id, ()):
            if m.end_s <= t:
                hosts = {m.destination}
            elif m.start_s <= t:
                hosts = {m.source, m.destination}
                break
            else:
                break
        where[vm.id] = hosts
        for h in hosts:
            vcpus[h] += vm.vcpus
            mem[h] += vm.memory_mib
    return {h: (vcpus[h], mem[h]) for h in snapshot.hosts}


def link_load(moves, t):
    """``{link key: gbit_s}`` carried at instant ``t`` by a schedule."""
    load = {}
    for m in moves:
        if not m.start_s <= t < m.end_s:
            continue
        rate = 0.0
        for since, r in m.rates:
            if since <= t:
                rate = r
        for key in m.path:
            load[key] = load.get(key, 0.0) + rate
    return load
