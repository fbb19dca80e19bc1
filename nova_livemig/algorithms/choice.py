"""Choosing the migration algorithm for one VM (the ``auto`` choice).

A measured dirty rate can be off by tens of percent, so the choice must hold
across that error, not only at its point estimate. The *band* of a VM's
dirty rate is ``D -/+ e``: ``e`` is twice the VM's measured spread (one
standard deviation) when it has one, ``D * options.dirty_rate_rel_err``
otherwise (:func:`dirty_rate_bounds`).

Each allowed algorithm is predicted at the point estimate; those that meet
the downtime target there are predicted at the high and the low end of the
band too (a throttle or a threshold can make a model non-monotonic in the
rate), fastest first, until the rest cannot win. The algorithms fall in
tiers:

0. meets the target across the whole band;
1. meets it at the point estimate only;
2. converges at the point estimate but misses the target;
3. does not converge at the point estimate.

The best tier wins. In tier 0 the least *worst-case* total time over the band
wins, but an algorithm listed earlier in ``options.algorithms`` is kept over
one less than ``NEAR_TIE`` (1 %) faster, so the choice does not flip on
noise. An algorithm that switches to post-copy (a link failure during its
pass loses the VM) must save ``options.postcopy_min_saving`` of the
worst-case time to win against one that does not: its time counts that much
longer in the comparison. That constant prices the loss of the VM; where
both hosts recover a broken post-copy
(:func:`nova_livemig.algorithms.postcopy.recoverable`) a break costs the
guest's stall instead, measured from history by
:func:`nova_livemig.algorithms.postcopy.measured_stall_share` (not yet
fed to this choice: the snapshot does not carry the hosts' capability).
Lower tiers rank by
downtime. The returned value is the chosen algorithm's prediction at the
point estimate; a tier-1 choice carries the risk ``'may-not-converge'``.

>>> from nova_livemig import algorithms, model, plan
>>> algos = algorithms.load_algorithms(['precopy', 'autoconverge'])
>>> vm = model.Vm(id='v', host='a', vcpus=1, memory_mib=4096, cpu_util=0.5,
...               dirty_rate_mib_s=1000.0)
>>> opts = plan.PlanningOptions(algorithms=('precopy', 'autoconverge'))

At 1000 MiB/s the point estimate converges over 10 Gbit/s (1144 MiB/s of
payload), but 1250 MiB/s, 25 % more, does not: the choice falls on
auto-converge, whose throttle holds the high end down.

>>> algos['precopy'].predict(cost.MigrationInput.for_vm(
...     vm, 10.0, 500.0), opts.params).converges
True
>>> choose(vm, 10.0, opts, algos).algorithm
'autoconverge'
"""

import dataclasses

from nova_livemig import cost
from nova_livemig import exception

#: a measured spread is one standard deviation; the band is this many
SIGMAS = 2.0
#: an algorithm earlier in ``options.algorithms`` is kept over a later one
#: whose worst-case total time is less than this fraction shorter
NEAR_TIE = 0.01


def dirty_rate_bounds(vm, options):
    """(low, point, high) dirty rates, MiB/s, for a VM.

    :param vm: a :class:`nova_livemig.model.Vm`
    :param options: a :class:`nova_livemig.plan.PlanningOptions`
    :returns: a tuple of three rates, the low one never below zero
    """
    point = vm.dirty_rate_mib_s
    if vm.dirty_rate_err_mib_s is not None:
        spread = SIGMAS * vm.dirty_rate_err_mib_s
    else:
        spread = point * options.dirty_rate_rel_err
    return max(point - spread, 0.0), point, point + spread


def _band(algo, at_point, band_inputs, options):
    """Tier 0 or 1 of an algorithm that meets the target at the point
    estimate, and its rank in that tier."""
    target = options.max_downtime_ms
    worst = at_point.total_s
    for inp in band_inputs:
        pred = algo.predict(inp, options.params)
        if not pred.meets(target):
            return 1, (not pred.converges, pred.downtime_ms)
        worst = max(worst, pred.total_s)
    return 0, worst


def choose(vm, bandwidth_gbit_s, options, algorithms):
    """The algorithm to migrate ``vm`` with over a path of that bandwidth.

    Every allowed algorithm is predicted at the point estimate; those that
    meet the target there are then predicted at the high and low ends of
    the band, fastest first, until the rest cannot win (their point
    estimate alone is slower than the best worst case by more than
    ``NEAR_TIE``). About seven predictions per VM and bandwidth.

    :param vm: a :class:`nova_livemig.model.Vm`
    :param bandwidth_gbit_s: free capacity of the path
    :param options: a :class:`nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}``, the allowed algorithms
    :returns: the :class:`~nova_livemig.cost.Prediction` at the point
        estimate of the chosen algorithm
    :raises InvalidInput: when none of ``options.algorithms`` is in
        ``algorithms``
    """
    low, point, high = dirty_rate_bounds(vm, options)
    target = options.max_downtime_ms
    at = cost.MigrationInput.for_vm(
        vm, bandwidth_gbit_s, target,
        max_migration_s=options.max_migration_s)
    points = []
    for order, name in enumerate(options.algorithms):
        algo = algorithms.get(name)
        if algo is not None:
            points.append((order, algo, algo.predict(at, options.params)))
    if not points:
        raise exception.InvalidInput(
            'planner.algorithms', list(options.algorithms),
            'at least one loaded algorithm (loaded: %s)'
            % (', '.join(sorted(algorithms)) or 'none'))
    band_inputs = tuple(
        cost.MigrationInput.for_vm(vm, bandwidth_gbit_s, target,
                                   dirty_rate_mib_s=rate,
                                   max_migration_s=options.max_migration_s)
        for rate in (high, low) if rate != point)
    def risk_weight(algo):
        if algo.uses_postcopy:
            return 1.0 + options.postcopy_min_saving
        return 1.0

    meeting = sorted((item for item in points if item[2].meets(target)),
                     key=lambda item: (item[2].total_s * risk_weight(item[1]),
                                       item[0]))
    robust = []
    fragile = []
    bound = float('inf')
    for order, algo, pred in meeting:
        weight = risk_weight(algo)
        if pred.total_s * weight > bound * (1.0 + NEAR_TIE):
            break
        tier, rank = _band(algo, pred, band_inputs, options)
        if tier == 0:
            robust.append((order, rank * weight, pred))
            bound = min(bound, rank * weight)
        else:
            fragile.append((rank, order, pred))
    if robust:
        limit = bound * (1.0 + NEAR_TIE)
        return min((order, pred) for order, rank, pred in robust
                   if rank <= limit)[1]
    if fragile:
        pred = min(fragile, key=lambda item: item[:2])[2]
        return dataclasses.replace(
            pred, risks=pred.risks + (cost.RISK_MAY_NOT_CONVERGE,))
    return min(points, key=lambda item: (not item[2].converges,
                                         item[2].downtime_ms,
                                         item[0]))[2]
