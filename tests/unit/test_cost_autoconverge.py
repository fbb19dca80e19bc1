"""Auto-converge: QEMU's throttle rules and their effect on pre-copy."""

import dataclasses

import pytest

from nova_livemig import cost
from nova_livemig.algorithms import autoconverge
from nova_livemig.algorithms import precopy

MIB = cost.MIB
#: round numbers, no stream queued at the pause: the hand examples are
#: about the throttle, not the pause
HAND = cost.CostParams(goodput_fraction=1.0, switchover_ms=0.0,
                       device_state_mib=0.0, setup_s=0.0,
                       pause_backlog_mib=0.0)
BW_100 = 100 * MIB / cost.GBIT


def test_throttle_steps_like_qemu():
    # Every second high period raises it: 20, 30, ... 90, then 99 (capped).
    p = cost.CostParams()
    pct, high, seen = 0, 0, []
    for _ in range(20):
        pct, high = autoconverge.next_throttle(pct, high, 51, 100, p)
        seen.append(pct)
    assert seen[:4] == [0, 20.0, 20.0, 30.0]
    assert sorted(set(seen)) == [0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0,
                                 80.0, 90.0, 99.0]
    assert seen[-1] == 99.0


def test_throttle_count_survives_a_quiet_period():
    # QEMU only resets dirty_rate_high_cnt after throttling.
    p = cost.CostParams()
    pct, high = autoconverge.next_throttle(0, 0, 60, 100, p)     # high
    pct, high = autoconverge.next_throttle(pct, high, 10, 100, p)  # quiet
    assert (pct, high) == (0, 1)
    assert autoconverge.next_throttle(pct, high, 60, 100, p) == (20.0, 0)
    # exactly half is not above the trigger
    assert autoconverge.next_throttle(0, 1, 50, 100, p) == (0, 1)


@pytest.mark.parametrize('pct, util, expected', [
    (0, 0.3, 1.0),
    (50, 1.0, 0.5),     # CPU-bound: D * (1 - throttle)
    (50, 0.0, 0.5),     # unknown utilisation counts as CPU-bound
    (50, 0.4, 1.0),     # 50 % of the time left, 40 % needed
    (80, 0.4, 0.5),     # 20 % left of the 40 % needed
    (99, 0.1, 0.1),     # 1 % left of the 10 % needed
])
def test_guest_progress(pct, util, expected):
    assert autoconverge.guest_progress(pct, util) == pytest.approx(expected)


def test_throttle_lowers_the_dirty_rate_and_slows_the_guest():
    # 1000 MiB, D = 80 MiB/s, B = 100, T = 50, W unknown, CPU-bound guest;
    # the throttle may go to 20 % only, then the caps count.
    #  sync 1: 950 sent in 9.5 s; dirtied 760, new 760 * 0.95 = 722:
    #          P = 772; period 9.5 s: 722 > 475, high count 1
    #  sync 2: 722 sent in 7.22 s; dirtied 577.6, new 548.72: P = 598.72;
    #          548.72 > 361: throttle 20 %
    #  sync 3: 548.72 sent in 5.4872 s at D_eff = 64: dirtied 351.18,
    #          new 333.62: P = 383.62
    # With max_iterations = 1 it stops after sync 2 (the caps start at
    # 20 %): 16.72 s, no slowdown yet. With 2, after sync 3: 22.2072 s,
    # slowdown 0.2 * 5.4872 / 22.2072 = 0.049418.
    inp = cost.MigrationInput(1000, 80.0, BW_100, cpu_util=1.0)
    params = dataclasses.replace(HAND, throttle_max_pct=20.0)
    one = autoconverge.AutoConverge().predict(
        inp, dataclasses.replace(params, max_iterations=1))
    assert (one.converges, one.iterations, one.throttle_pct) == (
        False, 2, 20.0)
    assert one.total_s == pytest.approx(16.72)
    assert one.slowdown == 0.0
    two = autoconverge.AutoConverge().predict(
        inp, dataclasses.replace(params, max_iterations=2))
    assert two.iterations == 3
    assert two.total_s == pytest.approx(22.2072)
    assert two.slowdown == pytest.approx(0.049418, rel=1e-4)
    assert two.downtime_ms == pytest.approx(3836.22, rel=1e-5)


def test_no_throttle_when_quiet_equals_precopy():
    inp = cost.MigrationInput(4096, 20.0, 10.0, cpu_util=0.5)
    p = cost.CostParams()
    ac = autoconverge.AutoConverge().predict(inp, p)
    pre = precopy.PreCopy().predict(inp, p)
    assert ac.throttle_pct == 0.0
    assert (ac.total_s, ac.downtime_ms, ac.bytes_sent) == (
        pre.total_s, pre.downtime_ms, pre.bytes_sent)


def test_throttle_converges_where_precopy_cannot():
    # CPU-bound guest at 1.5 B over 1 Gbit/s: the throttle gets it below B.
    inp = cost.MigrationInput(4096, 170.0, 1.0, cpu_util=1.0)
    p = cost.CostParams()
    assert not precopy.PreCopy().predict(inp, p).converges
    r = autoconverge.AutoConverge().predict(inp, p)
    assert r.converges and r.meets(500.0)
    # 170 * (1 - x) must fall below ~114 MiB/s: x >= 40 %
    assert r.throttle_pct >= 40.0
    assert 0.0 < r.slowdown < r.throttle_pct / 100


def test_hopeless_even_at_full_throttle():
    # A guest that needs 1 % of its vCPU to dirty 5 GiB/s over 1 Gbit/s:
    # 99 % throttle leaves it all it needs.
    inp = cost.MigrationInput(4096, 5000.0, 1.0, cpu_util=0.01)
    r = autoconverge.AutoConverge().predict(inp, cost.CostParams())
    assert not r.converges
    assert r.throttle_pct == 99.0
