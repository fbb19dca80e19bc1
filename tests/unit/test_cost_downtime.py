"""QEMU's downtime limit for a downtime target: the one formula the cost
models assume and the agent and the drivers set
(:mod:`nova_livemig.algorithms.downtime`)."""

import dataclasses

import pytest

from nova_livemig import cost
from nova_livemig.algorithms import downtime
from nova_livemig.algorithms import precopy
from tests.unit import fakehosts

#: 5 ms of switchover and 0.05 MiB of device state
PARAMS = cost.CostParams(switchover_ms=5.0, device_state_mib=0.05)


def _step(max_downtime_ms=500.0, bandwidth_mib_s=25.0, **predicted):
    step = fakehosts.step()
    return dataclasses.replace(
        step, max_downtime_ms=max_downtime_ms,
        bandwidth_mib_s=bandwidth_mib_s,
        predicted=dict(step.predicted, **predicted))


def test_the_limit_leaves_room_for_the_switchover_and_device_state():
    # 500 ms target, 5 ms switchover, 0.05 MiB of device state at
    # 25 MiB/s (2 ms): QEMU gets 493 ms
    assert downtime.downtime_limit_ms(
        500, 25 * cost.MIB, PARAMS) == pytest.approx(493.0)
    # no rate known: the switchover only
    assert downtime.downtime_limit_ms(500, 0.0, PARAMS) == 495.0
    # a target the pause alone exceeds leaves nothing
    assert downtime.downtime_limit_ms(4, 25 * cost.MIB, PARAMS) == 0.0


def test_a_step_gets_whole_ms_and_never_zero():
    assert downtime.step_downtime_limit_ms(_step(), PARAMS) == 493
    assert downtime.step_downtime_limit_ms(_step(4.0), PARAMS) == 1
    assert downtime.step_downtime_limit_ms(_step(6.5), PARAMS) == 1
    assert downtime.step_downtime_limit_ms(_step(1000.0, 1.0),
                                           PARAMS) == 945
    # exactly 233 - 5 - 100 ms: float noise must not cut it to 127
    assert downtime.step_downtime_limit_ms(_step(233.0, 0.5), PARAMS) == 128


def test_without_a_cap_the_rate_is_the_predicted_one():
    # 100 MiB predicted in 2 s: 50 MiB/s, 1 ms of device state
    step = _step(bandwidth_mib_s=0.0, bytes=100 * cost.MIB, total_s=2.0)
    assert downtime.step_rate_mib_s(step) == 50.0
    assert downtime.step_downtime_limit_ms(step, PARAMS) == 494
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
