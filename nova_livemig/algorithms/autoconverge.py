"""``autoconverge``: pre-copy under QEMU's CPU throttle.

QEMU weighs, at a sync at least a second after the previous weighing, the
bytes newly dirtied in that period against the bytes sent in it. When the
dirtied bytes exceed ``throttle_trigger_pct`` (50 %) of the sent ones for
the second time (``dirty_rate_high_cnt >= 2``; QEMU does not reset the count
on a quiet period, only after throttling), it throttles the vCPUs: first to
``throttle_initial_pct`` (20 %), then ``throttle_increment_pct`` (10 %)
more each time, up to ``throttle_max_pct`` (99 %). Everything else is
:func:`~nova_livemig.algorithms.precopy.simulate`.

A throttle of ``x`` leaves each vCPU ``1 - x`` of the time. A guest that
keeps a fraction ``u`` of its vCPUs busy (``cpu_util``; 0 means unknown and
counts as 1) loses nothing until ``1 - x < u``; its speed, and with it its
dirty rate, then falls to ``(1 - x) / u``:

    ``D_eff = D * min(1, (1 - x) / u)``,   slowdown ``= 1 - D_eff / D``

For a CPU-bound dirtier (``u = 1``) this is ``D * (1 - x)``. A guest
dirtying a few tens of MiB/s needs little CPU to do it, so the throttle
bites only near ``1 - u``: on the testbed, only at 90-99 %. The prediction
reports the time-averaged slowdown and the final throttle
(``throttle_pct``). The iteration and data caps count only from when the
throttle reaches its maximum: until then the migration still gains ground.
"""

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig.algorithms import downtime
from nova_livemig.algorithms import precopy


def guest_progress(throttle_pct, cpu_util):
    """Fraction of its speed (and dirty rate) a throttled guest keeps.

    :param throttle_pct: QEMU's CPU throttle, percent
    :param cpu_util: fraction of its vCPUs the guest keeps busy; 0 means
        unknown and counts as fully busy
    :returns: a fraction from 0 to 1

    >>> guest_progress(50, 1.0), guest_progress(50, 0.1)
    (0.5, 1.0)
    >>> round(guest_progress(99, 0.1), 6)
    0.1
    """
    busy = cpu_util if cpu_util > 0 else 1.0
    left = 1.0 - throttle_pct / 100.0
    return left / busy if left < busy else 1.0


def next_throttle(throttle_pct, high_count, dirtied_bytes, sent_bytes,
                  params):
    """QEMU's throttle decision at the end of one sync period.

    :param throttle_pct: the throttle now (0 when not throttling)
    :param high_count: periods with a high dirty ratio since the last
        throttle change
    :param dirtied_bytes: bytes newly dirtied in the period
    :param sent_bytes: bytes sent in the period
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :returns: ``(throttle_pct, high_count)``

    >>> p = cost.CostParams()
    >>> next_throttle(0, 0, 60, 100, p)
    (0, 1)
    >>> next_throttle(0, 1, 60, 100, p)
    (20.0, 0)
    >>> next_throttle(90.0, 1, 60, 100, p), next_throttle(20.0, 1, 40, 100, p)
    ((99.0, 0), (20.0, 1))
    """
    if dirtied_bytes <= sent_bytes * params.throttle_trigger_pct / 100.0:
        return throttle_pct, high_count
    high_count += 1
    if high_count < 2:
        return throttle_pct, high_count
    if throttle_pct <= 0:
        pct = params.throttle_initial_pct
    else:
        pct = throttle_pct + params.throttle_increment_pct
    return min(pct, params.throttle_max_pct), 0


class Throttle:
    """The governor :func:`~nova_livemig.algorithms.precopy.simulate`
    consults at each sync period.

    :param params: a :class:`~nova_livemig.cost.CostParams`
    :param cpu_util: the guest's ``cpu_util``
    """

    __slots__ = ('cpu_util', 'max_pct', 'params')

    def __init__(self, params, cpu_util):
        self.params = params
        self.cpu_util = cpu_util
        self.max_pct = params.throttle_max_pct

    def after_period(self, pct, high_count, dirtied_bytes, sent_bytes):
        """:func:`next_throttle` with this governor's params.

        :returns: ``(throttle_pct, high_count)``
        """
        return next_throttle(pct, high_count, dirtied_bytes, sent_bytes,
                             self.params)

    def progress(self, pct):
        """:func:`guest_progress` for this guest.

        :param pct: the throttle, percent
        :returns: the fraction of its speed the guest keeps
        """
        return guest_progress(pct, self.cpu_util)


class AutoConverge(algorithms.Algorithm):
    """Pre-copy with auto-converge.

    The testbed case: 256 MiB dirtied at 40 MiB/s by a guest that needs a
    tenth of its vCPU for it, over 200 Mbit/s. Plain pre-copy never
    converges; the throttle climbs for most of a minute and wins at 99 %:

    >>> inp = cost.MigrationInput(256, 40, 0.2, wws_mib=64, cpu_util=0.1)
    >>> r = AutoConverge().predict(inp, cost.CostParams())
    >>> r.converges, r.throttle_pct, round(r.total_s), round(r.slowdown, 2)
    (True, 99.0, 58, 0.04)
    """

    name = 'autoconverge'
    throttles_guest = True

    def predict(self, inp, params):
        """See :meth:`nova_livemig.algorithms.Algorithm.predict`."""
        cost.check_input(inp)
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params)
        limit_ms = downtime.downtime_limit_ms(inp.max_downtime_ms, rate,
                                              params)
        return precopy.simulate(self.name, inp, params, rate,
                                precopy.threshold_bytes(rate, limit_ms),
                                governor=Throttle(params, inp.cpu_util))
