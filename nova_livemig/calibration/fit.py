"""Fitting the cost models' constants to migration history.

Every estimator here is robust: one migration that stalled on a busy host
must not move a constant. :func:`fit` takes history records
(:class:`~nova_livemig.history.record.Record`) and returns a
:class:`~nova_livemig.calibration.Calibration`:

``goodput_fraction``, ``setup_s``
    Theil-Sen line (the median of the pairwise slopes) through the
    completed migrations' total time against their bytes over the path's
    nominal rate: ``total_s = setup_s + bytes / (goodput * line rate)``.
``switchover_ms``
    median pause of the migrations that switched to post-copy, less the
    device state over the link.
``resident_fraction``
    median share of memory a migration found non-zero
    (:meth:`~nova_livemig.history.record.Record.resident_mib`).
``pause_backlog_mib``
    median pre-copy pause beyond the model's, times the payload rate,
    added to the backlog the model had (pre-copy runs with a dirtying
    guest, whose pause the downtime limit bounds).
``dirty_overlap``
    the overlap (:data:`OVERLAPS`) under which the model judges the most
    pre-copy runs of dirtying guests right (completed, or given up by
    the time they were aborted), ties going to the smaller time error,
    then to the larger overlap.
``migration_dirty_factor``
    median, over the completed pre-copy runs of dirtying guests, of the
    factor on the measured dirty rate that makes the model send the bytes
    the run sent.

Standard errors come from a bootstrap of the same estimator
(:data:`BOOTSTRAP` resamples, a fixed seed: the same history gives the
same file). A constant with fewer than :data:`MIN_RECORDS` usable records
keeps its default and is listed in ``defaulted`` with the reason; so are
the ones no history here can fit (the throttle response, compression).
"""

import collections
import dataclasses
import random
import statistics

from nova_livemig import calibration
from nova_livemig import cost

#: records a constant needs before it leaves its default
MIN_RECORDS = 5
#: bootstrap resamples for the standard errors
BOOTSTRAP = 40
#: at most this many records enter the pairwise Theil-Sen fit
MAX_PAIRWISE = 300
#: a guest dirtying less than this (MiB/s) is quiet: its pause is not
#: bounded by the downtime limit
QUIET_MIB_S = 1.0
#: the dirty-rate factor is searched between these
FACTOR_RANGE = (0.25, 4.0)
PRECOPY_FAMILY = ('precopy', 'autoconverge', 'compress', 'hybrid')
#: the values of ``dirty_overlap`` the fit chooses from
OVERLAPS = (0.0, 0.25, 0.5, 0.75, 1.0)


def predict(rec, params, algorithms, resident_mib=None):
    """What the model predicts for a record's migration, from what was
    known before it (the record's ``before``).

    :param rec: a :class:`~nova_livemig.history.record.Record`
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :param algorithms: ``{name: Algorithm}`` holding ``rec.algorithm``
    :param resident_mib: resident memory to assume when the record's
        ``before`` has none
    :returns: a :class:`~nova_livemig.cost.Prediction`
    """
    b = rec.before
    inp = cost.MigrationInput.for_vm(rec.vm_value(resident_mib),
                                     b.path_gbit_s, b.max_downtime_ms)
    return algorithms[rec.algorithm].predict(inp, params)


def _line_s(rec):
    """Seconds the record's bytes take at the path's nominal rate."""
    return rec.after.bytes / (rec.before.path_gbit_s * cost.GBIT)


def theil_sen(xs, ys):
    """``(slope, intercept)``: the median pairwise slope, then the median
    intercept; None when every x is the same.

    >>> theil_sen([1, 2, 3, 4, 5], [2, 4, 6, 8, 100])
    (2.0, 0.0)
    """
    slopes = [(ys[j] - ys[i]) / (xs[j] - xs[i])
              for i in range(len(xs)) for j in range(i + 1, len(xs))
              if xs[j] != xs[i]]
    if not slopes:
        return None
    slope = statistics.median(slopes)
    return slope, statistics.median(y - slope * x for x, y in zip(xs, ys))


def _bootstrap(values, estimator, rng):
    """Standard deviation of ``estimator`` over resamples; None when it
    cannot be told."""
    if len(values) < 3:
        return None
    fits = []
    for _ in range(BOOTSTRAP):
        sample = [values[rng.randrange(len(values))] for _ in values]
        out = estimator(sample)
        if out is not None:
            fits.append(out)
    return statistics.stdev(fits) if len(fits) > 2 else None


def _median_constant(values, rng):
    return calibration.Constant(
        statistics.median(values),
        _bootstrap(values, statistics.median, rng), len(values))


def _line_fit(done, rng):
    """``(goodput Constant, setup Constant)`` or None."""
    points = [(_line_s(r), r.after.total_s) for r in done]
    if len(points) > MAX_PAIRWISE:
        points = rng.sample(points, MAX_PAIRWISE)

    def goodput_setup(sample):
        line = theil_sen([p[0] for p in sample], [p[1] for p in sample])
        if line is None or line[0] <= 0:
            return None
        return 1.0 / line[0], line[1]

    best = goodput_setup(points)
    if best is None:
        return None
    boot = [goodput_setup([points[rng.randrange(len(points))]
                           for _ in points]) for _ in range(BOOTSTRAP)]
    boot = [b for b in boot if b is not None]
    err_g = statistics.stdev(b[0] for b in boot) if len(boot) > 2 else None
    err_s = statistics.stdev(b[1] for b in boot) if len(boot) > 2 else None
    goodput = min(max(best[0], 0.05), 1.0)
    setup = max(best[1], 0.0)
    return (calibration.Constant(goodput, err_g, len(points)),
            calibration.Constant(setup, err_s, len(points)))


def _rate_b_s(rec, params):
    return cost.bytes_per_s(rec.before.path_gbit_s, params)


def _dirty_factor(rec, params, algorithms):
    """The dirty-rate factor that makes the model send the record's
    bytes (bisection; the model's bytes grow with the rate), or None."""
    low, high = FACTOR_RANGE
    resident = rec.resident_mib()
    target = rec.after.bytes

    def sent(factor):
        p = dataclasses.replace(params, migration_dirty_factor=factor)
        return predict(rec, p, algorithms, resident).bytes_sent

    if sent(low) > target or sent(high) < target:
        return None
    for _ in range(25):
        mid = (low + high) / 2
        if sent(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _judged_right(rec, pred):
    """True when ``pred`` agrees with how ``rec`` ended: a completed run
    predicted to complete, an aborted one predicted not to complete by
    the time it was aborted."""
    if rec.after.completed:
        return pred.converges
    return not (pred.converges and pred.total_s <= rec.after.total_s)


def _overlap(runs, params, algorithms):
    """``(dirty_overlap, runs judged right)`` that judges ``runs`` best."""
    def score(overlap):
        p = dataclasses.replace(params, dirty_overlap=overlap)
        right = 0
        errors = []
        for r in runs:
            pred = predict(r, p, algorithms, r.resident_mib())
            right += _judged_right(r, pred)
            if r.after.completed and pred.converges:
                errors.append(abs(pred.total_s - r.after.total_s)
                              / r.after.total_s)
        error = statistics.median(errors) if errors else 0.0
        return (right, -error, overlap)

    best = max(score(o) for o in OVERLAPS)
    return best[2], best[0]


def fit(records, base, algorithms, now=None):
    """Fit the constants to history.

    :param records: :class:`~nova_livemig.history.record.Record` values
    :param base: the :class:`~nova_livemig.cost.CostParams` the records
        ran with and the defaults of what cannot be fitted
    :param algorithms: ``{name: Algorithm}``, every algorithm the records
        name (the models replayed for the pause and dirty-rate fits)
    :param now: epoch seconds to stamp the calibration with
    :returns: a :class:`~nova_livemig.calibration.Calibration`
    """
    rng = random.Random(0)
    done = [r for r in records if r.after.completed]
    constants = {}
    defaulted = {}

    def need(name, values, why):
        if len(values) >= MIN_RECORDS:
            return True
        defaulted[name] = (f'{len(values)} usable records ({why}); '
                           f'at least {MIN_RECORDS} needed')
        return False

    line = _line_fit(done, rng) if len(done) >= MIN_RECORDS else None
    if line is None:
        for name in ('goodput_fraction', 'setup_s'):
            defaulted[name] = (f'{len(done)} completed migrations (or all '
                               f'of one size and rate); at least '
                               f'{MIN_RECORDS} needed')
    else:
        constants['goodput_fraction'], constants['setup_s'] = line
    params = calibration.Calibration(constants).params(base)

    post = [r for r in done if r.after.postcopy
            and r.after.downtime_ms is not None]
    switch = [r.after.downtime_ms - params.device_state_mib * cost.MIB
              / _rate_b_s(r, params) * 1000.0 for r in post]
    if need('switchover_ms', switch, 'completed post-copy migrations'):
        c = _median_constant(switch, rng)
        constants['switchover_ms'] = c._replace(value=max(c.value, 0.0))

    fractions = [r.resident_mib() / r.before.memory_mib for r in done
                 if r.resident_mib() is not None]
    if need('resident_fraction', fractions,
            'completed migrations with page counts'):
        c = _median_constant(fractions, rng)
        constants['resident_fraction'] = c._replace(
            value=min(max(c.value, 0.01), 1.0))
    params = calibration.Calibration(constants).params(base)

    busy = [r for r in done if r.algorithm in PRECOPY_FAMILY
            and not r.after.postcopy
            and r.before.dirty_rate_mib_s >= QUIET_MIB_S]
    judged = [r for r in records if r.algorithm in PRECOPY_FAMILY
              and not r.after.postcopy and r.after.total_s is not None
              and r.before.dirty_rate_mib_s >= QUIET_MIB_S]
    # the dirty factor and the overlap move the same predictions: the
    # factor, the overlap under it, the factor again under the overlap
    for rounds in range(2):
        factors = [f for f in (_dirty_factor(r, params, algorithms)
                               for r in busy) if f is not None]
        if need('migration_dirty_factor', factors,
                'completed pre-copy migrations of dirtying guests'):
            constants['migration_dirty_factor'] = _median_constant(
                factors, rng)
        params = calibration.Calibration(constants).params(base)
        if rounds or not need('dirty_overlap', judged,
                              'pre-copy migrations of dirtying guests'):
            break
        overlap, _right = _overlap(judged, params, algorithms)
        constants['dirty_overlap'] = calibration.Constant(
            overlap, None, len(judged))
        params = calibration.Calibration(constants).params(base)

    paused = [r for r in busy if r.after.downtime_ms is not None]
    backlog = []
    for r in paused:
        pred = predict(r, params, algorithms, r.resident_mib())
        if not pred.converges:
            continue
        beyond_s = (r.after.downtime_ms - pred.downtime_ms) / 1000.0
        backlog.append(max(params.pause_backlog_mib
                           + beyond_s * _rate_b_s(r, params) / cost.MIB,
                           0.0))
    if need('pause_backlog_mib', backlog,
            'completed pre-copy migrations of dirtying guests the model '
            'says converge'):
        constants['pause_backlog_mib'] = _median_constant(backlog, rng)

    seen = collections.Counter(r.algorithm for r in done)
    for name in ('compress_ratio', 'compress_mib_s'):
        defaulted[name] = ('not fitted from history yet (needs the '
                           'compression statistics of compress migrations; '
                           f'{seen.get("compress", 0)} in this history)')
    for name in ('throttle_initial_pct', 'throttle_increment_pct'):
        defaulted[name] = 'QEMU settings, not fitted'

    by_path = {}
    setup = params.setup_s
    pairs = collections.defaultdict(list)
    for r in done:
        spent = r.after.total_s - setup
        if spent > 0:
            pairs[f'{r.source}>{r.destination}'].append(
                _line_s(r) / spent)
    for key, values in sorted(pairs.items()):
        if len(values) >= MIN_RECORDS:
            c = _median_constant(values, rng)
            by_path[key] = c._replace(value=min(max(c.value, 0.05), 1.0))
    return calibration.Calibration(
        constants=constants, defaulted=defaulted,
        evidence={name: seen.get(name, 0) for name in sorted(seen)},
        records=len(records), fitted_at=now, by_path=by_path)
