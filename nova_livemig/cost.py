"""Values shared by the migration cost models.

The models themselves live one per module in :mod:`nova_livemig.algorithms`
(each a stevedore plugin); this module holds the plain values they exchange:
what goes in (:class:`MigrationInput`), the constants a real QEMU shows
(:class:`CostParams`) and what comes out (:class:`Prediction`).
"""

import dataclasses

MIB = 1024 * 1024
GBIT = 1000 ** 3 / 8  # bytes per second in one Gbit/s


@dataclasses.dataclass(frozen=True)
class MigrationInput:
    """What a cost model needs to know about one migration.

    :ivar memory_mib: guest memory size
    :ivar dirty_rate_mib_s: guest memory dirty rate (point estimate)
    :ivar bandwidth_gbit_s: free capacity of the path for this migration
    :ivar max_downtime_ms: the downtime target (QEMU's downtime limit)
    :ivar wws_mib: writable working set, None if unknown
    :ivar resident_mib: memory the guest has touched (non-zero pages);
        None means all of it
    :ivar vcpus: guest vcpus (device state, throttling cost)
    :ivar cpu_util: fraction of the guest's vcpus busy
    """
    memory_mib: float
    dirty_rate_mib_s: float
    bandwidth_gbit_s: float
    max_downtime_ms: float = 500.0
    wws_mib: float | None = None
    resident_mib: float | None = None
    vcpus: int = 1
    cpu_util: float = 0.0

    @classmethod
    def for_vm(cls, vm, bandwidth_gbit_s, max_downtime_ms,
               dirty_rate_mib_s=None):
        """Build the input for a :class:`~nova_livemig.model.Vm`.

        :param dirty_rate_mib_s: override the VM's measured dirty rate
            (used to evaluate a model across the measurement's error)
        """
        return cls(memory_mib=vm.memory_mib,
                   dirty_rate_mib_s=(vm.dirty_rate_mib_s
                                     if dirty_rate_mib_s is None
                                     else dirty_rate_mib_s),
                   bandwidth_gbit_s=bandwidth_gbit_s,
                   max_downtime_ms=max_downtime_ms,
                   wws_mib=vm.wws_mib, resident_mib=vm.resident_mib,
                   vcpus=vm.vcpus, cpu_util=vm.cpu_util)


@dataclasses.dataclass(frozen=True)
class CostParams:
    """Constants of the cost models; defaults are documented in
    ``doc/cost-model.md`` and calibrated against real QEMU migrations.
    """
    #: migration payload rate as a fraction of the path's free line rate
    goodput_fraction: float = 0.96
    #: fixed cost of the switchover (pause, device state, resume), ms
    switchover_ms: float = 5.0
    #: stop iterating after this many pre-copy rounds
    max_iterations: int = 30
    #: give up after sending this many times the guest memory
    max_data_factor: float = 5.0
    #: fraction of a zero page's size that QEMU still sends
    zero_page_cost: float = 0.002
    #: auto-converge: initial throttle, step, and maximum (percent)
    throttle_initial_pct: float = 20.0
    throttle_increment_pct: float = 10.0
    throttle_max_pct: float = 99.0
    #: compression: ratio of compressed to raw page bytes, and how fast
    #: one migration can compress (MiB/s of raw pages)
    compress_ratio: float = 0.5
    compress_mib_s: float = 400.0
    #: post-copy: guest slowdown while pages fault over the link
    postcopy_slowdown: float = 0.5


@dataclasses.dataclass(frozen=True)
class Prediction:
    """What a cost model predicts for one migration.

    :ivar algorithm: the plugin name that made the prediction
    :ivar total_s: from start until the guest runs only on the destination
        and the source is released
    :ivar downtime_ms: time the guest is paused
    :ivar bytes_sent: bytes over the link, all rounds included
    :ivar converges: False when the migration would never finish by itself
    :ivar iterations: pre-copy rounds (0 for pure post-copy)
    :ivar slowdown: mean fraction of guest speed lost during the migration
    :ivar risks: short words for what can go wrong (``'vm-lost-on-link-
        failure'`` for post-copy)
    """
    algorithm: str
    total_s: float
    downtime_ms: float
    bytes_sent: int
    converges: bool
    iterations: int = 0
    slowdown: float = 0.0
    risks: tuple = ()

    def meets(self, max_downtime_ms):
        """True when it converges within the downtime target."""
        return self.converges and self.downtime_ms <= max_downtime_ms

    def to_primitive(self):
        return {'algorithm': self.algorithm,
                'total_s': round(self.total_s, 3),
                'downtime_ms': round(self.downtime_ms, 3),
                'bytes': int(self.bytes_sent),
                'converges': self.converges,
                'iterations': self.iterations,
                'slowdown': round(self.slowdown, 4),
                'risks': list(self.risks)}

    @classmethod
    def from_primitive(cls, data):
        return cls(algorithm=data['algorithm'], total_s=data['total_s'],
                   downtime_ms=data['downtime_ms'],
                   bytes_sent=data['bytes'], converges=data['converges'],
                   iterations=data.get('iterations', 0),
                   slowdown=data.get('slowdown', 0.0),
                   risks=tuple(data.get('risks', ())))


def bytes_per_s(bandwidth_gbit_s, params):
    """Payload rate of a path, bytes/s.

    >>> round(bytes_per_s(10.0, CostParams()) / MIB, 1)
    1144.4
    """
    return bandwidth_gbit_s * GBIT * params.goodput_fraction
