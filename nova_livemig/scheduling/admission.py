"""Which move starts first, whether it may start now on links it would
share, and with what algorithm.

Moves on the busiest hosts are tried first (:func:`prioritise`). A smaller
share makes a pre-copy resend more, and can stop it from
converging. A move starts only if, at the smallest share it can get
(``min(free / migrations)`` over its links, which max-min fairness
guarantees), its algorithm meets the downtime target at the high end of its
dirty rate while sending at most :data:`SHARING_TOLERANCE` more bytes than
alone, and only if every running move on its links keeps doing so with its
own algorithm. Otherwise, if another allowed algorithm does, the move is
*switched* to it; if none does, it is *delayed* until migrations on its
links end. The simulation's state is read and updated through ``sim`` (a
:class:`nova_livemig.scheduling.simulation.Simulation`).
"""

from nova_livemig import cost
from nova_livemig.scheduling import predictions

#: Sharing a link may make a pre-copy resend more: a move shares only while
#: every pre-copy on its links sends at most this fraction more bytes than
#: alone (and still converges); otherwise it waits or switches algorithm.
SHARING_TOLERANCE = 0.05


def prioritise(sim):
    """Order the moves: the busiest hosts and links first.

    A move's priority is the largest of the work queued on its source
    (outgoing) and on its destination (incoming), each divided by the
    concurrency allowed there, and of the seconds each link of its path
    needs to carry the bytes of every move crossing it; then the longest
    move first; then the plan's order. (Nova keeps the plan's order.)
    """
    alone = {}
    out_s = {}
    in_s = {}
    link_bytes = {}
    for task, _, _, _ in sim.originals:
        bw = sim.alone_gbit_s(task)
        algo = sim.predictor.best(task.vm, bw)
        pred = sim.predictor.predict(task.vm, algo, bw)
        alone[task] = pred.total_s
        out_s[task.source] = out_s.get(task.source, 0.0) + alone[task]
        in_s[task.destination] = (in_s.get(task.destination, 0.0)
                                  + alone[task])
        for k in task.links:
            link_bytes[k] = link_bytes.get(k, 0.0) + pred.bytes_sent
    params = sim.predictor.options.params
    link_s = {k: b / max(cost.bytes_per_s(sim.capacity[k], params), 1e-9)
              for k, b in link_bytes.items()}
    for task, _, _, _ in sim.originals:
        work = max(out_s[task.source] / sim.max_out,
                   in_s[task.destination] / sim.max_in,
                   max(link_s[k] for k in task.links))
        task.order = (-work, -alone[task]) + task.order[1:]


def efficient(predictor, vm, algo, share, base_bytes):
    """Meets the downtime target at this share, sending at most
    :data:`SHARING_TOLERANCE` more bytes than ``base_bytes``."""
    return (predictor.fits(vm, algo, share)
            and predictor.predict(vm, algo, share).bytes_sent
            <= (1.0 + SHARING_TOLERANCE) * base_bytes)


def admit(sim, task, t):
    """The algorithm to start a task with at ``t``, or None to delay it.

    On admission, the shares the running moves on its links are now sure
    of are lowered, and the task's note says when it was delayed or
    switched.

    :param sim: the simulation
    :param task: a pending :class:`~nova_livemig.scheduling.task.Task`
    """
    pred = sim.predictor
    shares = {k: sim.capacity[k] / (len(sim.members[k]) + 1)
              for k in task.links}
    floor = min(shares.values())
    alone = sim.alone_gbit_s(task)
    base = pred.predict(task.vm, task.planned, alone).bytes_sent
    if not pred.fits(task.vm, task.planned, alone):
        base = min(pred.predict(task.vm, a, alone).bytes_sent
                   for a in pred.allowed()
                   if pred.fits(task.vm, a, alone))
    algo = task.planned
    if not efficient(pred, task.vm, algo, floor, base):
        algo = next((a for a in pred.ranked(task.vm, floor)
                     if efficient(pred, task.vm, a, floor, base)), None)
        if algo is None:
            return _delay(sim, task, t)
    updates = []
    quantize = predictions.quantize_gbit_s
    for k, share in shares.items():
        # predictions are made at quantized shares: a move checked at a
        # share in the same step keeps its verdict, and the link's moves
        # need not be gone through again
        q = quantize(share)
        if quantize(sim.max_need[k]) <= q:
            continue
        for other in sim.members[k]:
            if other.need_q <= q:
                continue
            if not efficient(pred, other.vm, other.algorithm, share,
                             other.base_bytes):
                return _delay(sim, task, t)
            updates.append((other, share))
    for other, share in updates:
        other.need = min(other.need, share)
        other.need_q = quantize(other.need)
    for k, share in shares.items():
        sim.max_need[k] = max(min(sim.max_need[k], share), floor)
    task.need = floor
    task.need_q = quantize(floor)
    task.base_bytes = pred.predict(task.vm, algo, alone).bytes_sent
    sim.waiting_bw.discard(task)
    if task.waited_s is not None:
        task.add_note(
            f'delayed {t - task.waited_s:.1f} s: sharing its links '
            'earlier would have made a pre-copy resend too much or '
            'stop converging')
    if algo != task.planned:
        why = ('does not converge' if not pred.fits(
            task.vm, task.planned, floor) else 'resends too much')
        task.add_note(
            f'switched {task.planned}->{algo}: {task.planned} {why} '
            f'at its share ({floor:.2f} Gbit/s)')
    return algo


def _delay(sim, task, t):
    """Delay a task until migrations on its links end."""
    if task.waited_s is None:
        task.waited_s = t
    sim.wait_on_links(task)
