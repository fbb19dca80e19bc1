"""QEMU's downtime limit for a downtime target: the one formula the cost
models assume and the agent and the drivers set
(:mod:`nova_livemig.algorithms.downtime`)."""

import dataclasses

import pytest

from nova_livemig import cost
from nova_livemig.algorithms import downtime
from nova_livemig.algorithms import precopy
from tests.unit import fakehosts

#: 5 ms of switchover, 0.05 MiB of device state and 2 MiB of stream
#: queued when the guest stops
PARAMS = cost.CostParams(switchover_ms=5.0, device_state_mib=0.05,
                         pause_backlog_mib=2.0)


def _step(max_downtime_ms=500.0, bandwidth_mib_s=25.0, **predicted):
    step = fakehosts.step()
    return dataclasses.replace(
        step, max_downtime_ms=max_downtime_ms,
        bandwidth_mib_s=bandwidth_mib_s,
        predicted=dict(step.predicted, **predicted))


def test_the_limit_leaves_room_for_the_switchover_and_device_state():
    # 500 ms target, 5 ms switchover, 0.05 MiB of device state at
    # 25 MiB/s (2 ms) and 2 MiB of queued stream (80 ms): QEMU gets 413 ms
    assert downtime.downtime_limit_ms(
        500, 25 * cost.MIB, PARAMS) == pytest.approx(413.0)
    # without a backlog, the switchover and device state only
    no_backlog = dataclasses.replace(PARAMS, pause_backlog_mib=0.0)
    assert downtime.downtime_limit_ms(
        500, 25 * cost.MIB, no_backlog) == pytest.approx(493.0)
    # no rate known: the switchover only
    assert downtime.downtime_limit_ms(500, 0.0, PARAMS) == 495.0
    # a target the pause alone exceeds leaves nothing
    assert downtime.downtime_limit_ms(4, 25 * cost.MIB, PARAMS) == 0.0


def test_a_step_gets_whole_ms_and_never_zero():
    # 500 - 5 - 2 - 80 at 25 MiB/s
    assert downtime.step_downtime_limit_ms(_step(), PARAMS) == 413
    assert downtime.step_downtime_limit_ms(_step(4.0), PARAMS) == 1
    assert downtime.step_downtime_limit_ms(_step(6.5), PARAMS) == 1
    # an 86.5 ms target is below the 87 ms the pause takes beyond the
    # pages (79.5 would be left without the backlog)
    assert downtime.step_downtime_limit_ms(_step(86.5), PARAMS) == 1
    # 1 MiB/s: 3000 - 5 - 50 ms of device state - 2000 ms of backlog
    assert downtime.step_downtime_limit_ms(_step(3000.0, 1.0),
                                           PARAMS) == 945
    # exactly 233 - 5 - 100 ms (no backlog), though the float sum comes
    # out a hair below: float noise must not cut it to 127
    no_backlog = dataclasses.replace(PARAMS, pause_backlog_mib=0.0)
    assert downtime.downtime_limit_ms(233.0, 0.5 * cost.MIB,
                                      no_backlog) < 128
    assert downtime.step_downtime_limit_ms(_step(233.0, 0.5),
                                           no_backlog) == 128


def test_without_a_cap_the_rate_is_the_predicted_one():
    # 100 MiB predicted in 2 s: 50 MiB/s, 1 ms of device state and
    # 40 ms of backlog: 500 - 5 - 1 - 40
    step = _step(bandwidth_mib_s=0.0, bytes=100 * cost.MIB, total_s=2.0)
    assert downtime.step_rate_mib_s(step) == 50.0
    assert downtime.step_downtime_limit_ms(step, PARAMS) == 454
    # nothing predicted to go by: the switchover only
    step = _step(bandwidth_mib_s=0.0, bytes=0, total_s=0.0)
    assert downtime.step_rate_mib_s(step) == 0.0
    assert downtime.step_downtime_limit_ms(step, PARAMS) == 495


def test_the_model_waits_for_what_the_limit_lets_through():
    # pre-copy stops once the pending bytes fit the limit at the link's
    # rate; a converged pre-copy's pause then sits just under the target
    inp = cost.MigrationInput(memory_mib=4096, dirty_rate_mib_s=20,
                              bandwidth_gbit_s=10, max_downtime_ms=300)
    r = precopy.PreCopy().predict(inp, PARAMS)
    assert r.converges
    assert 250.0 < r.downtime_ms <= 300.0
