"""Moves that wait on each other: a temporary hop, or giving one up.

When nothing runs and nothing can start (A->B while B->A, both full), one
blocked move goes through a spare host with room: a temporary hop, and a
second leg from there once room frees up. With no spare host (or in the
Nova-default simulation, which never hops), one blocked move is given up
and reported with the reason in words. The simulation's state is read and
updated through ``sim`` (a
:class:`nova_livemig.scheduling.simulation.Simulation`).
"""

from nova_livemig.scheduling import schedule
from nova_livemig.scheduling import task as task_mod

_EPS = 1e-9


def unblock(sim, t):
    """Nothing runs, nothing can start: hop one move through a spare
    host, or give up on one move.

    :returns: False when nothing is left to try
    """
    blocked = sorted((x for lst in sim.by_src.values() for x in lst
                      if x.state == 'pending'), key=lambda x: x.order)
    blocked = list({id(x): x for x in blocked}.values())
    if not blocked:
        return False
    ready = [x for x in blocked
             if sim.location[x.vm.id] == x.source]
    if not sim.nova:
        for task in ready:
            if task.hopped or not frees_room(sim, task):
                continue
            spare = spare_host(sim, task)
            if spare is not None:
                hop(sim, task, spare, t)
                return True
    victim = ready[0] if ready else blocked[0]
    give_up(sim, victim)
    return True


def frees_room(sim, task):
    """True when the moves waiting to leave the destination would make
    room for the VM: the move is in a cycle, a hop can break it."""
    vm, dst = task.vm, task.destination
    host = sim.snapshot.hosts[dst]
    leaving = [x.vm for x in sim.by_src.get(dst, ())
               if x.state == 'pending' and x.source == dst]
    return (sim.alloc_vcpus[dst] - sum(v.vcpus for v in leaving)
            + vm.vcpus <= host.vcpu_capacity + _EPS
            and sim.alloc_mem[dst] - sum(v.memory_mib for v in leaving)
            + vm.memory_mib <= host.memory_capacity_mib + _EPS)


def spare_host(sim, task):
    """The host to hop through: up, in every aggregate of the source, with
    room now, and a path on which an allowed algorithm can carry the VM;
    the widest such path first, then the least memory allocated. None if
    there is none."""
    vm = task.vm
    src = sim.snapshot.hosts[task.source]
    best = None
    for name, host in sim.snapshot.hosts.items():
        if (name in (task.source, task.destination)
                or host.state != 'up'
                or not set(src.aggregates) <= set(host.aggregates)):
            continue
        if (sim.alloc_vcpus[name] + vm.vcpus > host.vcpu_capacity
                or sim.alloc_mem[name] + vm.memory_mib
                > host.memory_capacity_mib):
            continue
        bw = min(sim.graph.bandwidth_gbit_s(task.source, name),
                 sim.graph.bandwidth_gbit_s(task.destination, name))
        if bw <= 0 or sim.predictor.best(vm, bw) is None:
            continue
        key = (-bw, sim.alloc_mem[name], name)
        if best is None or key < best[0]:
            best = (key, name)
    return best[1] if best else None


def hop(sim, task, spare, t):
    """Send the task to ``spare`` instead, queue a second leg from there
    to its destination, and start what can start."""
    final = task.destination
    task.destination = spare
    task.links = sim.graph.widest_path(task.source, spare).links
    task.hopped = True
    task.add_note(
        f'{schedule.HOP_NOTE} {spare} to break a cycle (no room on {final} '
        'until this VM leaves)')
    sim.by_dst.setdefault(spare, []).append(task)
    second = task_mod.Task(task.order[:3] + (1,), task.vm, spare, final,
                           sim.graph.widest_path(spare, final).links,
                           task.planned, note=f'hop: second leg to {final}')
    second.hopped = True
    sim.enqueue(second)
    started = sim.start_ready(t, {task.source, spare}, {})
    sim.reshare(started, t)


def give_up(sim, task):
    """Drop the task and record it as unscheduled, with the reason."""
    vm = task.vm
    if sim.location[vm.id] != task.source:
        reason = (f'{vm.id} is on {sim.location[vm.id]}, not '
                  f'{task.source}: an earlier move of it did not run')
    elif sim.nova:
        reason = f'never found room on {task.destination}'
    elif not frees_room(sim, task):
        reason = (f'no room on {task.destination} for {vm.vcpus} vcpus '
                  f'/ {vm.memory_mib} MiB, and the moves planned out of '
                  'it do not free enough')
    else:
        chain = ' -> '.join(_chain(sim, task))
        reason = (f'no room on {task.destination} for {vm.vcpus} vcpus '
                  f'/ {vm.memory_mib} MiB, and the moves that would '
                  f'free it wait themselves ({chain}); '
                  'no spare host has room for a temporary hop')
    task.state = 'dropped'
    sim.pending -= 1
    sim.waiting_bw.discard(task)
    sim.unscheduled.append(schedule.Unscheduled(vm.id, task.source,
                                                task.destination, reason))


def _chain(sim, task):
    """The hosts of the moves waiting on each other, from the task on."""
    chain = [task.source, task.destination]
    while True:
        nxt = next((x for x in sim.by_src.get(chain[-1], ())
                    if x.state == 'pending' and x is not task
                    and x.source == chain[-1]), None)
        if nxt is None or nxt.destination in chain:
            if nxt is not None:
                chain.append(nxt.destination)
            break
        chain.append(nxt.destination)
    return chain
