"""``compress``: pre-copy with compressed pages (multifd with zstd).

Pages cost ``compress_ratio`` of their size on the wire, but a migration
cannot compress faster than ``compress_mib_s`` of raw pages. The payload
rate on the wire and the rate at which raw pending pages drain are

    ``wire = min(B, C * r)``,   ``raw = wire / r``

(``B`` the link's payload rate, ``C`` the compression rate, ``r`` the
ratio). QEMU measures its threshold on the wire but compares it with raw
pending pages, so ``T = wire * limit`` and the final pause lasts
``P / raw + switchover``. Everything else is
:func:`~nova_livemig.algorithms.precopy.simulate`, with raw page bytes.
Compression helps when ``B < C * r`` (the link is the bottleneck: pages
drain up to ``1 / r`` times faster) and hurts when ``B > C``, where the CPU
drains pages slower than the link would.
"""

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig.algorithms import downtime
from nova_livemig.algorithms import precopy


def page_rates(link_bytes_s, params):
    """Payload rate on the wire and drain rate of raw pages, bytes/s.

    :param link_bytes_s: the link's payload rate
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :returns: ``(wire_bytes_s, raw_bytes_s)``

    With ratio 0.5 and 400 MiB/s of compression: a 100 MiB/s link drains
    200 MiB/s of pages; a 1000 MiB/s link only 400 MiB/s.

    >>> p = cost.CostParams(compress_ratio=0.5, compress_mib_s=400)
    >>> [r / cost.MIB for r in page_rates(100 * cost.MIB, p)]
    [100.0, 200.0]
    >>> [r / cost.MIB for r in page_rates(1000 * cost.MIB, p)]
    [200.0, 400.0]
    """
    ratio = params.compress_ratio
    wire = params.compress_mib_s * cost.MIB * ratio
    wire = min(wire, link_bytes_s)
    return wire, wire / ratio


class Compress(algorithms.Algorithm):
    """Pre-copy with compression.

    A 4 GiB guest dirtying 100 MiB/s: over 1 Gbit/s it converges compressed
    (pages drain at 229 MiB/s) where plain pre-copy gives up; over
    10 Gbit/s compression (14.4 s) is slower than plain pre-copy (4.7 s).

    >>> p = cost.CostParams()
    >>> slow = cost.MigrationInput(4096, 100, 1.0)
    >>> fast = cost.MigrationInput(4096, 100, 10.0)
    >>> Compress().predict(slow, p).converges
    True
    >>> precopy.PreCopy().predict(slow, p).converges
    False
    >>> round(Compress().predict(fast, p).total_s, 1)
    14.4
    """

    name = 'compress'

    def predict(self, inp, params):
        """See :meth:`nova_livemig.algorithms.Algorithm.predict`."""
        cost.check_input(inp)
        wire, raw = page_rates(
            cost.bytes_per_s(inp.bandwidth_gbit_s, params), params)
        limit_ms = downtime.downtime_limit_ms(inp.max_downtime_ms, wire,
                                              params)
        return precopy.simulate(self.name, inp, params, raw,
                                precopy.threshold_bytes(wire, limit_ms),
                                wire_ratio=params.compress_ratio)
