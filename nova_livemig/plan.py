"""Plans: the moves a policy proposes, as plain values.

A :class:`Plan` is what every policy returns and what the control plane
persists and executes. Its primitive form is the stable JSON schema
documented in ``doc/plan-format.md``.
"""

import dataclasses

from nova_livemig import cost
from nova_livemig import exception


@dataclasses.dataclass(frozen=True)
class PlanningOptions:
    """Knobs of the planners, built from config by the commands.

    :ivar max_downtime_ms: downtime target of every migration
    :ivar algorithms: names of the algorithms a plan may use
    :ivar dirty_rate_rel_err: relative error assumed on a measured dirty
        rate when the snapshot gives none; choices must hold across it
    :ivar cpu_target_util: host CPU utilisation a policy may fill up to
    :ivar params: cost model constants
    :ivar max_outgoing_per_host: concurrent migrations out of one host
    :ivar max_incoming_per_host: concurrent migrations into one host
    :ivar postcopy_min_saving: an algorithm that switches to post-copy
        (a link failure then loses the VM) is chosen over one that does not
        only when it meets the target and saves at least this fraction of
        the worst-case total time, or when nothing safer meets the target
    :ivar prefer_rack: consolidation looks for a destination in the VM's
        own rack first (traffic stays off the spine; a few more hosts)
    :ivar max_migration_s: a migration predicted to take longer does not
        converge (None: no limit)
    :ivar left_out: ``((algorithm, reason), ...)``: allowed algorithms
        the planner may not choose, for lack of evidence
        (:mod:`nova_livemig.calibration.evidence`); plans list them
    :ivar balance_max_moves: ``balance`` plans at most this many moves
        (0: no limit)
    :ivar balance_min_gain: ``balance`` stops narrowing when the best move
        left lowers the spread by less than this
        (:func:`nova_livemig.policies.spread.spread_gain`)
    """
    max_downtime_ms: float = 500.0
    algorithms: tuple = ('precopy', 'autoconverge', 'compress', 'postcopy',
                         'hybrid')
    dirty_rate_rel_err: float = 0.25
    cpu_target_util: float = 0.8
    params: cost.CostParams = dataclasses.field(
        default_factory=cost.CostParams)
    max_outgoing_per_host: int = 2
    max_incoming_per_host: int = 2
    postcopy_min_saving: float = 0.2
    prefer_rack: bool = True
    max_migration_s: float | None = 900.0
    left_out: tuple = ()
    balance_max_moves: int = 0
    balance_min_gain: float = 0.02

    def left_out_primitive(self):
        """The JSON form of :attr:`left_out`, as plans carry it."""
        return [{'algorithm': name, 'reason': reason}
                for name, reason in self.left_out]


@dataclasses.dataclass(frozen=True)
class Move:
    """One live migration.

    :ivar path: link keys the migration traffic crosses
    :ivar bandwidth_gbit_s: free capacity of the path, alone on it
    """
    vm: str
    source: str
    destination: str
    algorithm: str
    predicted: cost.Prediction
    path: tuple = ()
    bandwidth_gbit_s: float = 0.0

    def to_primitive(self):
        return {'vm': self.vm, 'source': self.source,
                'destination': self.destination,
                'algorithm': self.algorithm,
                'predicted': self.predicted.to_primitive(),
                'path': [list(k) for k in self.path],
                'bandwidth_gbit_s': self.bandwidth_gbit_s}

    @classmethod
    def from_primitive(cls, data):
        return cls(vm=data['vm'], source=data['source'],
                   destination=data['destination'],
                   algorithm=data['algorithm'],
                   predicted=cost.Prediction.from_primitive(
                       data['predicted']),
                   path=tuple(tuple(k) for k in data.get('path', ())),
                   bandwidth_gbit_s=data.get('bandwidth_gbit_s', 0.0))


@dataclasses.dataclass(frozen=True)
class Unplaced:
    """A VM the policy wanted to move but could not, and why."""
    vm: str
    reason: str

    def to_primitive(self):
        return {'vm': self.vm, 'reason': self.reason}


@dataclasses.dataclass(frozen=True)
class Plan:
    """The result of a policy.

    :ivar policy: the policy plugin name
    :ivar moves: :class:`Move` values, in the order the policy chose them
    :ivar unplaced: :class:`Unplaced` values
    :ivar summary: policy-specific figures (plain JSON values)
    """
    policy: str
    moves: tuple = ()
    unplaced: tuple = ()
    summary: dict = dataclasses.field(default_factory=dict)

    def to_primitive(self):
        totals = {
            'moves': len(self.moves),
            'unplaced': len(self.unplaced),
            'bytes': sum(m.predicted.bytes_sent for m in self.moves),
            'sum_total_s': round(sum(m.predicted.total_s
                                     for m in self.moves), 3),
            'max_downtime_ms': round(max(
                (m.predicted.downtime_ms for m in self.moves),
                default=0.0), 3),
        }
        return {'version': 1, 'policy': self.policy,
                'moves': [m.to_primitive() for m in self.moves],
                'unplaced': [u.to_primitive() for u in self.unplaced],
                'totals': totals, 'summary': dict(self.summary)}

    @classmethod
    def from_primitive(cls, data):
        return cls(policy=data['policy'],
                   moves=tuple(Move.from_primitive(m)
                               for m in data.get('moves', ())),
                   unplaced=tuple(Unplaced(u['vm'], u['reason'])
                                  for u in data.get('unplaced', ())),
                   summary=dict(data.get('summary', {})))


def apply(snapshot, moves):
    """The snapshot after the moves, checked.

    :param snapshot: a validated :class:`nova_livemig.model.Snapshot`
    :param moves: :class:`Move` values, applied in order
    :returns: a new snapshot; ``snapshot`` is not changed
    :raises InvalidPlan: when a move names an unknown VM or host, does not
        start where the VM is, stays on its host, moves a pinned VM,
        leaves the aggregates of the host the VM started on, targets a host
        that is not up, or when the final placement overfills a host
    """
    vms = dict(snapshot.vms)
    for move in moves:
        vm = vms.get(move.vm)
        if vm is None:
            raise exception.InvalidPlan(f'move of unknown VM {move.vm!r}')
        if move.destination not in snapshot.hosts:
            raise exception.InvalidPlan(
                f'move of {move.vm} to unknown host {move.destination!r}')
        if vm.host != move.source:
            raise exception.InvalidPlan(
                f'move of {move.vm} from {move.source}, but it is on '
                f'{vm.host}')
        if move.destination == vm.host:
            raise exception.InvalidPlan(
                f'move of {move.vm} to {vm.host}, the host it is on')
        if vm.pinned:
            raise exception.InvalidPlan(f'move of pinned VM {move.vm}')
        dest = snapshot.hosts[move.destination]
        if dest.state != 'up':
            raise exception.InvalidPlan(
                f'move of {move.vm} to {dest.name}, which is {dest.state}')
        # A VM keeps the aggregates of the host it started on (they stand
        # for its flavor and image constraints), wherever it passed through.
        src = snapshot.hosts[snapshot.vms[move.vm].host]
        if not set(src.aggregates) <= set(dest.aggregates):
            raise exception.InvalidPlan(
                f'move of {move.vm} from aggregates {list(src.aggregates)} '
                f'to {list(dest.aggregates)}')
        vms[move.vm] = dataclasses.replace(vm, host=move.destination)
    after = dataclasses.replace(snapshot, vms=vms)
    # one pass over the VMs, not one per destination
    used = {m.destination: [0, 0] for m in moves}
    for vm in vms.values():
        acc = used.get(vm.host)
        if acc is not None:
            acc[0] += vm.vcpus
            acc[1] += vm.memory_mib
    for name, (vcpus, mem) in used.items():
        host = after.hosts[name]
        if vcpus > host.vcpu_capacity or mem > host.memory_capacity_mib:
            raise exception.InvalidPlan(
                f'host {name} overfilled: {vcpus} vcpus of '
                f'{host.vcpu_capacity:g}, {mem} MiB of '
                f'{host.memory_capacity_mib:g}')
    return after
