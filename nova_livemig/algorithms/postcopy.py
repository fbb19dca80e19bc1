"""``postcopy``: switch over first, then pull the memory.

The guest is paused only for its vCPU and device state, then runs on the
destination while one pass sends every page (pages it touches first are
requested out of turn; they fault across the link meanwhile). With ``B``
the payload rate, ``R`` the resident bytes, ``Z`` the zero-page cost:

    downtime ``= switchover_ms + device_state / B``
    total ``= setup_s + downtime + (R + Z) / B``
    slowdown ``= postcopy_slowdown * ((R + Z) / B) / total``

It always completes, whatever the dirty rate, but the guest's memory is
split between the hosts until it does: a link failure during the pass loses
the VM (risk ``'vm-lost-on-link-failure'``).
"""

from nova_livemig import algorithms
from nova_livemig import cost


def postcopy_phase(pending_bytes, missing_fraction, rate_bytes_s, params):
    """The post-copy phase after the switchover.

    :param pending_bytes: bytes still on the source
    :param missing_fraction: fraction of the pages the guest uses that are
        still on the source (1 for pure post-copy)
    :param rate_bytes_s: payload rate
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :returns: ``(seconds, guest-seconds lost to page faults)``

    >>> postcopy_phase(100 * cost.MIB, 1.0, 50 * cost.MIB,
    ...                cost.CostParams(postcopy_slowdown=0.5))
    (2.0, 1.0)
    """
    seconds = pending_bytes / rate_bytes_s
    return seconds, seconds * params.postcopy_slowdown * missing_fraction


class PostCopy(algorithms.Algorithm):
    """Pure post-copy.

    The testbed case: 256 MiB over 200 Mbit/s (22.9 MiB/s of payload)
    finishes in about 12 s (0.9 s of setup, a pass of 11.2 s) with a few
    ms of downtime (the 4 ms switchover and 2.2 ms of device state), even
    when the guest dirties 40 MiB/s:

    >>> r = PostCopy().predict(cost.MigrationInput(256, 40, 0.2),
    ...                        cost.CostParams())
    >>> round(r.total_s, 1), round(r.downtime_ms, 1), r.risks
    (12.1, 6.2, ('vm-lost-on-link-failure',))
    """

    name = 'postcopy'
    uses_postcopy = True

    def predict(self, inp, params):
        """See :meth:`nova_livemig.algorithms.Algorithm.predict`."""
        cost.check_input(inp)
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params)
        pages = (cost.resident_bytes(inp, params)
                 + cost.zero_page_bytes(inp, params))
        pause_s = cost.switchover_s(params, rate)
        pass_s, lost_s = postcopy_phase(pages, 1.0, rate, params)
        total_s = params.setup_s + pause_s + pass_s
        return cost.within_time(cost.Prediction(
            algorithm=self.name, total_s=total_s,
            downtime_ms=pause_s * 1000.0,
            bytes_sent=int(pages + params.device_state_mib * cost.MIB),
            converges=True, iterations=0, slowdown=lost_s / total_s,
            risks=(cost.RISK_VM_LOST,)), inp)
