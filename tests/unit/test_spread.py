"""The spread of host utilisation and the gain of a move."""

import random

import pytest

from nova_livemig.policies import spread


@pytest.mark.parametrize('seed', range(20))
def test_gain_is_the_fall_in_the_sum_of_squares(seed):
    rng = random.Random(seed)
    vcpus = {f'h{i}': rng.choice([16, 32, 64, 128]) for i in range(8)}
    busy = {h: rng.uniform(0, v) for h, v in vcpus.items()}
    src, dst = rng.sample(sorted(vcpus), 2)
    moved = rng.uniform(0, busy[src])
    before = {h: busy[h] / vcpus[h] for h in vcpus}
    after = dict(before)
    after[src] -= moved / vcpus[src]
    after[dst] += moved / vcpus[dst]
    mean = sum(before.values()) / len(before)
    gain = spread.spread_gain(before[src], moved / vcpus[src], before[dst],
                              moved / vcpus[dst], mean, len(before))
    assert gain == pytest.approx(spread.sum_sq(before)
                                 - spread.sum_sq(after), abs=1e-12)


def test_moving_a_whole_load_to_an_idle_host_gains_nothing():
    # the same utilisations, swapped between two hosts of one size
    assert spread.spread_gain(0.4, 0.4, 0.0, 0.4, mean=0.2,
                              n_hosts=2) == pytest.approx(0.0)


def test_spread_of_nothing_is_zero():
    assert spread.spread({}) == 0.0
    assert spread.sum_sq({}) == 0.0
