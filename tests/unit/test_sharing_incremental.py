"""Incremental bandwidth sharing gives the rates of a full recomputation.

:func:`nova_livemig.scheduling.sharing.reshare` recomputes only the flows a
start or end can affect (joined through saturated links, at or above the
changed rates). On random links and random sequences of starts and ends,
the rates it leaves on every running flow must be the max-min fair rates
of :func:`~nova_livemig.scheduling.sharing.max_min_fair` over all of them.
"""

import random

import hypothesis
from hypothesis import strategies as st
import pytest

from nova_livemig.scheduling import sharing


class Flow:
    def __init__(self, name, links):
        self.name = name
        self.links = links
        self.rate = None
        self.state = 'running'

    def __repr__(self):
        return f'Flow({self.name}, {self.links}, {self.rate})'


def apply_event(flows_on_link, capacity, load, started=(), ended=()):
    """What the simulation does at an event: ended flows leave their links
    (and take their rate off the load), started ones join; then reshare
    with the lowest changed rate."""
    below = float('inf')
    links = set()
    for f in ended:
        below = min(below, f.rate)
        for k in f.links:
            flows_on_link[k].discard(f)
            load[k] -= f.rate
            if not flows_on_link[k]:
                load[k] = 0.0
        links.update(f.links)
    for f in started:
        for k in f.links:
            flows_on_link[k].add(f)
    for f in started:
        below = min(below, sharing.floor_gbit_s(f, flows_on_link, capacity))
        links.update(f.links)
    rates = sharing.reshare(links, flows_on_link, capacity, load,
                            below_gbit_s=below)
    for f, rate in rates.items():
        f.rate = rate
    return rates


def check_against_full(flows_on_link, capacity, load):
    running = {f for fs in flows_on_link.values() for f in fs}
    full = sharing.max_min_fair({f: f.links for f in running}, capacity)
    for f in running:
        assert f.rate == pytest.approx(full[f], rel=1e-6, abs=1e-9), (
            f, full[f])
    for k, fs in flows_on_link.items():
        carried = sum(f.rate for f in fs)
        assert carried <= capacity[k] * (1 + 1e-6) + 1e-9
        assert load[k] == pytest.approx(carried, rel=1e-6, abs=1e-6)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(st.integers(0, 2 ** 32 - 1), st.integers(2, 12),
                  st.integers(1, 60))
def test_incremental_rates_equal_full_max_min(seed, n_links, n_events):
    rng = random.Random(seed)
    capacity = {f'L{i}': rng.choice([1.0, 2.5, 10.0, 25.0, 40.0])
                for i in range(n_links)}
    keys = sorted(capacity)
    flows_on_link = {k: set() for k in keys}
    load = dict.fromkeys(keys, 0.0)
    running = []
    for i in range(n_events):
        started, ended = [], []
        for _ in range(rng.randint(0, 3)):
            links = tuple(rng.sample(keys, rng.randint(1, min(4, n_links))))
            started.append(Flow(f'f{i}.{len(started)}', links))
        for f in list(running):
            if rng.random() < 0.25:
                running.remove(f)
                f.state = 'done'
                ended.append(f)
        running.extend(started)
        apply_event(flows_on_link, capacity, load, started, ended)
        check_against_full(flows_on_link, capacity, load)


def test_a_flow_below_the_change_is_not_recomputed():
    # f1 is held to 1 Gbit/s by L1; f2 and f3 share L2 (10 Gbit/s) and f3
    # ends: only f2 is recomputed, f1 (below f3's 5 Gbit/s) keeps its rate
    capacity = {'L1': 1.0, 'L2': 10.0}
    flows_on_link = {'L1': set(), 'L2': set()}
    load = {'L1': 0.0, 'L2': 0.0}
    f1 = Flow('f1', ('L1', 'L2'))
    f2 = Flow('f2', ('L2',))
    f3 = Flow('f3', ('L2',))
    apply_event(flows_on_link, capacity, load, started=[f1, f2, f3])
    assert (f1.rate, f2.rate, f3.rate) == pytest.approx((1.0, 4.5, 4.5))
    f3.state = 'done'
    rates = apply_event(flows_on_link, capacity, load, ended=[f3])
    assert set(rates) == {f2}
    assert f2.rate == pytest.approx(9.0)
    check_against_full(flows_on_link, capacity, load)
