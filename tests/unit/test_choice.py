"""The ``auto`` choice: per VM, robust to the dirty-rate error."""

import dataclasses

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig import exception
from nova_livemig import model
from nova_livemig import plan
from nova_livemig.algorithms import choice

ALL = ('precopy', 'autoconverge', 'compress', 'postcopy', 'hybrid')
ALGOS = algorithms.load_algorithms(ALL)
OPTS = plan.PlanningOptions(algorithms=ALL)
NO_POSTCOPY = dataclasses.replace(
    OPTS, algorithms=('precopy', 'autoconverge', 'compress'))
ONLY_PRECOPY = dataclasses.replace(OPTS, algorithms=('precopy',))


def vm(memory_mib=4096, dirty=10.0, **kw):
    kw.setdefault('cpu_util', 0.5)
    return model.Vm(id='vm', host='a', vcpus=2, memory_mib=memory_mib,
                    dirty_rate_mib_s=dirty, **kw)


def test_quiet_vm_gets_precopy():
    assert choice.choose(vm(dirty=10.0), 10.0, OPTS, ALGOS).algorithm == (
        'precopy')


def test_fast_dirtier_on_slow_link_gets_postcopy_when_allowed():
    # The testbed guest: 256 MiB, 40 MiB/s, 200 Mbit/s.
    busy = vm(memory_mib=256, dirty=40.0, cpu_util=0.1)
    got = choice.choose(busy, 0.2, OPTS, ALGOS)
    assert got.algorithm in ('postcopy', 'hybrid')
    assert got.meets(OPTS.max_downtime_ms)
    assert cost.RISK_VM_LOST in got.risks


def test_fast_dirtier_without_postcopy_gets_autoconverge():
    busy = vm(memory_mib=256, dirty=40.0, cpu_util=0.1)
    got = choice.choose(busy, 0.2, NO_POSTCOPY, ALGOS)
    assert got.algorithm == 'autoconverge'
    assert got.converges and got.throttle_pct >= 90.0


def test_nothing_converges_without_postcopy_or_throttle():
    busy = vm(memory_mib=256, dirty=40.0, cpu_util=0.1)
    opts = dataclasses.replace(OPTS, algorithms=('precopy', 'compress'))
    got = choice.choose(busy, 0.2, opts, ALGOS)
    assert not got.converges
    assert not got.meets(opts.max_downtime_ms)


def test_point_estimate_under_bandwidth_is_not_enough():
    # 10 Gbit/s carries 1144 MiB/s. 1000 MiB/s converges at the point
    # estimate, but 1000 * 1.25 = 1250 MiB/s does not: no pre-copy. (With
    # post-copy allowed it would win anyway, being faster: leave it out.)
    opts = dataclasses.replace(OPTS, algorithms=('precopy', 'autoconverge'))
    rate = cost.bytes_per_s(10.0, OPTS.params) / cost.MIB
    edgy = vm(dirty=1000.0)
    assert edgy.dirty_rate_mib_s < rate < 1.25 * edgy.dirty_rate_mib_s
    at_point = ALGOS['precopy'].predict(cost.MigrationInput.for_vm(
        edgy, 10.0, OPTS.max_downtime_ms), OPTS.params)
    assert at_point.meets(OPTS.max_downtime_ms)
    got = choice.choose(edgy, 10.0, opts, ALGOS)
    assert got.algorithm == 'autoconverge'
    assert got.meets(OPTS.max_downtime_ms)
    # Trusting the point estimate (no error) would have taken pre-copy.
    exact = dataclasses.replace(opts, dirty_rate_rel_err=0.0)
    assert choice.choose(edgy, 10.0, exact, ALGOS).algorithm == 'precopy'


def test_fragile_choice_is_flagged():
    # Only pre-copy allowed, and it holds at the point estimate only.
    got = choice.choose(vm(dirty=1000.0), 10.0, ONLY_PRECOPY, ALGOS)
    assert got.algorithm == 'precopy'
    assert cost.RISK_MAY_NOT_CONVERGE in got.risks


def test_measured_spread_sets_the_band():
    v = vm(dirty=100.0, dirty_rate_err_mib_s=10.0)
    assert choice.dirty_rate_bounds(v, OPTS) == (80.0, 100.0, 120.0)
    assert choice.dirty_rate_bounds(vm(dirty=100.0), OPTS) == (
        75.0, 100.0, 125.0)
    assert choice.dirty_rate_bounds(
        vm(dirty=10.0, dirty_rate_err_mib_s=8.0), OPTS)[0] == 0.0


def test_a_precise_measurement_allows_precopy():
    # Same 1000 MiB/s VM, measured to +-10 MiB/s: the band (980-1020)
    # converges.
    precise = vm(dirty=1000.0, dirty_rate_err_mib_s=10.0)
    opts = dataclasses.replace(OPTS, algorithms=('precopy', 'autoconverge'))
    assert choice.choose(precise, 10.0, opts, ALGOS).algorithm == 'precopy'


def test_near_ties_keep_the_configured_order():
    # A quiet VM: hybrid completes as pre-copy, within 1 % of it.
    quiet = vm(dirty=10.0)
    pre = ALGOS['precopy'].predict(cost.MigrationInput.for_vm(
        quiet, 10.0, 500.0), OPTS.params)
    hyb = ALGOS['hybrid'].predict(cost.MigrationInput.for_vm(
        quiet, 10.0, 500.0), OPTS.params)
    assert abs(pre.total_s - hyb.total_s) < 0.01 * pre.total_s
    for order in (('precopy', 'hybrid'), ('hybrid', 'precopy')):
        opts = dataclasses.replace(OPTS, algorithms=order,
                                   postcopy_min_saving=0.0)
        assert choice.choose(quiet, 10.0, opts, ALGOS).algorithm == order[0]


def test_postcopy_must_save_enough_to_take_its_risk():
    # A moderately busy VM on 1 Gbit/s: post-copy is faster than pre-copy
    # (one pass instead of several), but not by 20 %; only when that bar
    # is lowered does the risky algorithm win. With the defaults of
    # doc/calibration.md pre-copy takes about 11 % longer at 12 MiB/s (the
    # bar is crossed near 20 MiB/s; far from it, so that the scenario does
    # not hang on the constants' last digit).
    busy = vm(memory_mib=4096, dirty=12.0, dirty_rate_err_mib_s=0.5)
    inp = cost.MigrationInput.for_vm(busy, 1.0, 500.0)
    pre = ALGOS['precopy'].predict(inp, OPTS.params)
    post = ALGOS['postcopy'].predict(inp, OPTS.params)
    assert pre.meets(500.0) and post.total_s < pre.total_s
    assert post.total_s > pre.total_s / 1.2
    opts = dataclasses.replace(OPTS, algorithms=('precopy', 'postcopy'))
    assert choice.choose(busy, 1.0, opts, ALGOS).algorithm == 'precopy'
    eager = dataclasses.replace(opts, postcopy_min_saving=0.0)
    assert choice.choose(busy, 1.0, eager, ALGOS).algorithm == 'postcopy'
    # A busier VM: post-copy saves more than 20 % (pre-copy takes about
    # 70 % longer) and wins by default.
    busier = vm(memory_mib=4096, dirty=50.0, dirty_rate_err_mib_s=0.5)
    assert choice.choose(busier, 1.0, opts, ALGOS).algorithm == 'postcopy'


def test_a_later_algorithm_wins_when_clearly_faster():
    busy = vm(memory_mib=256, dirty=40.0, cpu_util=0.1)
    opts = dataclasses.replace(OPTS, algorithms=('autoconverge',
                                                 'postcopy'))
    assert choice.choose(busy, 0.2, opts, ALGOS).algorithm == 'postcopy'


def test_no_loaded_algorithm():
    with pytest.raises(exception.InvalidInput, match='planner.algorithms'):
        choice.choose(vm(), 10.0, OPTS, {})


@settings(max_examples=150, deadline=None)
@given(memory=st.sampled_from([512, 2048, 8192, 32768]),
       dirty=st.floats(0.0, 3000.0),
       bandwidth=st.sampled_from([0.2, 1.0, 10.0, 25.0, 100.0]),
       util=st.floats(0.05, 1.0),
       allowed=st.sampled_from([ALL, ('precopy', 'autoconverge',
                                      'compress'), ('precopy',)]),
       where=st.floats(0.0, 1.0))
def test_robust_choice_holds_across_the_band(memory, dirty, bandwidth, util,
                                             allowed, where):
    v = vm(memory_mib=memory, dirty=dirty, cpu_util=util)
    opts = dataclasses.replace(OPTS, algorithms=allowed)
    got = choice.choose(v, bandwidth, opts, ALGOS)
    assert got.algorithm in allowed
    if not got.meets(opts.max_downtime_ms):
        # nothing allowed meets it even at the point estimate
        for name in allowed:
            assert not ALGOS[name].predict(cost.MigrationInput.for_vm(
                v, bandwidth, opts.max_downtime_ms,
                max_migration_s=opts.max_migration_s), opts.params).meets(
                    opts.max_downtime_ms)
        return
    if cost.RISK_MAY_NOT_CONVERGE in got.risks:
        return
    low, _, high = choice.dirty_rate_bounds(v, opts)
    rate = low + where * (high - low)
    again = ALGOS[got.algorithm].predict(cost.MigrationInput.for_vm(
        v, bandwidth, opts.max_downtime_ms, dirty_rate_mib_s=rate),
        opts.params)
    assert again.meets(opts.max_downtime_ms)


@settings(max_examples=100, deadline=None)
@given(dirty=st.floats(0.0, 2000.0), bandwidth=st.floats(0.5, 50.0))
def test_postcopy_allowed_always_meets_the_target(dirty, bandwidth):
    got = choice.choose(vm(dirty=dirty), bandwidth, OPTS, ALGOS)
    assert got.meets(OPTS.max_downtime_ms)
    assert cost.RISK_MAY_NOT_CONVERGE not in got.risks
