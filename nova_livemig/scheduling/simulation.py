"""When each move runs: an event-driven schedule over hosts and links.

:func:`schedule` takes the moves of a plan and computes their start and end
times by simulating them, event by event (every start and every end):

* **Room.** A move starts only when its destination has room for the VM at
  that moment, under the allocation ratios. The VM counts on *both* hosts
  while it migrates (that is what Nova's placement claims), so moves out of
  a host free room for moves into it only when they end.
* **Host limits.** At most ``max_outgoing_per_host`` moves out of and
  ``max_incoming_per_host`` moves into a host at a time.
* **Links.** Moves crossing a link share its free capacity, max-min fair
  (:mod:`nova_livemig.scheduling.sharing`), recomputed at every event (events
  within :data:`BATCH_S` of each other are handled together, at the latest
  of them; a move keeps its share until then). A move sends
  nothing during its set-up (``CostParams.setup_s``: libvirt starts the
  destination QEMU); then its progress follows the time its cost model
  predicts at its current share, less the set-up.
* **Convergence.** A smaller share makes a pre-copy resend more, and can
  stop it from converging. A move starts only if, at the smallest share it
  can get (``min(free / migrations)`` over its links, which max-min fairness
  guarantees), its algorithm meets the downtime target at the high end of
  its dirty rate while sending at most :data:`SHARING_TOLERANCE` more bytes
  than alone, and only if every running move on its links keeps doing so
  with its own algorithm. Otherwise, if another allowed algorithm does, the
  move is *switched* to it; if none does, it is *delayed* until migrations
  on its links end (on a shared bottleneck, waiting costs nothing: the link
  is busy anyway). A move that no allowed algorithm can carry even alone on its
  path is not scheduled, and the reason says so.
* **Cycles.** When nothing runs and nothing can start (A->B while B->A, both
  full), one blocked move goes through a spare host with room: a temporary
  hop. With no spare host, the blocked moves are reported, not scheduled.

The same moves are also simulated the way Nova does by default, for
comparison: one outgoing migration per compute host
(``max_concurrent_live_migrations = 1``) taken in the plan's order, no
incoming limit, pre-copy always,
no look at the links (they are shared all the same), and a pre-copy that does
not converge aborted after Nova's completion timeout (800 s per GiB).
"""

import dataclasses
import heapq
import math

from nova_livemig.scheduling import sharing
from nova_livemig.algorithms import choice
from nova_livemig.scheduling import bounds

NOVA_ALGORITHM = 'precopy'
#: Nova's ``[libvirt] live_migration_completion_timeout``, seconds per GiB
NOVA_COMPLETION_TIMEOUT_S_PER_GIB = 800.0
#: Sharing a link may make a pre-copy resend more: a move shares only while
#: every pre-copy on its links sends at most this fraction more bytes than
#: alone (and still converges); otherwise it waits or switches algorithm.
SHARING_TOLERANCE = 0.05
#: Events (ends, ends of set-up) within this many seconds of each other are
#: handled together, at the latest of them: one recomputation of the shares
#: instead of one per event. Each move may end up to this much later than
#: its prediction (it keeps its share meanwhile, so nothing is overbooked).
BATCH_S = 0.1
_EPS = 1e-9
_SETUP_DONE = -1   # version of the event that ends a move's set-up


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


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The result of :func:`schedule`."""
    moves: tuple
    unscheduled: tuple
    makespan_s: float
    bound_s: float
    bound_reason: str
    nova: Baseline | None = None

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
                'hops': self.count('hop: via'),
                'nova_default': (self.nova.to_primitive()
                                 if self.nova else None)}


def schedule(snapshot, graph, moves, options, algorithms, nova=True):
    """Schedule moves over hosts and links.

    :param snapshot: the cluster before the moves
    :param graph: its :class:`~nova_livemig.graph.LinkGraph`
    :param moves: :class:`~nova_livemig.plan.Move` values, in priority order
    :param options: a :class:`~nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}``, the cost models
    :param nova: also schedule them the way Nova does by default
    :returns: a :class:`Schedule`
    """
    predictor = sharing.Predictor(options, algorithms)
    sim = _Simulation(snapshot, graph, moves, options, predictor,
                      mode='livemig')
    done, unscheduled = sim.run()
    bound_s, reason = _bound(sim, predictor)
    makespan = max((m.end_s for m in done), default=0.0)
    baseline = None
    if nova:
        nsim = _Simulation(snapshot, graph, moves, options, predictor,
                           mode='nova')
        ndone, nstuck = nsim.run()
        algo = (NOVA_ALGORITHM if NOVA_ALGORITHM in algorithms
                else 'the planned algorithm (no precopy model loaded)')
        baseline = Baseline(
            makespan_s=max((m.end_s for m in ndone), default=0.0),
            failed=sum(1 for m in ndone if not m.converges),
            stuck=len(nstuck),
            description=('one outgoing migration per host, no incoming '
                         f'limit, {algo}, links not considered'))
    return Schedule(moves=tuple(done), unscheduled=tuple(unscheduled),
                    makespan_s=makespan, bound_s=bound_s,
                    bound_reason=reason, nova=baseline)


def _bound(sim, predictor):
    """Lower bound on the makespan of the moves the simulation ran (as
    asked, without the hops it added)."""
    items = []
    for task, source, destination, links in sim.original_tasks():
        if task.state == 'dropped' or sim.location[task.vm.id] != destination:
            continue
        alone = min(sim.capacity[k] for k in links)
        preds = [predictor.predict(task.vm, a, alone)
                 for a in predictor.allowed()
                 if predictor.fits(task.vm, a, alone)]
        if not preds:
            continue
        items.append((source, destination, links,
                      [(p.bytes_sent, p.total_s) for p in preds]))
    return bounds.makespan_s(
        items, sim.capacity, params=predictor.options.params,
        max_outgoing=predictor.options.max_outgoing_per_host,
        max_incoming=predictor.options.max_incoming_per_host)


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


class _Task:
    """One migration being simulated (mutable; private)."""

    __slots__ = (
        'algorithm',
        'base_bytes',
        'bytes',
        'destination',
        'hopped',
        'last_s',
        'links',
        'min_rate',
        'need',
        'note',
        'order',
        'planned',
        'pred',
        'progress',
        'rate',
        'rates',
        'source',
        'start_s',
        'state',
        'total_s',
        'version',
        'vm',
        'waited_s',
    )

    def __init__(self, order, vm, source, destination, links, planned,
                 note=''):
        self.order = order
        self.vm = vm
        self.source = source
        self.destination = destination
        self.links = links
        self.planned = planned
        self.note = note
        self.state = 'pending'
        self.hopped = False
        self.waited_s = None
        self.rate = None
        self.version = 0
        self.need = 0.0

    def link_keys(self):
        return self.links


class _Simulation:
    """The event loop of :func:`schedule` (mode ``livemig`` or ``nova``)."""

    def __init__(self, snapshot, graph, moves, options, predictor, mode):
        self.snapshot = snapshot
        self.graph = graph
        self.predictor = predictor
        self.nova = mode == 'nova'
        self.max_out = 1 if self.nova else options.max_outgoing_per_host
        self.max_in = (math.inf if self.nova
                       else options.max_incoming_per_host)
        self.capacity = {k: lk.free_gbit_s for k, lk in graph.links.items()}
        self.alloc_vcpus = dict.fromkeys(snapshot.hosts, 0)
        self.alloc_mem = dict.fromkeys(snapshot.hosts, 0)
        for vm in snapshot.vms.values():
            self.alloc_vcpus[vm.host] += vm.vcpus
            self.alloc_mem[vm.host] += vm.memory_mib
        self.out_n = dict.fromkeys(snapshot.hosts, 0)
        self.in_n = dict.fromkeys(snapshot.hosts, 0)
        self.location = {vm.id: vm.host for vm in snapshot.vms.values()}
        # flows sending on a link (they share it), and every started move
        # on it, also those still in their set-up (admission counts them)
        self.flows_on_link = {k: set() for k in self.capacity}
        self.members = {k: set() for k in self.capacity}
        self.setup_s = getattr(options.params, 'setup_s', 0.0)
        self.batch_s = BATCH_S
        self.max_need = dict.fromkeys(self.capacity, 0.0)
        self.load = dict.fromkeys(self.capacity, 0.0)
        self.by_src = {}
        self.by_dst = {}
        self.waiting_bw = set()
        self.heap = []
        self.seq = 0
        self.done = []
        self.unscheduled = []
        self.originals = []
        self.pending = 0
        for i, move in enumerate(moves):
            self._add_move(i, move, options)
        if not self.nova:
            self._prioritise()

    # -- set-up ---------------------------------------------------------
    def _add_move(self, i, move, options):
        vm = self.snapshot.vm(move.vm)
        links = tuple(move.path)
        if not links:
            path = self.graph.widest_path(move.source, move.destination)
            links = path.links if path else ()
        if not links or min(self.capacity[k] for k in links) <= 0:
            self._drop_new(move, 'no path with free capacity between '
                                 f'{move.source} and {move.destination}')
            return
        planned = move.algorithm
        if self.nova:
            planned = (NOVA_ALGORITHM
                       if NOVA_ALGORITHM in self.predictor.algorithms
                       else move.algorithm)
        task = _Task((0.0, 0.0, i, 0), vm, move.source, move.destination,
                     links, planned)
        if not self.nova:
            alone = self.alone_gbit_s(task)
            if self.predictor.best(vm, alone) is None:
                self._drop_new(move, self._unmovable(vm, alone))
                return
        self.originals.append((task, task.source, task.destination, links))
        self._enqueue(task)

    def _prioritise(self):
        """Moves on the busiest hosts first: a move's priority is the work
        queued on its source (outgoing) or destination (incoming), divided
        by the concurrency allowed there, whichever is larger; then the
        longest move first; then the plan's order. (Nova keeps the plan's
        order.)"""
        alone = {}
        out_s = {}
        in_s = {}
        for task, _, _, _ in self.originals:
            bw = self.alone_gbit_s(task)
            algo = self.predictor.best(task.vm, bw)
            alone[task] = self.predictor.predict(task.vm, algo, bw).total_s
            out_s[task.source] = out_s.get(task.source, 0.0) + alone[task]
            in_s[task.destination] = (in_s.get(task.destination, 0.0)
                                      + alone[task])
        for task, _, _, _ in self.originals:
            work = max(out_s[task.source] / self.max_out,
                       in_s[task.destination] / self.max_in)
            task.order = (-work, -alone[task]) + task.order[1:]

    def _drop_new(self, move, reason):
        self.unscheduled.append(Unscheduled(move.vm, move.source,
                                            move.destination, reason))

    def _unmovable(self, vm, alone):
        pred = self.predictor
        allowed = pred.allowed()
        high = choice.dirty_rate_bounds(vm, pred.options)[2]
        least = min(allowed, key=lambda a: pred.predict(
            vm, a, alone, high=True).downtime_ms)
        p = pred.predict(vm, least, alone, high=True)
        text = (f'unmovable: alone on its path ({alone:g} Gbit/s) no '
                f'allowed algorithm ({", ".join(allowed)}) meets the '
                f'{pred.options.max_downtime_ms:g} ms downtime target at a '
                f'dirty rate up to {high:.0f} MiB/s; least downtime: '
                f'{least} {p.downtime_ms:.0f} ms'
                + ('' if p.converges else ' and it does not converge'))
        if 'postcopy' not in allowed:
            text += '; post-copy is not allowed'
        return text

    def _enqueue(self, task):
        self.by_src.setdefault(task.source, []).append(task)
        self.by_dst.setdefault(task.destination, []).append(task)
        self.pending += 1

    def alone_gbit_s(self, task):
        return min(self.capacity[k] for k in task.links)

    def original_tasks(self):
        return list(self.originals)

    # -- the loop -------------------------------------------------------
    def run(self):
        hosts = set(self.by_src) | set(self.by_dst)
        started = self._start_ready(0.0, hosts, ())
        self._reshare(started, 0.0)
        t = 0.0
        while True:
            if self.heap:
                t = self._process_ends()
            elif self.pending:
                if not self._unblock(t):
                    break
            else:
                break
        self.done.sort(key=lambda m: (m.start_s, m.end_s))
        return self.done, self.unscheduled

    def _process_ends(self):
        """Handle the next events: every end or end of set-up within
        :data:`BATCH_S` of the first, all at the time of the last of them
        (a move that ends a little earlier holds its share until then, so
        no host or link is ever over capacity; the schedule is only a
        little longer)."""
        t = first = None
        ended = []
        joined = []
        while self.heap:
            t_end, _, task, version = self.heap[0]
            if task.state != 'running' or version not in (task.version,
                                                            _SETUP_DONE):
                heapq.heappop(self.heap)
                continue
            if t is not None and t_end > first + self.batch_s + _EPS:
                break
            heapq.heappop(self.heap)
            if t is None:
                first = t = t_end
            t = max(t, t_end)
            if version == _SETUP_DONE:
                joined.append(task)
            else:
                ended.append(task)
        if t is None:
            return 0.0
        for task in joined:   # set-up over: it starts sending
            task.last_s = t
            for k in task.links:
                self.flows_on_link[k].add(task)
        dirty = set()
        freed = set()
        for task in ended:
            self._finish(task, t)
            dirty.update((task.source, task.destination))
            freed.update(task.links)
        started = self._start_ready(t, dirty, freed)
        self._reshare(ended + started + joined, t)
        return t

    def _finish(self, task, t):
        self._advance(task, t)
        task.bytes += max(1.0 - task.progress, 0.0) * task.pred.bytes_sent
        task.state = 'done'
        vm = task.vm
        failed = self.nova and not task.pred.converges
        gone = task.destination if failed else task.source
        self.alloc_vcpus[gone] -= vm.vcpus
        self.alloc_mem[gone] -= vm.memory_mib
        self.out_n[task.source] -= 1
        self.in_n[task.destination] -= 1
        for k in task.links:
            self.flows_on_link[k].discard(task)
            self.members[k].discard(task)
            self.load[k] -= task.rate
            if not self.flows_on_link[k]:
                self.load[k] = 0.0
            if not self.members[k]:
                self.max_need[k] = 0.0
        if not failed:
            self.location[vm.id] = task.destination
        self.done.append(ScheduledMove(
            vm=vm.id, source=task.source, destination=task.destination,
            start_s=task.start_s, end_s=t, algorithm=task.algorithm,
            planned_algorithm=task.planned, min_gbit_s=task.min_rate,
            bytes_sent=int(task.bytes), downtime_ms=task.pred.downtime_ms,
            converges=task.pred.converges, path=task.links, note=task.note,
            rates=tuple(task.rates)))

    def _candidates(self, hosts, freed):
        found = set()
        for h in hosts:
            for index, attr in ((self.by_src, 'source'),
                                (self.by_dst, 'destination')):
                lst = index.get(h)
                if not lst:
                    continue
                lst[:] = [x for x in lst if x.state == 'pending'
                          and getattr(x, attr) == h]
                found.update(lst)
        if freed:
            found.update(x for x in self.waiting_bw
                         if not freed.isdisjoint(x.links))
        return sorted(found, key=lambda x: x.order)

    def _start_ready(self, t, hosts, freed):
        started = []
        for task in self._candidates(hosts, set(freed)):
            if self._try_start(task, t):
                started.append(task)
        return started

    def _has_room(self, task):
        vm, dst = task.vm, task.destination
        host = self.snapshot.hosts[dst]
        return (self.alloc_vcpus[dst] + vm.vcpus
                <= host.vcpu_capacity + _EPS
                and self.alloc_mem[dst] + vm.memory_mib
                <= host.memory_capacity_mib + _EPS)

    def _try_start(self, task, t):
        vm = task.vm
        if self.location[vm.id] != task.source:
            return False
        if (self.out_n[task.source] >= self.max_out
                or self.in_n[task.destination] >= self.max_in
                or not self._has_room(task)):
            return False
        algo = task.planned
        if self.nova:
            head = next(x for x in self.by_src[task.source]
                        if x.state == 'pending' and x.source == task.source)
            if head is not task:  # Nova runs a host's queue in order
                return False
        else:
            algo = self._admit(task, t)
            if algo is None:
                return False
        task.state = 'running'
        task.algorithm = algo
        task.start_s = t
        task.progress = 0.0
        task.bytes = 0.0
        task.last_s = t
        task.rates = []
        task.min_rate = math.inf
        self.alloc_vcpus[task.destination] += vm.vcpus
        self.alloc_mem[task.destination] += vm.memory_mib
        self.out_n[task.source] += 1
        self.in_n[task.destination] += 1
        for k in task.links:
            self.members[k].add(task)
        if self.setup_s > 0:   # no bytes before the set-up is over
            self.seq += 1
            heapq.heappush(self.heap, (t + self.setup_s, self.seq, task,
                                       _SETUP_DONE))
        else:
            for k in task.links:
                self.flows_on_link[k].add(task)
        self.pending -= 1
        return True

    def _efficient(self, vm, algo, share, base_bytes):
        """Meets the downtime target at this share, sending at most
        :data:`SHARING_TOLERANCE` more bytes than ``base_bytes``."""
        return (self.predictor.fits(vm, algo, share)
                and self.predictor.predict(vm, algo, share).bytes_sent
                <= (1.0 + SHARING_TOLERANCE) * base_bytes)

    def _admit(self, task, t):
        """The algorithm to start with now, or None to delay (livemig)."""
        pred = self.predictor
        shares = {k: self.capacity[k] / (len(self.members[k]) + 1)
                  for k in task.links}
        floor = min(shares.values())
        alone = self.alone_gbit_s(task)
        base = pred.predict(task.vm, task.planned, alone).bytes_sent
        if not pred.fits(task.vm, task.planned, alone):
            base = min(pred.predict(task.vm, a, alone).bytes_sent
                       for a in pred.allowed()
                       if pred.fits(task.vm, a, alone))
        algo = task.planned
        if not self._efficient(task.vm, algo, floor, base):
            algo = next((a for a in pred.ranked(task.vm, floor)
                         if self._efficient(task.vm, a, floor, base)), None)
            if algo is None:
                return self._delay(task, t)
        updates = []
        for k, share in shares.items():
            if self.max_need[k] <= share + _EPS:
                continue
            for other in self.members[k]:
                if other.need <= share + _EPS:
                    continue
                if not self._efficient(other.vm, other.algorithm, share,
                                       other.base_bytes):
                    return self._delay(task, t)
                updates.append((other, share))
        for other, share in updates:
            other.need = min(other.need, share)
        for k, share in shares.items():
            self.max_need[k] = max(min(self.max_need[k], share), floor)
        task.need = floor
        task.base_bytes = pred.predict(task.vm, algo, alone).bytes_sent
        self.waiting_bw.discard(task)
        if task.waited_s is not None:
            task.note = _join(task.note, (
                f'delayed {t - task.waited_s:.1f} s: sharing its links '
                'earlier would have made a pre-copy resend too much or '
                'stop converging'))
        if algo != task.planned:
            why = ('does not converge' if not pred.fits(
                task.vm, task.planned, floor) else 'resends too much')
            task.note = _join(task.note, (
                f'switched {task.planned}->{algo}: {task.planned} {why} '
                f'at its share ({floor:.2f} Gbit/s)'))
        return algo

    def _delay(self, task, t):
        if task.waited_s is None:
            task.waited_s = t
        self.waiting_bw.add(task)

    def _advance(self, task, t):
        if task.rate is None:
            return
        dp = (t - task.last_s) / task.total_s if task.total_s > 0 else 1.0
        dp = min(dp, 1.0 - task.progress)
        task.progress += dp
        task.bytes += dp * task.pred.bytes_sent
        task.last_s = t

    def _saturated(self, key):
        return self.load[key] >= self.capacity[key] * (1.0 - 1e-6)

    def _reshare(self, changed, t):
        """Max-min fair rates again for the flows a change can affect.

        Only flows joined through *saturated* links to the changed ones are
        recomputed, over the capacity the others leave; when that saturates
        a link shared with flows left out, they join and it is redone. The
        result is the max-min fair allocation of all running flows.
        """
        links = set()
        for task in changed:
            links.update(task.links)
        if not links:
            return
        comp = sharing.component(links, self.flows_on_link,
                                   _Task.link_keys, enter=self._saturated)
        while True:
            mine = {}   # link -> [current rate of comp flows, comp flows]
            for x in comp:
                for k in x.links:
                    entry = mine.setdefault(k, [0.0, 0])
                    entry[0] += x.rate or 0.0
                    entry[1] += 1
            residual = {k: max(self.capacity[k] - (self.load[k] - v[0]),
                               0.0) for k, v in mine.items()}
            rates = sharing.max_min_fair({x: x.links for x in comp},
                                           residual)
            new_use = dict.fromkeys(mine, 0.0)
            for x, rate in rates.items():
                for k in x.links:
                    new_use[k] += rate
            grow = set()
            for k, (_, n) in mine.items():
                if (len(self.flows_on_link[k]) > n
                        and new_use[k] >= residual[k] * (1.0 - 1e-6)):
                    grow.update(self.flows_on_link[k] - comp)
            if not grow:
                break
            comp |= sharing.component(
                {k for x in grow for k in x.links}, self.flows_on_link,
                _Task.link_keys, enter=self._saturated)
        for k, v in mine.items():
            self.load[k] += new_use[k] - v[0]
        for task, rate in rates.items():
            if task.rate is not None and abs(rate - task.rate) <= 1e-9 * (
                    1.0 + rate):
                continue
            same = (task.rate is not None
                    and sharing.quantize_gbit_s(rate)
                    == sharing.quantize_gbit_s(task.rate))
            if not same:
                self._advance(task, t)
            task.rate = rate
            task.min_rate = min(task.min_rate, rate)
            task.rates.append((t, rate))
            if same:
                # predictions are made at the quantized share: same time
                # and bytes, so the end already queued still holds
                continue
            task.pred = self.predictor.predict(task.vm, task.algorithm,
                                               rate)
            total = max(task.pred.total_s - self.setup_s, 1e-6)
            if self.nova and not task.pred.converges:
                total = min(total, NOVA_COMPLETION_TIMEOUT_S_PER_GIB
                            * task.vm.memory_mib / 1024.0)
            task.total_s = total
            task.version += 1
            self.seq += 1
            end = t + (1.0 - task.progress) * total
            heapq.heappush(self.heap, (end, self.seq, task, task.version))

    # -- deadlocks ------------------------------------------------------
    def _unblock(self, t):
        """Nothing runs, nothing can start: hop one move through a spare
        host, or give up on one move. False when nothing is left to try."""
        blocked = sorted((x for lst in self.by_src.values() for x in lst
                          if x.state == 'pending'), key=lambda x: x.order)
        blocked = list({id(x): x for x in blocked}.values())
        if not blocked:
            return False
        ready = [x for x in blocked
                 if self.location[x.vm.id] == x.source]
        if not self.nova:
            for task in ready:
                if task.hopped or not self._frees_room(task):
                    continue
                spare = self._spare(task)
                if spare is not None:
                    self._hop(task, spare, t)
                    return True
        victim = ready[0] if ready else blocked[0]
        self._give_up(victim)
        return True

    def _frees_room(self, task):
        """True when the moves waiting to leave the destination would make
        room for the VM: the move is in a cycle, a hop can break it."""
        vm, dst = task.vm, task.destination
        host = self.snapshot.hosts[dst]
        leaving = [x.vm for x in self.by_src.get(dst, ())
                   if x.state == 'pending' and x.source == dst]
        return (self.alloc_vcpus[dst] - sum(v.vcpus for v in leaving)
                + vm.vcpus <= host.vcpu_capacity + _EPS
                and self.alloc_mem[dst] - sum(v.memory_mib for v in leaving)
                + vm.memory_mib <= host.memory_capacity_mib + _EPS)

    def _spare(self, task):
        vm = task.vm
        src = self.snapshot.hosts[task.source]
        best = None
        for name, host in self.snapshot.hosts.items():
            if (name in (task.source, task.destination)
                    or host.state != 'up'
                    or not set(src.aggregates) <= set(host.aggregates)):
                continue
            if (self.alloc_vcpus[name] + vm.vcpus > host.vcpu_capacity
                    or self.alloc_mem[name] + vm.memory_mib
                    > host.memory_capacity_mib):
                continue
            bw = min(self.graph.bandwidth_gbit_s(task.source, name),
                     self.graph.bandwidth_gbit_s(task.destination, name))
            if bw <= 0 or self.predictor.best(vm, bw) is None:
                continue
            key = (-bw, self.alloc_mem[name], name)
            if best is None or key < best[0]:
                best = (key, name)
        return best[1] if best else None

    def _hop(self, task, spare, t):
        final = task.destination
        task.destination = spare
        task.links = self.graph.widest_path(task.source, spare).links
        task.hopped = True
        task.note = _join(task.note, (
            f'hop: via {spare} to break a cycle (no room on {final} '
            'until this VM leaves)'))
        self.by_dst.setdefault(spare, []).append(task)
        second = _Task(task.order[:3] + (1,), task.vm, spare, final,
                       self.graph.widest_path(spare, final).links,
                       task.planned, note=f'hop: second leg to {final}')
        second.hopped = True
        self._enqueue(second)
        started = self._start_ready(t, {task.source, spare}, ())
        self._reshare(started, t)

    def _give_up(self, task):
        vm = task.vm
        if self.location[vm.id] != task.source:
            reason = (f'{vm.id} is on {self.location[vm.id]}, not '
                      f'{task.source}: an earlier move of it did not run')
        elif self.nova:
            reason = f'never found room on {task.destination}'
        elif not self._frees_room(task):
            reason = (f'no room on {task.destination} for {vm.vcpus} vcpus '
                      f'/ {vm.memory_mib} MiB, and the moves planned out of '
                      'it do not free enough')
        else:
            chain = [task.source, task.destination]
            while True:
                nxt = next((x for x in self.by_src.get(chain[-1], ())
                            if x.state == 'pending' and x is not task
                            and x.source == chain[-1]), None)
                if nxt is None or nxt.destination in chain:
                    if nxt is not None:
                        chain.append(nxt.destination)
                    break
                chain.append(nxt.destination)
            reason = (f'no room on {task.destination} for {vm.vcpus} vcpus '
                      f'/ {vm.memory_mib} MiB, and the moves that would '
                      f'free it wait themselves ({" -> ".join(chain)}); '
                      'no spare host has room for a temporary hop')
        task.state = 'dropped'
        self.pending -= 1
        self.waiting_bw.discard(task)
        self.unscheduled.append(Unscheduled(vm.id, task.source,
                                            task.destination, reason))


def _join(note, text):
    return f'{note}; {text}' if note else text
