"""``hybrid``: one pre-copy pass, then post-copy.

Pre-copy runs as in :func:`~nova_livemig.algorithms.precopy.iterate` up to
its first sync: the first pass has sent all but ``T`` (QEMU's threshold)
in ``t1 = (R + Z - T) / B`` and the guest has dirtied
``min(D * t1, W)`` meanwhile, so ``P1`` bytes are pending, ``H1`` of them
in the working set. If ``P1 < T`` (a guest small enough to fit the pause),
it completes as pre-copy and nothing is at risk. Otherwise it switches
over and pulls ``P1``:

    downtime ``= switchover_ms + device_state / B``
    total ``= setup_s + t1 + downtime + P1 / B``
    slowdown ``= postcopy_slowdown * (H1 / W) * (P1 / B) / total``

The guest faults less than in pure post-copy: only the fraction ``H1 / W``
of the pages it writes is missing, for a pass of ``P1`` instead of the
whole memory. A link failure in that pass still loses the VM.
"""

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig.algorithms import downtime
from nova_livemig.algorithms import postcopy
from nova_livemig.algorithms import precopy


class Hybrid(algorithms.Algorithm):
    """Pre-copy for one pass, then post-copy.

    The testbed guest over 200 Mbit/s: 0.9 s of setup, a pass of 10.7 s,
    after which all 256 MiB are dirty again and pulled (11.2 s) after a
    6.2 ms pause (the 4 ms switchover and 2.2 ms of device state); a guest
    that fits the pause completes as pre-copy:

    >>> p = cost.CostParams()
    >>> r = Hybrid().predict(cost.MigrationInput(256, 40, 0.2), p)
    >>> round(r.total_s, 1), round(r.downtime_ms, 1), r.risks
    (22.9, 6.2, ('vm-lost-on-link-failure',))
    >>> Hybrid().predict(cost.MigrationInput(8, 1, 0.2), p).risks
    ()
    """

    name = 'hybrid'
    uses_postcopy = True

    def predict(self, inp, params):
        """See :meth:`nova_livemig.algorithms.Algorithm.predict`."""
        cost.check_input(inp)
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params)
        limit_ms = downtime.downtime_limit_ms(inp.max_downtime_ms, rate,
                                              params)
        (converges, elapsed, pending, hot, sent, syncs, _lost,
         _pct) = precopy.iterate(inp, params, rate,
                                 precopy.threshold_bytes(rate, limit_ms),
                                 max_iterations=1)
        pause_s = cost.switchover_s(params, rate)
        bytes_sent = int(sent + pending + params.device_state_mib * cost.MIB)
        if converges:
            stop_s = precopy.pause_s(pending, rate, params)
            return cost.within_time(cost.Prediction(
                algorithm=self.name,
                total_s=params.setup_s + elapsed + stop_s,
                downtime_ms=stop_s * 1000.0, bytes_sent=bytes_sent,
                converges=True, iterations=syncs), inp)
        pull_s, lost_s = postcopy.postcopy_phase(
            pending, hot / cost.working_set_bytes(inp), rate, params)
        total_s = params.setup_s + elapsed + pause_s + pull_s
        return cost.within_time(cost.Prediction(
            algorithm=self.name, total_s=total_s,
            downtime_ms=pause_s * 1000.0, bytes_sent=bytes_sent,
            converges=True, iterations=syncs, slowdown=lost_s / total_s,
            risks=(cost.RISK_VM_LOST,)), inp)
