"""``single``: the best destination for one VM (or a few, one after another).

This is what ``openstack server migrate --live SERVER`` without a host
should choose. A destination must be up, not the source, in every aggregate
the source is in, and have room for the VM's vcpus and memory under its
allocation ratios (no CPU utilisation target: Nova's scheduler has none).
Destinations are ranked by the predicted migration cost over the widest
path, then by the balance the move leaves (:meth:`ranking.Ranker.best`).

Several VMs are placed in the order given, each seeing the capacity the
earlier ones took. A pinned VM, a VM on a host that is down and a VM that
no destination can take (or only with a migration predicted to miss the
downtime target) are reported unplaced with the reason.
"""

from nova_livemig import exception
from nova_livemig import plan
from nova_livemig import policies
from nova_livemig.policies import ranking

#: reason given for a VM marked pinned in the snapshot
PINNED = 'pinned'
#: reason given for a VM whose host is down
SOURCE_DOWN = ('source host is down: live migration needs a running source '
               '(evacuate instead)')


def place(vm, usage, ranker, exclude=(), cpu_target_util=None):
    """Place one VM, or say why not; shared by ``single`` and ``drain``.

    :param vm: a :class:`nova_livemig.model.Vm`
    :param usage: the :class:`~nova_livemig.policies.ranking.Usage` of the
        plan so
        far; updated when the VM is placed
    :param ranker: a :class:`nova_livemig.policies.ranking.Ranker`
    :param exclude: host names that may not receive it
    :param cpu_target_util: optional CPU utilisation cap of destinations
    :returns: ``(move, None)`` or ``(None, reason)``
    """
    if vm.pinned:
        return None, PINNED
    if usage.snapshot.hosts[usage.placement[vm.id]].state == 'down':
        return None, SOURCE_DOWN
    move, reason = ranker.best(vm, usage, exclude=exclude,
                               cpu_target_util=cpu_target_util)
    if move is not None:
        usage.move(vm, move.destination)
    return move, reason


class Single(policies.Policy):
    """Smart placement of the VMs named in ``request.vms``."""

    name = 'single'

    def plan(self, snapshot, graph, request, options, algorithms):
        """Place each VM of ``request.vms``.

        :param snapshot: a validated :class:`nova_livemig.model.Snapshot`
        :param graph: the :class:`nova_livemig.graph.LinkGraph` of it
        :param request: a :class:`nova_livemig.policies.PlanRequest`;
            ``vms`` must name at least one VM of the snapshot
        :param options: a :class:`nova_livemig.plan.PlanningOptions`
        :param algorithms: ``{name: Algorithm}`` the plan may use
        :returns: a :class:`nova_livemig.plan.Plan`
        :raises InvalidInput: for no VM or an unknown VM
        """
        if not request.vms:
            raise exception.InvalidInput(
                'vms', [], 'at least one VM id (single places named VMs)')
        for vm_id in request.vms:
            if vm_id not in snapshot.vms:
                raise exception.InvalidInput(
                    'vms', vm_id, known_names('a VM id of the snapshot',
                                              snapshot.vms))
        usage = ranking.Usage(snapshot)
        ranker = ranking.Ranker(graph, options, algorithms)
        moves, unplaced = [], []
        for vm_id in dict.fromkeys(request.vms):
            move, reason = place(snapshot.vms[vm_id], usage, ranker)
            if move is None:
                unplaced.append(plan.Unplaced(vm_id, reason))
            else:
                moves.append(move)
        return plan.Plan(policy=self.name, moves=tuple(moves),
                         unplaced=tuple(unplaced),
                         summary={'requested': list(dict.fromkeys(
                             request.vms))})


def known_names(what, names, limit=8):
    """``what`` followed by a few of the known names, for error messages.

    >>> known_names('a host', ['b', 'a'])
    'a host, e.g. a, b'
    >>> known_names('a VM id', [])
    'a VM id (the snapshot has none)'
    """
    names = sorted(names)
    if not names:
        return f'{what} (the snapshot has none)'
    shown = ', '.join(names[:limit])
    more = f' ... ({len(names)} in all)' if len(names) > limit else ''
    return f'{what}, e.g. {shown}{more}'
