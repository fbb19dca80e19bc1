"""Values shared by the migration cost models.

The models themselves live one per module in :mod:`nova_livemig.algorithms`
(each a stevedore plugin); this module holds the plain values they exchange:
what goes in (:class:`MigrationInput`), the constants a real QEMU shows
(:class:`CostParams`) and what comes out (:class:`Prediction`).
"""

import dataclasses

from nova_livemig import dirtyrate
from nova_livemig import exception

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
    :ivar max_migration_s: a migration that would take longer does not
        converge (``[planner] max_migration_s``); None: no limit
    """
    memory_mib: float
    dirty_rate_mib_s: float
    bandwidth_gbit_s: float
    max_downtime_ms: float = 500.0
    wws_mib: float | None = None
    resident_mib: float | None = None
    vcpus: int = 1
    cpu_util: float = 0.0
    max_migration_s: float | None = None

    @classmethod
    def for_vm(cls, vm, bandwidth_gbit_s, max_downtime_ms,
               dirty_rate_mib_s=None, max_migration_s=None):
        """Build the input for a :class:`~nova_livemig.model.Vm`.

        The write rate and working set are
        :func:`nova_livemig.dirtyrate.of_vm`'s: from the VM's dirty-rate
        samples when they show a working set, else the snapshot's.

        :param dirty_rate_mib_s: override the VM's measured dirty rate
            (used to evaluate a model across the measurement's error); it
            is scaled as the samples scale the measured rate
        :param max_migration_s: see :attr:`max_migration_s`
        """
        est = dirtyrate.of_vm(vm)
        rate = est.rate_mib_s
        if dirty_rate_mib_s is not None:
            scale = (est.rate_mib_s / vm.dirty_rate_mib_s
                     if vm.dirty_rate_mib_s > 0 else 1.0)
            rate = dirty_rate_mib_s * scale
        return cls(memory_mib=vm.memory_mib, dirty_rate_mib_s=rate,
                   bandwidth_gbit_s=bandwidth_gbit_s,
                   max_downtime_ms=max_downtime_ms,
                   wws_mib=est.wws_mib, resident_mib=vm.resident_mib,
                   vcpus=vm.vcpus, cpu_util=vm.cpu_util,
                   max_migration_s=max_migration_s)


@dataclasses.dataclass(frozen=True)
class CostParams:
    """Constants of the cost models; defaults are documented in
    ``doc/cost-model.md`` and calibrated against real QEMU migrations.
    """
    #: migration payload rate as a fraction of the path's free line rate
    goodput_fraction: float = 0.96
    #: fixed cost of the switchover (pause, device state, resume), ms
    switchover_ms: float = 4.0
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
    #: longest stretch QEMU sends between two checks of the pending data
    #: (``ram_save_iterate`` returns after about 50 ms), ms
    sync_step_ms: float = 50.0
    #: device and vCPU state sent while the guest is paused, MiB
    device_state_mib: float = 0.05
    #: fixed time before the first page is sent (libvirt prepares and
    #: starts the destination QEMU, the connection is made), s
    setup_s: float = 0.9
    #: auto-converge: throttle when the bytes dirtied in a sync period
    #: exceed this percentage of the bytes sent (QEMU's
    #: ``throttle-trigger-threshold``)
    throttle_trigger_pct: float = 50.0
    #: pre-copy: stream still queued between QEMU and the wire when QEMU
    #: stops the guest (socket buffers, the shaper's queue); the pause
    #: lasts that much longer than QEMU's limit, MiB
    pause_backlog_mib: float = 2.0
    #: pre-copy: the guest's dirty rate while it migrates, relative to
    #: the rate measured before (dirty logging slows or speeds guests)
    migration_dirty_factor: float = 1.0
    #: fraction of a VM's memory taken as resident (non-zero) when
    #: neither the snapshot nor the VM's history says; None: all of it
    resident_fraction: float | None = None
    #: pre-copy: how much of what a guest re-dirties falls on pages
    #: already pending (and so costs nothing more): 1 when it writes at
    #: random over its working set, 0 when it sweeps it in order (every
    #: page it writes was sent since it last wrote it)
    dirty_overlap: float = 1.0


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
    :ivar throttle_pct: the auto-converge CPU throttle when the migration
        ends (or is given up), percent
    """
    algorithm: str
    total_s: float
    downtime_ms: float
    bytes_sent: int
    converges: bool
    iterations: int = 0
    slowdown: float = 0.0
    risks: tuple = ()
    throttle_pct: float = 0.0

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


#: a link failure during post-copy loses the VM (its state is split
#: between the hosts)
RISK_VM_LOST = 'vm-lost-on-link-failure'
#: the choice meets the downtime target at the point estimate of the
#: dirty rate but not across its error band
RISK_MAY_NOT_CONVERGE = 'may-not-converge'


def check_input(inp):
    """Reject an input no model can predict from.

    :param inp: a :class:`MigrationInput`
    :raises InvalidInput: naming the field, its value and what is allowed

    >>> try:
    ...     check_input(MigrationInput(1024, 10.0, 0.0))
    ... except exception.InvalidInput as err:
    ...     print(err)
    bandwidth_gbit_s: got 0.0; allowed: a positive number
    """
    if not inp.bandwidth_gbit_s > 0:
        raise exception.InvalidInput('bandwidth_gbit_s',
                                     inp.bandwidth_gbit_s, 'a positive number')
    if not inp.memory_mib > 0:
        raise exception.InvalidInput('memory_mib', inp.memory_mib,
                                     'a positive number')
    if not inp.dirty_rate_mib_s >= 0:
        raise exception.InvalidInput('dirty_rate_mib_s',
                                     inp.dirty_rate_mib_s,
                                     'a non-negative number')
    if inp.wws_mib is not None and not inp.wws_mib > 0:
        raise exception.InvalidInput('wws_mib', inp.wws_mib,
                                     'a positive number, or None if unknown')
    if not inp.max_downtime_ms > 0:
        raise exception.InvalidInput('max_downtime_ms', inp.max_downtime_ms,
                                     'a positive number')


def resident_bytes(inp, params):
    """Bytes of non-zero pages: what the first pass really sends.

    :param inp: a :class:`MigrationInput`
    :param params: a :class:`CostParams` (its ``resident_fraction`` when
        the input has no resident memory)
    :returns: bytes

    >>> resident_bytes(MigrationInput(1024, 0.0, 1.0, resident_mib=256),
    ...                CostParams()) / MIB
    256.0
    >>> resident_bytes(MigrationInput(1024, 0.0, 1.0),
    ...                CostParams(resident_fraction=0.5)) / MIB
    512.0
    """
    if inp.resident_mib is None:
        fraction = params.resident_fraction
        if fraction is None:
            return inp.memory_mib * MIB
        # the working set is resident, whatever the fraction says
        floor = inp.wws_mib or 0.0
        return min(max(inp.memory_mib * fraction, floor),
                   inp.memory_mib) * MIB
    return min(inp.resident_mib, inp.memory_mib) * MIB


def zero_page_bytes(inp, params):
    """Bytes the zero pages cost on the first pass (a header each).

    :param inp: a :class:`MigrationInput`
    :param params: a :class:`CostParams`
    :returns: bytes

    >>> zero_page_bytes(MigrationInput(1024, 0.0, 1.0, resident_mib=24),
    ...                 CostParams()) / MIB
    2.0
    """
    return ((inp.memory_mib * MIB - resident_bytes(inp, params))
            * params.zero_page_cost)


def working_set_bytes(inp):
    """Bytes the guest can dirty: its writable working set when known,
    otherwise all its memory.

    :param inp: a :class:`MigrationInput`
    :returns: bytes (positive)

    >>> working_set_bytes(MigrationInput(1024, 0.0, 1.0, wws_mib=64)) / MIB
    64.0
    """
    if inp.wws_mib is None:
        return inp.memory_mib * MIB
    return min(inp.wws_mib, inp.memory_mib) * MIB


def switchover_s(params, rate_bytes_s):
    """Time the guest is paused beyond its last pages: the fixed
    switchover cost plus the device state over the link.

    :param params: a :class:`CostParams`
    :param rate_bytes_s: payload rate on the wire
    :returns: seconds

    The defaults (``doc/calibration.md``): 4 ms, and 0.05 MiB of device
    state at 50 MiB/s (0.05 MiB per ms) is 1 ms more:

    >>> round(switchover_s(CostParams(), 0.05 * MIB / 0.001), 6)
    0.005
    """
    return (params.switchover_ms / 1000.0
            + params.device_state_mib * MIB / rate_bytes_s)


def backlog_s(params, rate_bytes_s):
    """How much longer than QEMU's limit a pre-copy pause lasts: the
    stream queued on its way to the wire when the guest stops
    (``pause_backlog_mib``) drains first.

    >>> backlog_s(CostParams(pause_backlog_mib=2.0), 20 * MIB)
    0.1
    """
    return params.pause_backlog_mib * MIB / rate_bytes_s


def within_time(pred, inp):
    """The prediction, not converging when it lasts longer than the
    input's ``max_migration_s`` (a migration that would run for an hour
    does not converge for an operator).

    >>> p = Prediction('precopy', 120.0, 300.0, 1, True)
    >>> within_time(p, MigrationInput(1, 0, 1, max_migration_s=60)).converges
    False
    """
    if (inp.max_migration_s is not None and pred.converges
            and pred.total_s > inp.max_migration_s):
        return dataclasses.replace(pred, converges=False)
    return pred
