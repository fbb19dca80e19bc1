"""The pre-copy model against hand-computed values and its properties.

Most hand examples use round numbers: a payload rate of exactly 100 MiB/s
(goodput 1.0 over 0.8388608 Gbit/s), no setup, switchover, device state
or stream queued at the pause, so QEMU's threshold is
T = 100 MiB/s * 0.5 s = 50 MiB and a sync step (50 ms) sends 5 MiB.
The pause with its queued stream is computed by hand below and in
``test_cost_physics``.
"""

import dataclasses

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from nova_livemig import cost
from nova_livemig import exception
from nova_livemig.algorithms import precopy

MIB = cost.MIB
HAND = cost.CostParams(goodput_fraction=1.0, switchover_ms=0.0,
                       device_state_mib=0.0, setup_s=0.0,
                       pause_backlog_mib=0.0)
BW_100 = 100 * MIB / cost.GBIT  # Gbit/s that carry 100 MiB/s of payload


def predict(params=HAND, **kw):
    kw.setdefault('bandwidth_gbit_s', BW_100)
    return precopy.PreCopy().predict(cost.MigrationInput(**kw), params)


def test_quiet_guest_iterates_past_the_classic_rule():
    # 1000 MiB, all resident, D = 1 MiB/s, W unknown (= all 1000 MiB).
    # Classic rule: round 1 sends 1000 MiB in 10 s, 10 MiB are dirtied,
    # 10 <= T = 50: stop after 1 round, 100 ms of downtime.
    # QEMU: it syncs once less than T = 50 is unsent.
    #  sync 1: sent 950 in 9.5 s; 50 pending stay; dirtied 9.5, of which
    #          9.5 * (1 - 50/1000) = 9.025 new: P = 59.025 >= 50
    #  sync 2: sent 9.025 in 0.09025 s; dirtied 0.09025, new
    #          0.09025 * 0.95 = 0.0857375: P = 50.0857375 >= 50
    #  sync 3: sent 5 (one step) in 0.05 s; 45.0857375 stay; new
    #          0.05 * (1 - 45.0857375/1000) = 0.0477457: P = 45.1334832
    #          < 50: complete, downtime 451.33 ms
    #  total = 9.5 + 0.09025 + 0.05 + 0.4513348 = 10.0915848 s
    #  bytes = 950 + 9.025 + 5 + 45.1334832 = 1009.1584832 MiB
    r = predict(memory_mib=1000, dirty_rate_mib_s=1.0)
    assert r.converges
    assert r.iterations == 3
    assert r.downtime_ms == pytest.approx(451.3348, rel=1e-5)
    assert r.total_s == pytest.approx(10.0915848, rel=1e-6)
    assert r.bytes_sent / MIB == pytest.approx(1009.1584832, rel=1e-6)
    assert r.slowdown == 0.0
    assert r.risks == ()


def test_hot_working_set_resent_whole():
    # 1000 MiB, W = 10 MiB, D = 100 MiB/s = B: the working set is
    # rewritten in 0.1 s, faster than the first pass.
    #  start:  cold 990, hot 10
    #  sync 1: sent 950 (9.5 s), keep 5 %: cold 49.5, hot 0.5; dirtied
    #          min(950, 10) = 10, new 10 * (1 - 0.5/10) = 9.5: hot 10
    #          (whole W is back): P = 59.5
    #  sync 2: sent 9.5 (0.095 s), keep 50/59.5: cold 41.59664,
    #          hot 8.40336; dirtied 9.5, new 9.5 * (1 - 0.840336)
    #          = 1.516807: P = 51.516807
    #  sync 3: sent 5 (0.05 s), keep 46.516807/51.516807 = 0.902943:
    #          cold 37.55930, hot 8.957348; new 5 * (1 - 0.8957348)
    #          = 0.521326: P = 47.037975 < 50: downtime 470.38 ms
    #  total = 9.5 + 0.095 + 0.05 + 0.47038 = 10.11538 s
    r = predict(memory_mib=1000, dirty_rate_mib_s=100.0, wws_mib=10)
    assert r.converges
    assert r.iterations == 3
    assert r.downtime_ms == pytest.approx(470.38, rel=1e-4)
    assert r.total_s == pytest.approx(10.11538, rel=1e-5)
    assert r.bytes_sent / MIB == pytest.approx(
        950 + 9.5 + 5 + 47.037975, rel=1e-6)


def test_zero_pages_cost_a_header():
    # 1000 MiB, 200 resident, D = 0: the first pass sends 200 MiB of pages
    # and 800 * 0.002 = 1.6 MiB of zero-page headers: 201.6 MiB in
    # 2.016 s, however the last 50 MiB split between the pass and the pause.
    r = predict(memory_mib=1000, dirty_rate_mib_s=0.0, resident_mib=200)
    assert r.converges
    assert r.total_s == pytest.approx(2.016)
    assert r.bytes_sent / MIB == pytest.approx(201.6)
    full = predict(memory_mib=1000, dirty_rate_mib_s=0.0)
    assert full.total_s == pytest.approx(10.0)


def test_dirty_rate_at_bandwidth_never_converges():
    # D = B = 100 MiB/s, W unknown: each sync brings back
    # P = 50 + 0.95 * (P - 50), never below T. The data cap
    # (5 * 1000 MiB) stops it:
    #  sent 950, 902.5, 857.375, 814.50625, 773.78094, 735.09189:
    #  after 6 syncs 5033.25 MiB >= 5000 in 50.3325 s; the 748.34 MiB
    #  pending would need a 7.48 s pause.
    r = predict(memory_mib=1000, dirty_rate_mib_s=100.0)
    assert not r.converges
    assert r.iterations == 6
    assert r.total_s == pytest.approx(50.3325, rel=1e-5)
    assert r.bytes_sent / MIB == pytest.approx(5033.254, rel=1e-5)
    assert r.downtime_ms == pytest.approx(7483.37, rel=1e-5)
    assert not r.meets(500)


@pytest.mark.parametrize('wws_mib, converges', [
    (40.0, True),     # hot W fits T = 50: resent whole, then paused
    (60.0, False),    # hot W above T: the pending set never falls below T
])
def test_hot_working_set_against_threshold(wws_mib, converges):
    # D = 1000 MiB/s = 10 B rewrites W in well under a step.
    r = predict(memory_mib=4000, dirty_rate_mib_s=1000.0, wws_mib=wws_mib)
    assert r.converges is converges


def test_iteration_cap():
    # The quiet example needs 3 syncs; with a cap of 2 it is given up
    # after sync 2 (9.5 + 0.09025 s), with 50.0857 MiB pending.
    params = cost.CostParams(**{**HAND.__dict__, 'max_iterations': 2})
    r = predict(params, memory_mib=1000, dirty_rate_mib_s=1.0)
    assert not r.converges
    assert r.iterations == 2
    assert r.total_s == pytest.approx(9.59025)
    assert r.downtime_ms == pytest.approx(500.857375, rel=1e-6)


def test_data_cap():
    # D = 50 MiB/s, W unknown: P after sync 1 = 50 + 475 * 0.95 = 501.25,
    # sync 2 sends 451.25: 1401.25 MiB sent in all. A cap of 1.2 x memory
    # (1200 MiB) stops it there; the default cap lets it converge.
    capped = cost.CostParams(**{**HAND.__dict__, 'max_data_factor': 1.2})
    r = predict(capped, memory_mib=1000, dirty_rate_mib_s=50.0)
    assert not r.converges
    assert r.iterations == 2
    assert r.bytes_sent / MIB == pytest.approx(1401.25)
    assert predict(memory_mib=1000, dirty_rate_mib_s=50.0).converges


def test_downtime_near_the_target_not_near_zero():
    # Default params: the executor gives QEMU 500 - 4 - 0.05 MiB / B ms,
    # so the pause lands below the target, but not far below it.
    for memory_mib, dirty in ((1024, 1.0), (4096, 20.0), (16384, 200.0)):
        r = precopy.PreCopy().predict(
            cost.MigrationInput(memory_mib, dirty, 10.0), cost.CostParams())
        assert r.converges
        assert 400.0 < r.downtime_ms <= 500.0


def test_memory_that_fits_the_downtime_goes_in_one_pause():
    # 40 MiB < T = 50 MiB: QEMU completes at its first check.
    r = predict(memory_mib=40, dirty_rate_mib_s=10.0)
    assert r.converges and r.iterations == 0
    assert r.downtime_ms == pytest.approx(400.0)
    # 2 MiB queued at the pause drain in 20 ms: QEMU's limit is 480 ms,
    # T = 48 MiB, 40 MiB still fit; the pause is 400 + 20 ms
    queued = dataclasses.replace(HAND, pause_backlog_mib=2.0)
    r = predict(queued, memory_mib=40, dirty_rate_mib_s=10.0)
    assert r.converges and r.iterations == 0
    assert r.downtime_ms == pytest.approx(420.0)
    assert r.total_s == pytest.approx(0.42)


def test_rejects_unusable_input():
    with pytest.raises(exception.InvalidInput, match='bandwidth_gbit_s'):
        predict(memory_mib=1000, dirty_rate_mib_s=1.0, bandwidth_gbit_s=0.0)
    with pytest.raises(exception.InvalidInput, match='wws_mib'):
        predict(memory_mib=1000, dirty_rate_mib_s=1.0, wws_mib=0.0)


inputs = st.fixed_dictionaries({
    'memory_mib': st.floats(64, 262144),
    'dirty_rate_mib_s': st.floats(0, 5000),
    'bandwidth_gbit_s': st.floats(0.05, 200),
    'max_downtime_ms': st.sampled_from([50.0, 300.0, 500.0, 2000.0]),
    'wws_fraction': st.one_of(st.none(), st.floats(0.001, 1.0)),
    'resident_fraction': st.one_of(st.none(), st.floats(0.01, 1.0)),
})


def _input(d, **override):
    d = {**d, **override}
    mem = d['memory_mib']
    wf, rf = d['wws_fraction'], d['resident_fraction']
    return cost.MigrationInput(
        memory_mib=mem, dirty_rate_mib_s=d['dirty_rate_mib_s'],
        bandwidth_gbit_s=d['bandwidth_gbit_s'],
        max_downtime_ms=d['max_downtime_ms'],
        wws_mib=None if wf is None else wf * mem,
        resident_mib=None if rf is None else rf * mem)


@settings(max_examples=200, deadline=None)
@given(inputs, st.floats(1.0, 4.0))
def test_more_bandwidth_never_takes_longer(d, factor):
    p = cost.CostParams()
    slow = precopy.PreCopy().predict(_input(d), p)
    fast = precopy.PreCopy().predict(
        _input(d, bandwidth_gbit_s=d['bandwidth_gbit_s'] * factor), p)
    if slow.converges:
        assert fast.converges
        assert fast.total_s <= slow.total_s * (1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(inputs, st.floats(1.0, 4.0))
def test_more_dirtying_never_helps(d, factor):
    p = cost.CostParams()
    calm = precopy.PreCopy().predict(_input(d), p)
    busy = precopy.PreCopy().predict(
        _input(d, dirty_rate_mib_s=d['dirty_rate_mib_s'] * factor), p)
    if busy.converges:
        assert calm.converges
        assert busy.total_s >= calm.total_s * (1 - 1e-9)
        assert busy.bytes_sent >= calm.bytes_sent * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(inputs, st.floats(1.0, 3.0))
def test_dirtying_at_or_above_bandwidth_never_converges(d, factor):
    # W unknown and memory all resident and well above T (at least
    # 10 T): D >= B never
    # converges; T / memory is the chance a dirtied page is pending anyway.
    p = cost.CostParams()
    rate_mib_s = cost.bytes_per_s(d['bandwidth_gbit_s'], p) / MIB
    threshold_mib = rate_mib_s * d['max_downtime_ms'] / 1000
    memory = max(d['memory_mib'], 10 * threshold_mib)
    r = precopy.PreCopy().predict(_input(
        d, memory_mib=memory, wws_fraction=None, resident_fraction=None,
        dirty_rate_mib_s=rate_mib_s * factor), p)
    assert not r.converges
