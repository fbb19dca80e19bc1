"""Predictions of the cost models at a bandwidth share, cached.

A migration's share of its links changes as others start and end, and the
scheduler and the planners ask the same questions again and again: how long,
how many bytes, does it meet the downtime target at this share? The
:class:`Predictor` answers them from the cost models, once per VM,
algorithm and share rounded down to a grid (:func:`quantize_gbit_s`), so
that nearby shares share a prediction.
"""

import math

from nova_livemig import cost
from nova_livemig.algorithms import choice


def quantize_gbit_s(rate):
    """Round a share down to a grid of 64 steps per doubling, so that the
    predictions of a VM at nearby shares are computed once.

    >>> quantize_gbit_s(10.0) <= 10.0 < quantize_gbit_s(10.0) * 1.011
    True
    """
    if rate <= 0 or math.isinf(rate):
        return rate
    step = math.floor(math.log2(rate) * 64 + 1e-9) / 64
    return 2.0 ** step


#: A share within this factor of the one a running move's prediction was
#: made at does not change what the move does (it converges, and resends
#: at most the few per cent admission allows): its time is rescaled (the
#: same bytes at the other rate) instead of predicted again.
SAME_OUTCOME_FACTOR = 1.25


def same_outcome(gbit_s, ref_gbit_s):
    """True when a move predicted at ``ref_gbit_s`` keeps its prediction's
    bytes and outcome at ``gbit_s`` (:data:`SAME_OUTCOME_FACTOR`).

    >>> same_outcome(9.0, 10.0), same_outcome(7.0, 10.0)
    (True, False)
    """
    return (ref_gbit_s / SAME_OUTCOME_FACTOR <= gbit_s
            <= ref_gbit_s * SAME_OUTCOME_FACTOR)


#: how many caches of recent predictors are kept for a scheduler to read
RECENT_CACHES = 2
_recent = []   # [(options, algorithms, cache, {vm id: vm})], newest last


def _register(options, algorithms):
    cache, owners = {}, {}
    try:
        hash(options)
    except TypeError:
        return cache, owners
    _recent.append((options, dict(algorithms), cache, owners))
    del _recent[:-RECENT_CACHES]
    return cache, owners


def _recent_for(options, algorithms):
    """The cache and VM owners of the newest predictor made with equal
    options and the very same cost model objects, or ``(None, None)``."""
    for entry in reversed(_recent):
        if (entry[0] == options and entry[1].keys() == algorithms.keys()
                and all(entry[1][n] is a for n, a in algorithms.items())):
            return entry[2], entry[3]
    return None, None


class Predictor:
    """Cached predictions of the cost models.

    :param options: a :class:`~nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}``
    :param reuse: also read the predictions of the newest predictor made
        with equal options and the same cost model objects (the planner's,
        for the scheduler that follows it), for the very same VM objects
        only: the scheduler then does not predict again what the plan
        already predicted. Predictors that do not reuse are the ones kept
        (the :data:`RECENT_CACHES` newest).
    """

    def __init__(self, options, algorithms, reuse=False):
        self.options = options
        self.algorithms = algorithms
        self._shared, self._shared_owners = (
            _recent_for(options, algorithms) if reuse else (None, None))
        if reuse:
            self._cache, self._owners = {}, None
        else:
            self._cache, self._owners = _register(options, algorithms)

    def predict(self, vm, algorithm, gbit_s, high=False):
        """A :class:`~nova_livemig.cost.Prediction` at a share; at the high
        end of the dirty rate when ``high``."""
        q = quantize_gbit_s(gbit_s)
        key = (vm.id, algorithm, q, high)
        found = self._cache.get(key)
        if found is None and self._shared is not None and (
                self._shared_owners.get(vm.id) is vm):
            found = self._shared.get(key)
        if found is None:
            rate = choice.dirty_rate_bounds(vm, self.options)[
                2 if high else 1]
            inp = cost.MigrationInput.for_vm(
                vm, q, self.options.max_downtime_ms, dirty_rate_mib_s=rate,
                max_migration_s=self.options.max_migration_s)
            found = self.algorithms[algorithm].predict(
                inp, self.options.params)
            self._cache[key] = found
            if self._owners is not None:
                self._owners.setdefault(vm.id, vm)
        return found

    def fits(self, vm, algorithm, gbit_s):
        """True when the algorithm meets the downtime target at that share
        across the dirty-rate error."""
        return self.predict(vm, algorithm, gbit_s, high=True).meets(
            self.options.max_downtime_ms)

    def allowed(self):
        return [a for a in self.options.algorithms if a in self.algorithms]

    def ranked(self, vm, gbit_s):
        """The fitting allowed algorithms, least time first (then fewest
        bytes, then the order of ``options.algorithms``)."""
        fitting = [a for a in self.allowed() if self.fits(vm, a, gbit_s)]
        return sorted(fitting, key=lambda a: (
            self.predict(vm, a, gbit_s, high=True).total_s,
            self.predict(vm, a, gbit_s).bytes_sent))

    def best(self, vm, gbit_s):
        """The fitting allowed algorithm with the least time, or None."""
        ranked = self.ranked(vm, gbit_s)
        return ranked[0] if ranked else None

    def unmovable_reason(self, vm, gbit_s):
        """Why no allowed algorithm can carry the VM alone on a path of
        ``gbit_s``, in words: the least downtime any of them reaches."""
        allowed = self.allowed()
        high = choice.dirty_rate_bounds(vm, self.options)[2]
        least = min(allowed, key=lambda a: self.predict(
            vm, a, gbit_s, high=True).downtime_ms)
        p = self.predict(vm, least, gbit_s, high=True)
        text = (f'unmovable: alone on its path ({gbit_s:g} Gbit/s) no '
                f'allowed algorithm ({", ".join(allowed)}) meets the '
                f'{self.options.max_downtime_ms:g} ms downtime target at a '
                f'dirty rate up to {high:.0f} MiB/s; least downtime: '
                f'{least} {p.downtime_ms:.0f} ms'
                + ('' if p.converges else ' and it does not converge'))
        if 'postcopy' not in allowed:
            text += '; post-copy is not allowed'
        return text
