"""Compression: fewer bytes on the wire, pages capped by the CPU."""

import dataclasses

import pytest

from nova_livemig import cost
from nova_livemig.algorithms import compress
from nova_livemig.algorithms import precopy

MIB = cost.MIB
HAND = cost.CostParams(goodput_fraction=1.0, switchover_ms=0.0,
                       device_state_mib=0.0, setup_s=0.0,
                       compress_ratio=0.5, compress_mib_s=400.0,
                       pause_backlog_mib=2.0)


def bw(mib_s):
    return mib_s * MIB / cost.GBIT


@pytest.mark.parametrize('link, wire, raw', [
    (100, 100, 200),    # link-bound: pages drain at link / ratio
    (200, 200, 400),    # exactly balanced
    (1000, 200, 400),   # CPU-bound: 400 MiB/s of pages, 200 on the wire
])
def test_page_rates(link, wire, raw):
    got = compress.page_rates(link * MIB, HAND)
    assert [g / MIB for g in got] == pytest.approx([wire, raw])


def test_quiet_guest_by_hand():
    # 1000 MiB, D = 0 over a 100 MiB/s link: pages drain at 200 MiB/s, so
    # 5.0 s of pages, 500 MiB on the wire. The 2 MiB of stream queued
    # when the guest stops drain at the wire's 100 MiB/s: 20 ms more, and
    # QEMU's limit is 500 - 20 = 480 ms. Its threshold is measured on the
    # wire (100 MiB/s * 0.48 s = 48 MiB of raw pages), so the pause is at
    # most 48 / 200 s + 20 ms = 260 ms, about half the target.
    r = compress.Compress().predict(
        cost.MigrationInput(1000, 0.0, bw(100)), HAND)
    assert r.converges
    assert r.total_s == pytest.approx(5.0 + 0.02)
    assert r.bytes_sent / MIB == pytest.approx(500.0)
    assert 20.0 < r.downtime_ms <= 260.0


def test_no_compression_is_precopy():
    p = dataclasses.replace(HAND, compress_ratio=1.0, compress_mib_s=1e9)
    inp = cost.MigrationInput(4096, 60.0, bw(300), wws_mib=512)
    a = compress.Compress().predict(inp, p)
    b = precopy.PreCopy().predict(inp, p)
    assert (a.total_s, a.downtime_ms, a.bytes_sent, a.iterations) == (
        pytest.approx(b.total_s), pytest.approx(b.downtime_ms),
        b.bytes_sent, b.iterations)


def test_helps_on_slow_links_hurts_on_fast_ones():
    p = cost.CostParams()
    for memory, dirty in ((4096, 10.0), (8192, 50.0)):
        slow = cost.MigrationInput(memory, dirty, 1.0)
        fast = cost.MigrationInput(memory, dirty, 25.0)
        assert (compress.Compress().predict(slow, p).total_s
                < precopy.PreCopy().predict(slow, p).total_s)
        assert (compress.Compress().predict(fast, p).total_s
                > precopy.PreCopy().predict(fast, p).total_s)


def test_fewer_bytes_on_the_wire():
    p = cost.CostParams()
    inp = cost.MigrationInput(4096, 5.0, 10.0)
    a = compress.Compress().predict(inp, p)
    b = precopy.PreCopy().predict(inp, p)
    assert a.bytes_sent < 0.6 * b.bytes_sent
