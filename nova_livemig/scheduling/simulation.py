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
  within a batch (:data:`BATCH_S`, or :data:`BATCH_FRACTION` of the median
  move's time) of each other are handled together, at the latest
  of them; a move keeps its share until then). A move sends
  nothing during its set-up (``CostParams.setup_s``: libvirt starts the
  destination QEMU); then its progress follows the time its cost model
  predicts at its current share, less the set-up.
* **Convergence.** A move shares its links only while every pre-copy on
  them still converges and resends little more than alone; otherwise it is
  switched to another algorithm or delayed
  (:mod:`nova_livemig.scheduling.admission`). A move that no allowed
  algorithm can carry even alone on its path is not scheduled, and the
  reason says so.
* **Cycles.** When nothing runs and nothing can start (A->B while B->A, both
  full), one blocked move goes through a spare host with room: a temporary
  hop. With no spare host, the blocked moves are reported, not scheduled
  (:mod:`nova_livemig.scheduling.cycles`).

The same moves are also simulated the way Nova does by default
(:mod:`nova_livemig.scheduling.nova_default`), and the schedule returned is
never longer than that one: when this order loses, the plan's order is
tried, and then the Nova-default schedule is adopted, and the schedule's
explanation says which (:mod:`nova_livemig.scheduling.fallback`). The
result is a :class:`~nova_livemig.scheduling.schedule.Schedule`.

The work stays near-linear in the moves: the predictions the plan made are
read, not made again, and a move is predicted again only when its share
moves out of :data:`~nova_livemig.scheduling.predictions.SAME_OUTCOME_FACTOR`
of the share it was predicted at (in between, the same bytes at the new
rate); an event recomputes only the shares it can change
(:func:`nova_livemig.scheduling.sharing.reshare`).
"""

import heapq
import math

from nova_livemig.scheduling import admission
from nova_livemig.scheduling import bounds
from nova_livemig.scheduling import cycles
from nova_livemig.scheduling import fallback
from nova_livemig.scheduling import nova_default
from nova_livemig.scheduling import predictions
from nova_livemig.scheduling import schedule as schedule_mod
from nova_livemig.scheduling import sharing
from nova_livemig.scheduling import task as task_mod

#: Events (ends, ends of set-up) within a batch of each other are handled
#: together, at the latest of them: one recomputation of the shares
#: instead of one per event. A batch is this many seconds, or
#: :data:`BATCH_FRACTION` of the median move's predicted time when that is
#: longer: the recomputations then stay a fixed number per move however
#: long the moves are. Each move may end up to a batch later than its
#: prediction (it keeps its share meanwhile, so nothing is overbooked).
BATCH_S = 0.1
BATCH_FRACTION = 0.01
_EPS = 1e-9
_SETUP_DONE = -1   # version of the event that ends a move's set-up


def schedule(snapshot, graph, moves, options, algorithms, nova=True):
    """Schedule moves over hosts and links.

    :param snapshot: the cluster before the moves
    :param graph: its :class:`~nova_livemig.graph.LinkGraph`
    :param moves: :class:`~nova_livemig.plan.Move` values, in priority order
    :param options: a :class:`~nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}``, the cost models
    :param nova: also schedule them the way Nova does by default
    :returns: a :class:`~nova_livemig.scheduling.schedule.Schedule`
    """
    predictor = predictions.Predictor(options, algorithms, reuse=True)
    sim = Simulation(snapshot, graph, moves, options, predictor,
                     mode='livemig')
    done, unscheduled = sim.run()
    bound_s, reason = _bound(sim, predictor)
    baseline = None
    order, explanation = schedule_mod.ORDER_LIVEMIG, ''
    if nova:
        nsim = Simulation(snapshot, graph, moves, options, predictor,
                          mode='nova')
        ndone, nstuck = nsim.run()
        baseline = nova_default.baseline(ndone, nstuck, algorithms)

        def plan_order():
            return Simulation(snapshot, graph, moves, options, predictor,
                              mode='livemig', prioritise=False).run()
        done, unscheduled, order, explanation = fallback.choose(
            (done, unscheduled), baseline, ndone, nstuck, plan_order)
    return schedule_mod.Schedule(
        moves=tuple(done), unscheduled=tuple(unscheduled),
        makespan_s=fallback.makespan_s(done), bound_s=bound_s,
        bound_reason=reason, nova=baseline, order=order,
        explanation=explanation)


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


class Simulation:
    """The event loop of :func:`schedule`.

    Its state is read and updated by :mod:`.admission` (which move starts
    first, whether it may start now) and :mod:`.cycles` (hops, moves given
    up) too.

    :param moves: :class:`~nova_livemig.plan.Move` values, in plan order
    :param predictor: a :class:`~nova_livemig.scheduling.predictions.Predictor`
    :param mode: ``'livemig'`` (this scheduler's rules) or ``'nova'`` (what
        Nova does by default, :mod:`.nova_default`)
    :param prioritise: busiest hosts first (:func:`.admission.prioritise`);
        else the plan's order
    """

    def __init__(self, snapshot, graph, moves, options, predictor, mode,
                 prioritise=True):
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
        times = sorted(m.predicted.total_s for m in moves)
        self.batch_s = max(BATCH_S, BATCH_FRACTION * times[len(times) // 2]
                           if times else 0.0)
        self.max_need = dict.fromkeys(self.capacity, 0.0)
        self.load = dict.fromkeys(self.capacity, 0.0)
        self.by_src = {}
        self.by_dst = {}
        self.waiting_bw = set()
        self.waiting_on = {}
        self.heap = []
        self.seq = 0
        self.done = []
        self.unscheduled = []
        self.originals = []
        self.pending = 0
        for i, move in enumerate(moves):
            self._add_move(i, move, options)
        if not self.nova and prioritise:
            admission.prioritise(self)

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
            planned = nova_default.algorithm(move.algorithm,
                                             self.predictor.algorithms)
        task = task_mod.Task((0.0, 0.0, i, 0), vm, move.source,
                             move.destination, links, planned)
        if not self.nova:
            alone = self.alone_gbit_s(task)
            if self.predictor.best(vm, alone) is None:
                self._drop_new(move,
                               self.predictor.unmovable_reason(vm, alone))
                return
        self.originals.append((task, task.source, task.destination, links))
        self.enqueue(task)

    def _drop_new(self, move, reason):
        self.unscheduled.append(schedule_mod.Unscheduled(
            move.vm, move.source, move.destination, reason))

    def enqueue(self, task):
        """Queue a pending task on its source and its destination."""
        self.by_src.setdefault(task.source, []).append(task)
        self.by_dst.setdefault(task.destination, []).append(task)
        self.pending += 1

    def alone_gbit_s(self, task):
        """The share a task would have alone on its path."""
        return min(self.capacity[k] for k in task.links)

    def original_tasks(self):
        return list(self.originals)

    # -- the loop -------------------------------------------------------
    def run(self):
        """Simulate every move: ``(scheduled moves, unscheduled)``."""
        hosts = set(self.by_src) | set(self.by_dst)
        started = self.start_ready(0.0, hosts, {})
        self.reshare(started, 0.0)
        t = 0.0
        while True:
            if self.heap:
                t = self._process_ends()
            elif self.pending:
                if not cycles.unblock(self, t):
                    break
            else:
                break
        self.done.sort(key=lambda m: (m.start_s, m.end_s, m.vm))
        return self.done, self.unscheduled

    def _process_ends(self):
        """Handle the next events: every end or end of set-up within
        :attr:`batch_s` of the first, all at the time of the last of them
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
        freed = {}
        for task in ended:
            self._finish(task, t)
            dirty.update((task.source, task.destination))
            for k in task.links:
                freed[k] = freed.get(k, 0) + 1
        started = self.start_ready(t, dirty, freed)
        self.reshare(ended + started + joined, t)
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
        self.done.append(schedule_mod.ScheduledMove(
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
        for k, n in freed.items():
            found.update(self._wake(k, n))
        return sorted(found, key=lambda x: x.order)

    def wait_on_links(self, task):
        """Queue a task delayed for bandwidth on each of its links, to be
        woken, first in order, when a migration on one of them ends."""
        self.waiting_bw.add(task)
        task.wait_token += 1
        self.seq += 1
        for k in task.links:
            heapq.heappush(self.waiting_on.setdefault(k, []),
                           (task.order, self.seq, task.wait_token, task))

    def _wake(self, key, n):
        """Up to ``n`` tasks delayed on a link (as many as migrations on it
        ended): each ending makes room for about one, and waking every
        delayed task at every ending would be quadratic."""
        heap = self.waiting_on.get(key)
        woken = []
        while heap and len(woken) < n:
            _, _, token, task = heapq.heappop(heap)
            if (token != task.wait_token or task.state != 'pending'
                    or task not in self.waiting_bw):
                continue
            task.wait_token += 1    # its entries on other links are stale
            self.waiting_bw.discard(task)
            woken.append(task)
        return woken

    def start_ready(self, t, hosts, freed):
        """Start the pending moves of these hosts, and the delayed ones on
        these freed links (``{link key: migrations ended}``), that can
        start at ``t``; return them."""
        started = []
        for task in self._candidates(hosts, dict(freed)):
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
            algo = admission.admit(self, task, t)
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

    def _advance(self, task, t):
        if task.rate is None:
            return
        dp = (t - task.last_s) / task.total_s if task.total_s > 0 else 1.0
        dp = min(dp, 1.0 - task.progress)
        task.progress += dp
        task.bytes += dp * task.pred.bytes_sent
        task.last_s = t

    def reshare(self, changed, t):
        """Max-min fair rates again for the flows a change can affect
        (:func:`nova_livemig.scheduling.sharing.reshare`), and their
        progress, predictions and ends at the new rates."""
        links = set()
        below = math.inf
        for task in changed:
            if task.state == 'done':
                # ended: nothing below its last rate changes
                below = min(below, task.rate or 0.0)
            elif task in self.flows_on_link[task.links[0]]:
                below = min(below, sharing.floor_gbit_s(
                    task, self.flows_on_link, self.capacity))
            else:
                continue   # still in its set-up: it changes no share
            links.update(task.links)
        rates = sharing.reshare(links, self.flows_on_link, self.capacity,
                                self.load, below_gbit_s=below)
        for task, rate in rates.items():
            if task.rate is not None and abs(rate - task.rate) <= 1e-9 * (
                    1.0 + rate):
                continue
            same = (task.rate is not None
                    and predictions.quantize_gbit_s(rate)
                    == predictions.quantize_gbit_s(task.rate))
            if not same:
                self._advance(task, t)
            task.rate = rate
            task.min_rate = min(task.min_rate, rate)
            task.rates.append((t, rate))
            if same:
                # predictions are made at the quantized share: same time
                # and bytes, so the end already queued still holds
                continue
            q = predictions.quantize_gbit_s(rate)
            if (self.nova or task.ref_gbit_s is None
                    or not predictions.same_outcome(q, task.ref_gbit_s)):
                # the share changes what the move does: predict again
                task.pred = self.predictor.predict(task.vm, task.algorithm,
                                                   rate)
                task.ref_gbit_s = q
                task.ref_s = max(task.pred.total_s - self.setup_s, 1e-6)
            # the same bytes at another rate
            total = task.ref_s * task.ref_gbit_s / q
            if self.nova and not task.pred.converges:
                total = min(total, nova_default.timeout_s(task.vm))
            task.total_s = total
            task.version += 1
            self.seq += 1
            end = t + (1.0 - task.progress) * total
            heapq.heappush(self.heap, (end, self.seq, task, task.version))
