"""Choosing the migration algorithm for one VM (the ``auto`` choice).

A measured dirty rate can be off by tens of percent, so the choice must hold
across that error, not only at the point estimate. Each allowed algorithm is
predicted at the low, point and high dirty rate
(``D * (1 -/+ e)``, where ``e`` is the VM's measured spread relative to its
rate, or ``PlanningOptions.dirty_rate_rel_err`` when it has none). An
algorithm qualifies when it meets the downtime target at the *high* rate; of
those, the one with the least total time at the high rate wins (ties: fewer
bytes at the point estimate, then the order of ``options.algorithms``). When
none qualifies, the one with the least downtime at the high rate is returned,
so the caller can report it as not converging.
"""

from nova_livemig import cost


def dirty_rate_bounds(vm, options):
    """(low, point, high) dirty rates, MiB/s, for a VM."""
    point = vm.dirty_rate_mib_s
    if vm.dirty_rate_err_mib_s is not None:
        spread = vm.dirty_rate_err_mib_s
    else:
        spread = point * options.dirty_rate_rel_err
    return max(point - spread, 0.0), point, point + spread


def choose(vm, bandwidth_gbit_s, options, algorithms):
    """The algorithm to migrate ``vm`` with over a path of that bandwidth.

    :param vm: a :class:`nova_livemig.model.Vm`
    :param bandwidth_gbit_s: free capacity of the path
    :param options: a :class:`nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}``, the allowed algorithms
    :returns: the :class:`~nova_livemig.cost.Prediction` at the point
        estimate of the chosen algorithm
    """
    low, point, high = dirty_rate_bounds(vm, options)
    ranked = []
    for order, name in enumerate(options.algorithms):
        algo = algorithms.get(name)
        if algo is None:
            continue
        at = {}
        for label, rate in (('point', point), ('high', high)):
            inp = cost.MigrationInput.for_vm(
                vm, bandwidth_gbit_s, options.max_downtime_ms,
                dirty_rate_mib_s=rate)
            at[label] = algo.predict(inp, options.params)
        worst = at['high']
        meets = worst.meets(options.max_downtime_ms)
        ranked.append(((not meets,
                        worst.total_s if meets else worst.downtime_ms,
                        at['point'].bytes_sent, order), at['point']))
    if not ranked:
        raise ValueError('no algorithm allowed')
    ranked.sort(key=lambda item: item[0])
    return ranked[0][1]
