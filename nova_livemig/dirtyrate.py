"""What a guest's dirty-rate samples say: its write rate and working set.

libvirt's ``calc-dirty-rate`` samples pages at the start of a window and
counts how many of them changed by its end, so it measures *distinct*
pages dirtied per window: a page written twice counts once. A guest that
rewrites a small working set fast therefore reads low on a 1 s window, and
the same on every longer window, once every page of the set has changed.
Sampling the guest at more than one window length shows that saturation.

For a guest writing ``D`` bytes/s at random over a writable working set of
``W`` bytes, the distinct bytes dirtied in a window of ``w`` seconds are

    ``N(w) = W * (1 - exp(-D * w / W))``

(linear, ``D * w``, while ``w << W / D``; ``W`` once ``w >> W / D``). Two
window lengths ``w1 < w2`` with mean counts ``N1 < N2`` give
``q = N2 / N1``, which falls from ``w2 / w1`` (no saturation) to 1 (fully
saturated) as ``x = D / W`` grows; :func:`estimate` solves for ``x``,
then ``W = N1 / (1 - exp(-x * w1))`` and ``D = x * W``.

* ``q`` within :data:`LINEAR_TOLERANCE` of ``w2 / w1``: no saturation
  seen; ``D`` is the mean rate of the shortest windows and ``W`` unknown
  (None: the model then takes all memory as writable).
* ``q`` at 1 or below (every window counted the same pages): ``W`` is the
  largest count seen and ``D`` at least :data:`MAX_SATURATION` times the
  window's count; the true rate may be higher still, which only makes
  pre-copy less likely to converge, so the model stays on the safe side
  when :data:`MAX_SATURATION` is small.

The samples come from the driver (``Vm.dirty_rate_samples``) or a history
record (``before.dirty_rate_samples``); a snapshot may omit them, and the
plain ``dirty_rate_mib_s`` is then all the model knows.

>>> est = estimate([(1, 58.75), (1, 58.75), (4, 16.0)])
>>> round(est.rate_mib_s), round(est.wws_mib)
(160, 64)
>>> estimate([(1, 10.0), (4, 10.0)]).wws_mib is None
True
"""

import math
import typing

from nova_livemig import validation

#: ``q`` this close (relative) to ``w2 / w1`` counts as no saturation
LINEAR_TOLERANCE = 0.1
#: the largest ``D * w1 / W`` the estimate reports (a fully saturated
#: window): ``1 - exp(-3)`` is 95 % of the set dirtied in one window
MAX_SATURATION = 3.0
#: at most this many samples per VM (the driver takes a handful)
MAX_SAMPLES = 64

_WINDOW = validation.number(minimum=0, maximum=3600, exclusive=True)
_RATE = validation.number(minimum=0, maximum=10 ** 7)


class Estimate(typing.NamedTuple):
    """A guest's write rate and working set, from its samples.

    :ivar rate_mib_s: bytes the guest writes per second (not distinct
        pages), MiB/s
    :ivar wws_mib: writable working set, None when no window saturated
    """
    rate_mib_s: float
    wws_mib: float | None


def _samples(value):
    if not isinstance(value, list) or len(value) > MAX_SAMPLES:
        return validation.INVALID
    out = []
    for item in value:
        if not isinstance(item, dict) or item.keys() != {'window_s',
                                                        'mib_s'}:
            return validation.INVALID
        window = _WINDOW.accept(item['window_s'])
        rate = _RATE.accept(item['mib_s'])
        if validation.INVALID in (window, rate):
            return validation.INVALID
        out.append((window, rate))
    return tuple(out)


#: the JSON form of dirty-rate samples: a list of at most
#: :data:`MAX_SAMPLES` objects ``{"window_s": w, "mib_s": r}`` with
#: ``0 < w <= 3600`` and ``0 <= r <= 10**7``, as ``((w, r), ...)``
SAMPLES = validation.Kind(
    f'a list of at most {MAX_SAMPLES} objects {{"window_s": a number > 0 '
    'and <= 3600, "mib_s": a number >= 0 and <= 1e+07}',
    _samples, name='list of dirty-rate samples')


def to_primitive(samples):
    """The JSON form of ``((window_s, mib_s), ...)``.

    >>> to_primitive(((1.0, 12.5),))
    [{'window_s': 1.0, 'mib_s': 12.5}]
    """
    return [{'window_s': w, 'mib_s': r} for w, r in samples]


def window_rate_mib_s(rate_mib_s, wws_mib, window_s):
    """What page sampling reads over one window: the distinct MiB
    ``N(w)`` a guest dirties in it, per second (the module doc's
    formula; the inverse of :func:`estimate`).

    :param rate_mib_s: what the guest writes per second, ``D``
    :param wws_mib: its writable working set, ``W``
    :param window_s: the window, ``w``

    >>> round(window_rate_mib_s(40.0, 128.0, 1.0), 2)
    34.35
    >>> window_rate_mib_s(0.0, 128.0, 1.0)
    0.0
    """
    if rate_mib_s <= 0 or wws_mib <= 0:
        return 0.0
    return wws_mib * -math.expm1(-rate_mib_s * window_s / wws_mib) \
        / window_s


def _counts(samples):
    """Mean distinct MiB per window length: ``[(w, N)]``, shortest
    first."""
    by_window = {}
    for window_s, mib_s in samples:
        by_window.setdefault(window_s, []).append(mib_s * window_s)
    return sorted((w, sum(n) / len(n)) for w, n in by_window.items())


def _solve_x(q, w1, w2):
    """``x`` with ``(1 - exp(-x w2)) / (1 - exp(-x w1)) = q`` (bisection
    on a function that falls from ``w2 / w1`` to 1)."""
    low, high = 0.0, MAX_SATURATION / w1
    def ratio(x):
        return -math.expm1(-x * w2) / -math.expm1(-x * w1)
    if ratio(high) >= q:
        return high
    for _ in range(60):
        mid = (low + high) / 2
        if mid == 0.0 or ratio(mid) > q:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def estimate(samples):
    """The guest's write rate and working set from its samples.

    :param samples: ``((window_s, mib_s), ...)``, as :data:`SAMPLES`
        gives them (the driver's windows, any order)
    :returns: an :class:`Estimate`; with samples of one window length
        only, their mean and no working set; with no samples, None

    A guest writing 40 MiB/s over 128 MiB: 1 s windows count 34.35 MiB,
    4 s windows 91.33 MiB (22.83 MiB/s):

    >>> est = estimate([(1, 34.35), (4, 22.83)])
    >>> round(est.rate_mib_s, 1), round(est.wws_mib)
    (40.0, 128)

    Fully saturated (both windows saw the whole 64 MiB set): the rate is
    at least three times the shortest window's count:

    >>> est = estimate([(1, 64.0), (3, 21.3)])
    >>> round(est.rate_mib_s), round(est.wws_mib, 1)
    (202, 67.4)
    """
    counts = _counts(samples)
    if not counts:
        return None
    w1, n1 = counts[0]
    if len(counts) < 2 or n1 <= 0:
        return Estimate(n1 / w1, None)
    w2, n2 = counts[-1]
    linear = w2 / w1
    q = n2 / n1
    if q >= linear * (1.0 - LINEAR_TOLERANCE):
        return Estimate(n1 / w1, None)
    x = _solve_x(max(q, 1.0), w1, w2)
    wws = max(n1 / -math.expm1(-x * w1), n2)
    return Estimate(x * wws, wws)


def of_vm(vm):
    """The write rate and working set the cost models use for a VM.

    What the snapshot says wins: an explicit ``wws_mib`` is kept, with the
    VM's ``dirty_rate_mib_s``. Otherwise the samples, when there are any
    and they show saturation, give both (the rate never below the
    snapshot's). Without samples: the snapshot's rate, no working set.

    :param vm: a :class:`nova_livemig.model.Vm`
    :returns: an :class:`Estimate`; ``wws_mib`` capped at the VM's memory
    """
    if vm.wws_mib is not None or not vm.dirty_rate_samples:
        return Estimate(vm.dirty_rate_mib_s, vm.wws_mib)
    est = estimate(vm.dirty_rate_samples)
    if est is None or est.wws_mib is None:
        return Estimate(vm.dirty_rate_mib_s, None)
    return Estimate(max(est.rate_mib_s, vm.dirty_rate_mib_s),
                    min(est.wws_mib, vm.memory_mib))
