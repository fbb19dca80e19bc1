"""``precopy``: QEMU's iterative pre-copy, as QEMU really runs it.

The guest keeps running on the source while its memory is copied; pages it
dirties meanwhile are copied again, until what is left fits the downtime
target and the guest is paused for the last copy. ``doc/cost-model.md``
derives the model; in short, with ``B`` the payload rate (bytes/s), ``d``
the downtime target, ``T = B * (d - switchover)`` QEMU's threshold (the
executor sets QEMU's limit to the target less the fixed switchover cost,
see :func:`~nova_livemig.algorithms.downtime.downtime_limit_ms`), ``s``
the sync step (``sync_step_ms``), ``D`` the dirty rate and ``W`` the
writable working set (all memory when unknown):

* the first pass sends the resident (non-zero) pages ``R`` in full and the
  zero pages at ``zero_page_cost`` of their size;
* QEMU re-reads the dirty bitmap (a *sync*, one iteration) only once less
  than ``T`` is left unsent, so each step sends
  ``x = max(P - T, min(B * s, P))`` of the ``P`` pending bytes and leaves
  ``U = P - x``, which still holds its share of working-set pages;
* the sync adds what was dirtied meanwhile, capped by the working set,
  ``dirtied(t) = min(D * t, W)``, less what is pending already:
  ``H' = H * U / P + dirtied(x / B) * (1 - H * U / (P * W))``
  (``H`` the pending working-set bytes; pages outside ``W`` never return);
* it completes when the pending bytes after a sync are below ``T``; the
  guest is then paused for ``P / B + switchover_ms + device state / B``,
  so a converged pre-copy's downtime sits near the target, not near zero;
* it is given up after ``max_iterations`` syncs or once it has sent
  ``max_data_factor`` times the guest memory.

In the fluid limit the pending working set obeys
``dP/dt = -B + D * (1 - P / W)`` (a page dirtied while pending costs
nothing more), so pre-copy converges when ``W * (1 - B / D) < T``: always
when ``D < B``; with an unknown working set (``W = M >> T``) only when
``D < B`` give or take ``T / M``; and for a hot working set (``D >> B``,
resent whole at every sync) only when ``W < T``. The caps cut the slow
cases short (a 4 GiB guest at 10 Gbit/s is given up above about
``D = 0.9 B``).
"""

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig.algorithms import downtime

#: QEMU weighs dirtied against sent bytes at most once a second
THROTTLE_PERIOD_S = 1.0
#: hard bound on the syncs simulated, whatever the caps say
MAX_SYNCS = 2000


def iterate(inp, params, rate_bytes_s, threshold_bytes, wire_ratio=1.0,
            governor=None, max_iterations=None):
    """Run the pre-copy iteration until it completes or is given up.

    O(iterations); it allocates only the returned tuple.

    :param inp: a :class:`~nova_livemig.cost.MigrationInput`
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :param rate_bytes_s: rate at which pending (raw) page bytes drain
    :param threshold_bytes: QEMU's threshold: complete when fewer raw
        bytes than this are pending after a sync
    :param wire_ratio: bytes on the wire per raw page byte
    :param governor: None, or an auto-converge throttle (see
        :func:`simulate`)
    :param max_iterations: overrides ``params.max_iterations``
    :returns: ``(converges, elapsed_s, pending_bytes, hot_bytes,
        sent_bytes, syncs, lost_s, throttle_pct)``: the state at the last
        sync (``hot_bytes``: the pending working-set pages; sent bytes are
        raw page bytes; ``lost_s``: guest-seconds lost to the throttle)
    """
    mib = cost.MIB
    mem_b = inp.memory_mib * mib
    res_b = cost.resident_bytes(inp, params)
    wws_b = cost.working_set_bytes(inp)
    hot = min(res_b, wws_b)
    cold = res_b - hot + cost.zero_page_bytes(inp, params)
    # QEMU's threshold counts pending pages at their size, zero or not;
    # what they cost to send (``cold``, ``hot``) is what takes time
    cold_raw = mem_b - hot
    dirty_b_s = inp.dirty_rate_mib_s * params.migration_dirty_factor * mib
    # past the operator's limit it does not converge: stop simulating
    max_s = (float('inf') if inp.max_migration_s is None
             else inp.max_migration_s - params.setup_s)
    step_b = rate_bytes_s * params.sync_step_ms / 1000.0
    cap_b = params.max_data_factor * mem_b / wire_ratio
    max_iter = (params.max_iterations if max_iterations is None
                else max_iterations)
    elapsed = sent = lost = 0.0
    syncs = 0
    progress = 1.0
    pct = 0.0
    high = 0
    period_s = period_dirty = period_sent = 0.0
    syncs0 = 0
    sent0 = 0.0
    converges = False
    while True:
        pending = cold + hot
        raw = cold_raw + hot
        if raw < threshold_bytes or pending <= 0.0:
            converges = True
            break
        if (syncs - syncs0 >= max_iter or sent - sent0 >= cap_b
                or syncs >= MAX_SYNCS or elapsed > max_s):
            break
        send = pending * (raw - threshold_bytes) / raw
        if send < step_b:
            send = min(pending, step_b)
        dt = send / rate_bytes_s
        keep = 1.0 - send / pending
        cold *= keep
        cold_raw *= keep
        hot *= keep
        dirtied = dirty_b_s * progress * dt
        dirtied = min(dirtied, wws_b)
        new = min(dirtied * (1.0 - params.dirty_overlap * hot / wws_b),
                  wws_b - hot)
        hot += new
        elapsed += dt
        sent += send
        syncs += 1
        lost += (1.0 - progress) * dt
        if governor is not None:
            period_s += dt
            period_dirty += new
            period_sent += send * wire_ratio
            if period_s >= THROTTLE_PERIOD_S:
                pct, high = governor.after_period(pct, high, period_dirty,
                                                  period_sent)
                progress = governor.progress(pct)
                period_s = period_dirty = period_sent = 0.0
            if pct < governor.max_pct:
                syncs0 = syncs
                sent0 = sent
    return converges, elapsed, pending, hot, sent, syncs, lost, pct


def simulate(name, inp, params, rate_bytes_s, threshold_bytes,
             wire_ratio=1.0, governor=None):
    """Predict a pre-copy; shared by precopy, compress and autoconverge.

    O(iterations): :func:`iterate`, then the final pause.

    :param name: the plugin name to put in the prediction
    :param inp: a :class:`~nova_livemig.cost.MigrationInput`
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :param rate_bytes_s: rate at which pending (raw) page bytes drain
    :param threshold_bytes: QEMU's threshold: complete when fewer raw
        bytes than this are pending after a sync
    :param wire_ratio: bytes on the wire per raw page byte
    :param governor: None, or an auto-converge throttle with
        ``max_pct``, ``after_period(pct, high_count, dirtied_bytes,
        sent_bytes) -> (pct, high_count)`` and ``progress(pct)`` (the
        fraction of its speed the throttled guest keeps); while its throttle
        is below ``max_pct`` the iteration and data caps do not count
    :returns: a :class:`~nova_livemig.cost.Prediction`

    Three syncs, by hand: 1000 MiB, all resident, a 10 MiB working set,
    ``D = B = 100`` MiB/s, ``T = 50`` MiB, steps of 5 MiB. The first pass
    leaves ``U = 50`` (0.5 of it hot) after 9.5 s; the sync brings the hot
    part back to ``W``: ``P = 49.5 + 10 = 59.5``. The next step sends
    9.5 MiB in 0.095 s; 8.403 hot MiB stay, 9.5 are dirtied, 1.517 of them
    new: ``P = 41.597 + 9.920 = 51.517``. One more 5 MiB step: the pending
    bytes fall to 47.04 MiB, below ``T``: it converges after 3 syncs with
    470 ms of downtime.

    >>> p = cost.CostParams(goodput_fraction=1.0, switchover_ms=0.0,
    ...                     device_state_mib=0.0, setup_s=0.0,
    ...                     pause_backlog_mib=0.0)
    >>> inp = cost.MigrationInput(memory_mib=1000, dirty_rate_mib_s=100,
    ...                           bandwidth_gbit_s=1, wws_mib=10)
    >>> r = simulate('precopy', inp, p, 100 * cost.MIB, 50 * cost.MIB)
    >>> r.converges, r.iterations, round(r.downtime_ms), round(r.total_s, 2)
    (True, 3, 470, 10.12)
    """
    (converges, elapsed, pending, _hot, sent, syncs, lost,
     pct) = iterate(inp, params, rate_bytes_s, threshold_bytes, wire_ratio,
                    governor)
    stop_s = pause_s(pending, rate_bytes_s, params, wire_ratio)
    if converges:
        total_s = params.setup_s + elapsed + stop_s
        bytes_sent = ((sent + pending) * wire_ratio
                      + params.device_state_mib * cost.MIB)
    else:
        total_s = params.setup_s + elapsed
        bytes_sent = sent * wire_ratio
    return cost.within_time(cost.Prediction(
        algorithm=name, total_s=total_s, downtime_ms=stop_s * 1000.0,
        bytes_sent=int(bytes_sent), converges=converges, iterations=syncs,
        slowdown=lost / total_s if total_s > 0 else 0.0, throttle_pct=pct),
        inp)


def pause_s(pending_bytes, rate_bytes_s, params, wire_ratio=1.0):
    """How long a converged pre-copy pauses the guest: the last pending
    pages, the stream still queued on its way to the wire
    (:func:`~nova_livemig.cost.backlog_s`), the switchover and the device
    state. The downtime limit QEMU is given leaves room for all but the
    pages (:func:`~nova_livemig.algorithms.downtime.downtime_limit_ms`).

    :param pending_bytes: raw page bytes pending at the pause
    :param rate_bytes_s: rate at which pending (raw) page bytes drain
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :param wire_ratio: bytes on the wire per raw page byte
    :returns: seconds

    >>> p = cost.CostParams(pause_backlog_mib=2.0, switchover_ms=4.0,
    ...                     device_state_mib=0.0)
    >>> round(pause_s(18 * cost.MIB, 20 * cost.MIB, p), 3)
    1.004
    """
    wire_b_s = rate_bytes_s * wire_ratio
    return (pending_bytes / rate_bytes_s + cost.backlog_s(params, wire_b_s)
            + cost.switchover_s(params, wire_b_s))


def threshold_bytes(rate_bytes_s, downtime_limit_ms):
    """QEMU's ``threshold_size``: bytes that fit its downtime limit at the
    rate it measures on the wire.

    :param rate_bytes_s: payload rate QEMU measures on the wire
    :param downtime_limit_ms: QEMU's ``downtime-limit``
    :returns: bytes

    >>> threshold_bytes(100 * cost.MIB, 500) / cost.MIB
    50.0
    """
    return rate_bytes_s * downtime_limit_ms / 1000.0


class PreCopy(algorithms.Algorithm):
    """Plain pre-copy.

    A quiet 4 GiB guest over 10 Gbit/s: 0.9 s of setup, one pass of 3.6 s,
    then a few short steps; the downtime sits below the 500 ms target,
    near it:

    >>> inp = cost.MigrationInput(memory_mib=4096, dirty_rate_mib_s=20,
    ...                           bandwidth_gbit_s=10)
    >>> r = PreCopy().predict(inp, cost.CostParams())
    >>> r.converges, r.iterations, round(r.total_s, 2), round(r.downtime_ms)
    (True, 2, 4.53, 497)

    A guest dirtying 40 MiB/s never converges over 200 Mbit/s:

    >>> PreCopy().predict(cost.MigrationInput(
    ...     256, 40, 0.2), cost.CostParams()).converges
    False
    """

    name = 'precopy'

    def predict(self, inp, params):
        """See :meth:`nova_livemig.algorithms.Algorithm.predict`."""
        cost.check_input(inp)
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params)
        limit_ms = downtime.downtime_limit_ms(inp.max_downtime_ms, rate,
                                              params)
        return simulate(self.name, inp, params, rate,
                        threshold_bytes(rate, limit_ms))
