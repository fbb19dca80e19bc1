"""The dispatch board of one executing plan: the rules of
:func:`nova_livemig.conductor.dispatch.decide`, kept incrementally.

Pure: plain step dicts and a placement in, decisions out. ``decide``
states the rules and reads every step of the plan on every call, which is
quadratic in the steps (and costs seconds per pass at a few thousand);
a :class:`Board` keeps, as steps change state (:meth:`Board.update`):

* the pending steps in the scheduler's order (planned start, then seq);
* per host and per link, the planned ends of its unfinished steps (a heap,
  so the earliest is at hand): a step waits while one of them ends before
  it starts;
* per VM, its unfinished steps' places in the order (its hops go one
  after the other);
* the migrations running per source, destination and link.

So a pass (:meth:`Board.decide`) costs a few dictionary look-ups per
pending step and nothing per finished one; it returns exactly what
``decide`` returns for the same steps and placement (a unit test compares
them on random plans).

>>> from nova_livemig.conductor import dispatch
>>> board = Board([{'id': 's1', 'seq': 0, 'vm': 'v1', 'source': 'a',
...                 'destination': 'b', 'state': 'pending', 'path': [],
...                 'planned_start_s': 0.0, 'planned_end_s': 5.0}])
>>> board.pending_count(), board.unfinished_count()
(1, 1)
"""

import bisect
import heapq

from nova_livemig.conductor import dispatch

#: step states that hold their resources
_UNFINISHED = ('pending', 'running')
#: a planned end this much before a planned start is a gap, not a
#: hand-over at the same instant (as in ``dispatch.blocked``)
_EPSILON_S = 1e-6


def _key(step):
    return (step['planned_start_s'], step['seq'], step['id'])


def used_by_host(placement):
    """``{host: [vcpus, memory_mib]}`` of the VMs placed on each host.

    :param placement: has ``vms`` (``{id: value with host, vcpus,
        memory_mib}``), as a :class:`~nova_livemig.model.Snapshot`
    """
    used = {}
    for vm in placement.vms.values():
        u = used.get(vm.host)
        if u is None:
            used[vm.host] = [vm.vcpus, vm.memory_mib]
        else:
            u[0] += vm.vcpus
            u[1] += vm.memory_mib
    return used


class Board:
    """The pending and running steps of one plan, indexed for dispatch.

    :param steps: every step dict of the plan
    """

    def __init__(self, steps=()):
        self._steps = {}
        #: keys of the pending steps that may be ready, in the
        #: scheduler's order (finished ones are dropped lazily); those
        #: the schedule makes wait are parked in ``_waiters``
        self._order = []
        self._stale_order = 0
        #: id of an unfinished step -> keys of the pending steps waiting
        #: for it: back in ``_order`` when it ends
        self._waiters = {}
        #: resource -> heap of (planned end, id, token) of unfinished steps
        self._ends = {}
        #: vm -> heap of ((start, seq), id, token) of unfinished steps
        self._vm_keys = {}
        #: id -> token of its current heap entries
        self._token = {}
        self._running = set()
        #: pending id -> the heap entry it waits for (see _waits_for)
        self._blocker = {}
        self._pending = set()
        self._outgoing, self._incoming, self._links = {}, {}, {}
        self._link_cap = None
        #: the highest seq of the plan's steps
        self.max_seq = -1
        #: heap of (planned start, id) of pending steps (see expired)
        self._starts = []
        for step in steps:
            self.update(step)

    # -- keeping up ---------------------------------------------------------

    def update(self, step, added_s=0.0):
        """Take a step's new state (or a new step of the plan).

        :param step: the step dict as stored
        :param added_s: for a new step, when it joined the plan (plan
            time, s): its wait (:meth:`expired`) counts from its planned
            start or from then, whichever is later
        """
        sid = step['id']
        old = self._steps.get(sid)
        if old is None:
            self._link_cap = None  # a new step may use a link more
            self.max_seq = max(self.max_seq, step['seq'])
        elif old['state'] == 'running':
            self._count(old, -1)
        self._steps[sid] = step
        state = step['state']
        self._pending.discard(sid)
        self._running.discard(sid)
        if state == 'pending':
            self._pending.add(sid)
            if old is None or old['state'] != 'pending':
                bisect.insort(self._order, _key(step))
                heapq.heappush(self._starts, (
                    max(step['planned_start_s'], added_s), sid))
        elif old is not None and old['state'] == 'pending':
            self._stale_order += 1
        if state == 'running':
            self._running.add(sid)
            self._count(step, +1)
        if state in _UNFINISHED:
            if (old is None or old['state'] not in _UNFINISHED
                    or dispatch.resources(old) != dispatch.resources(step)):
                self._index(step)
                self._release(sid)
        else:
            self._token.pop(sid, None)
            self._blocker.pop(sid, None)
            self._release(sid)

    def _release(self, sid):
        """The steps parked waiting for ``sid`` may be ready again."""
        for key in self._waiters.pop(sid, ()):
            if key[2] in self._pending:
                bisect.insort(self._order, key)

    def _index(self, step):
        sid = step['id']
        token = self._token.get(sid, 0) + 1
        self._token[sid] = token
        for res in dispatch.resources(step):
            heapq.heappush(self._ends.setdefault(res, []),
                           (step['planned_end_s'], sid, token))
        heapq.heappush(self._vm_keys.setdefault(step['vm'], []),
                       ((step['planned_start_s'], step['seq']), sid, token))

    def _count(self, step, delta):
        for table, key in ((self._outgoing, step['source']),
                           (self._incoming, step['destination'])):
            table[key] = table.get(key, 0) + delta
        for link in step.get('path') or ():
            k = tuple(link)
            self._links[k] = self._links.get(k, 0) + delta

    def _top(self, heap):
        """The first valid entry of a heap, dropping stale ones."""
        while heap:
            entry = heap[0]
            if self._token.get(entry[1]) == entry[2]:
                return entry
            heapq.heappop(heap)
        return None

    # -- questions ----------------------------------------------------------

    def step(self, step_id):
        return self._steps.get(step_id)

    def steps(self):
        """Every step dict of the plan."""
        return list(self._steps.values())

    def is_running(self, step_id):
        return step_id in self._running

    def running(self):
        """The running step dicts."""
        return [self._steps[s] for s in self._running]

    def pending(self):
        """The pending step dicts, in the scheduler's order."""
        return [self._steps[k[2]] for k in sorted(
            _key(self._steps[s]) for s in self._pending)]

    def unfinished_ids(self):
        """The ids of the pending and running steps."""
        return list(self._pending | self._running)

    def pending_count(self):
        return len(self._pending)

    def unfinished_count(self):
        return len(self._pending) + len(self._running)

    def expired(self, before_s):
        """The pending steps planned to start (or added, when later)
        before ``before_s`` (plan time), each once: their wait is over."""
        out = []
        while self._starts and self._starts[0][0] < before_s:
            _, sid = heapq.heappop(self._starts)
            if sid in self._pending:
                out.append(self._steps[sid])
        return out

    def link_capacity(self):
        if self._link_cap is None:
            self._link_cap = dispatch.link_capacity(self._steps.values())
        return self._link_cap

    def _waits_for(self, step):
        """The heap entry of an unfinished step the schedule makes
        ``step`` wait for, or None. It waits as long as that entry is
        valid (its step unfinished, its resources unchanged), so the
        answer is remembered and checked in O(1) on the next passes."""
        sid = step['id']
        memo = self._blocker.get(sid)
        if memo is not None and self._token.get(memo[1]) == memo[2]:
            return memo
        start = step['planned_start_s']
        for res in dispatch.resources(step):
            heap = self._ends.get(res)
            top = heap and self._top(heap)
            if top and top[0] < start - _EPSILON_S:
                self._blocker[sid] = top
                return top
        top = self._top(self._vm_keys[step['vm']])
        if top is not None and top[1] != sid and \
                top[0] < (start, step['seq']):
            self._blocker[sid] = top  # the hops of one VM: one by one
            return top
        self._blocker.pop(sid, None)
        return None

    # -- the pass -----------------------------------------------------------

    def decide(self, placement, limits, warming=False):
        """What ``dispatch.decide`` decides for these steps, in a pass
        that reads only the pending and running steps.

        :param placement: has ``hosts`` (``{name: Host}``) and ``vms``
            (``{id: value with host, vcpus, memory_mib}``): a
            :class:`~nova_livemig.model.Snapshot` or the live model's
            :meth:`~nova_livemig.conductor.livemodel.LiveModel.placement`
        :param limits: has ``max_outgoing_per_host``,
            ``max_incoming_per_host``
        :returns: ``[(START | ARRIVED | GONE, step, host)]`` as
            :func:`~nova_livemig.conductor.dispatch.decide`
        """
        outgoing, incoming = dict(self._outgoing), dict(self._incoming)
        links = dict(self._links)
        busy = {self._steps[s]['vm'] for s in self._running}
        used = None
        reserved = {}
        vms, hosts = placement.vms, placement.hosts
        for sid in self._running:
            s = self._steps[sid]
            self._reserve(reserved, vms.get(s['vm']), s['destination'])
        link_cap = self.link_capacity()
        max_out = limits.max_outgoing_per_host
        max_in = limits.max_incoming_per_host
        out = []
        parked = set()
        for key in self._order:
            sid = key[2]
            if sid not in self._pending:
                continue
            step = self._steps[sid]
            if step['vm'] in busy:
                continue
            blocker = self._waits_for(step)
            if blocker is not None:
                self._waiters.setdefault(blocker[1], []).append(key)
                parked.add(sid)
                continue
            if any(links.get(tuple(k), 0) >= link_cap.get(tuple(k), 1)
                   for k in step.get('path') or ()):
                continue
            vm = vms.get(step['vm'])
            if vm is None:
                if dispatch.vanished(step, hosts, warming):
                    out.append((dispatch.VANISHED, step, None))
                continue  # not reported (yet): wait
            dst = step['destination']
            if vm.host == dst:
                out.append((dispatch.ARRIVED, step, vm.host))
                continue
            if not dispatch.source_up(vm, hosts):
                continue  # nothing is sent to an agent not heard of
            dest = hosts.get(dst)
            if dest is None and warming:
                continue
            if dest is None or dest.state != 'up':
                out.append((dispatch.GONE, step, vm.host))
                continue
            if (outgoing.get(vm.host, 0) >= max_out
                    or incoming.get(dst, 0) >= max_in):
                continue
            if used is None:
                used = used_by_host(placement)
            u = used.get(dst, (0, 0))
            r = reserved.get(dst, (0, 0))
            if (u[0] + r[0] + vm.vcpus > dest.vcpu_capacity
                    or u[1] + r[1] + vm.memory_mib
                    > dest.memory_capacity_mib):
                continue  # waits for VMs to leave the destination
            out.append((dispatch.START, step, vm.host))
            outgoing[vm.host] = outgoing.get(vm.host, 0) + 1
            incoming[dst] = incoming.get(dst, 0) + 1
            for k in step.get('path') or ():
                links[tuple(k)] = links.get(tuple(k), 0) + 1
            busy.add(step['vm'])
            self._reserve(reserved, vm, dst)
        if parked or self._stale_order:
            self._order = [k for k in self._order if k[2] in self._pending
                           and k[2] not in parked]
            self._stale_order = 0
        return out

    @staticmethod
    def _reserve(reserved, vm, dst):
        """Room a VM migrating to ``dst`` takes there (as ``_Load.add``)."""
        if vm is not None and vm.host != dst:
            r = reserved.setdefault(dst, [0, 0])
            r[0] += vm.vcpus
            r[1] += vm.memory_mib
