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


class Predictor:
    """Cached predictions of the cost models.

    :param options: a :class:`~nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}``
    """

    def __init__(self, options, algorithms):
        self.options = options
        self.algorithms = algorithms
        self._cache = {}

    def predict(self, vm, algorithm, gbit_s, high=False):
        """A :class:`~nova_livemig.cost.Prediction` at a share; at the high
        end of the dirty rate when ``high``."""
        q = quantize_gbit_s(gbit_s)
        key = (vm.id, algorithm, q, high)
        found = self._cache.get(key)
        if found is None:
            rate = choice.dirty_rate_bounds(vm, self.options)[
                2 if high else 1]
            inp = cost.MigrationInput.for_vm(
                vm, q, self.options.max_downtime_ms, dirty_rate_mib_s=rate,
                max_migration_s=self.options.max_migration_s)
            found = self.algorithms[algorithm].predict(
                inp, self.options.params)
            self._cache[key] = found
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
