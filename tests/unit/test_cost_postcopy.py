"""Post-copy and hybrid against hand-computed values."""

import dataclasses

import pytest

from nova_livemig import cost
from nova_livemig.algorithms import hybrid
from nova_livemig.algorithms import postcopy

MIB = cost.MIB
#: no stream queued at a pre-copy pause: the hand examples are about
#: post-copy and the switch to it (see the hybrid that pauses for the
#: backlog below)
HAND = cost.CostParams(goodput_fraction=1.0, switchover_ms=5.0,
                       device_state_mib=0.5, setup_s=0.0,
                       postcopy_slowdown=0.5, pause_backlog_mib=0.0)
BW_100 = 100 * MIB / cost.GBIT
LOST = 'vm-lost-on-link-failure'


def test_postcopy_by_hand():
    # 1000 MiB at 100 MiB/s: pause = 5 ms + 0.5 MiB / 100 MiB/s = 10 ms;
    # pass = 10 s; total 10.01 s; slowdown 0.5 * 10 / 10.01 = 0.4995;
    # bytes = 1000 + 0.5 MiB. The dirty rate does not matter.
    for dirty in (0.0, 5000.0):
        r = postcopy.PostCopy().predict(
            cost.MigrationInput(1000, dirty, BW_100), HAND)
        assert r.converges and r.iterations == 0
        assert r.downtime_ms == pytest.approx(10.0)
        assert r.total_s == pytest.approx(10.01)
        assert r.slowdown == pytest.approx(0.5 * 10 / 10.01)
        assert r.bytes_sent / MIB == pytest.approx(1000.5)
        assert r.risks == (LOST,)


def test_postcopy_sends_only_resident_pages():
    # 1000 MiB, 100 resident: 100 + 900 * 0.002 = 101.8 MiB: 1.018 s pass
    r = postcopy.PostCopy().predict(
        cost.MigrationInput(1000, 0.0, BW_100, resident_mib=100), HAND)
    assert r.total_s == pytest.approx(0.01 + 1.018)


def test_hybrid_switches_after_one_pass():
    # 1000 MiB, D = 10 MiB/s, W unknown. QEMU's threshold:
    # T = 100 * (500 - 5 - 0.5/100 * 1000) / 1000 = 49 MiB. The pass sends
    # 951 MiB in 9.51 s, then syncs: 95.1 MiB dirtied, 95.1 * (1 - 49/1000)
    # = 90.4401 new: P1 = 139.4401 >= 49, so it switches: pause 10 ms,
    # pull 1.394401 s; total 9.51 + 0.01 + 1.394401 = 10.914401 s. The guest
    # misses 139.4401/1000 of its pages while they are pulled: slowdown
    # 0.5 * 0.1394401 * 1.394401 / 10.914401; bytes 951 + 139.4401 + 0.5.
    r = hybrid.Hybrid().predict(cost.MigrationInput(1000, 10.0, BW_100),
                                HAND)
    assert r.converges and r.iterations == 1
    assert r.downtime_ms == pytest.approx(10.0)
    assert r.total_s == pytest.approx(10.914401)
    assert r.slowdown == pytest.approx(
        0.5 * 0.1394401 * 1.394401 / 10.914401)
    assert r.bytes_sent / MIB == pytest.approx(1090.9401)
    assert r.risks == (LOST,)


def test_hybrid_faults_less_than_postcopy():
    p = cost.CostParams()
    inp = cost.MigrationInput(8192, 300.0, 10.0, wws_mib=2048)
    h = hybrid.Hybrid().predict(inp, p)
    pc = postcopy.PostCopy().predict(inp, p)
    assert h.risks == pc.risks == (LOST,)
    assert h.slowdown < pc.slowdown


def test_hybrid_of_a_guest_that_fits_the_pause_is_precopy():
    # With 2 MiB of stream queued at the pause (20 ms at 100 MiB/s) QEMU's
    # threshold is T = 100 * (500 - 5 - 5 - 20) / 1000 = 47 MiB.
    # 40 MiB < T: QEMU completes at its first check, before any
    # post-copy: pause 400 + 20 + 10 ms, nothing at risk.
    p = dataclasses.replace(HAND, pause_backlog_mib=2.0)
    r = hybrid.Hybrid().predict(cost.MigrationInput(40, 1.0, BW_100), p)
    assert r.risks == () and r.iterations == 0
    assert r.downtime_ms == pytest.approx(430.0)
    assert r.total_s == pytest.approx(0.43)
    # 48 MiB fit the 49 MiB threshold without the backlog, not the 47
    # with it: that guest first sends a 5 MiB step, then syncs
    assert hybrid.Hybrid().predict(
        cost.MigrationInput(48, 1.0, BW_100), HAND).iterations == 0
    assert hybrid.Hybrid().predict(
        cost.MigrationInput(48, 1.0, BW_100), p).iterations == 1


def test_hybrid_working_set_caps_what_is_left():
    # D = 100, W = 64: the pass leaves 49 MiB, 49 * 64/1000 = 3.136 of them
    # hot; the sync adds min(951, 64) * (1 - 3.136/64) = 60.864: the whole
    # working set is missing (hot = 64), P1 = 45.864 + 64 = 109.864.
    # total = 9.51 + 0.01 + 1.09864; slowdown 0.5 * 1 * 1.09864 / total
    r = hybrid.Hybrid().predict(
        cost.MigrationInput(1000, 100.0, BW_100, wws_mib=64), HAND)
    assert r.total_s == pytest.approx(10.61864)
    assert r.slowdown == pytest.approx(0.5 * 1.09864 / 10.61864)


def test_postcopy_downtime_grows_with_device_state_only():
    p = dataclasses.replace(HAND, device_state_mib=5.0)
    r = postcopy.PostCopy().predict(cost.MigrationInput(1000, 0, BW_100), p)
    assert r.downtime_ms == pytest.approx(55.0)
