"""``drain``: empty hosts before maintenance.

The hosts drained are those named in ``request.hosts`` or, when none are
named, every host whose state is ``maintenance``. Every VM on them is moved
to a destination chosen as ``single`` chooses (up, not drained, same
aggregates, room under the allocation ratios; cheapest migration, then
balance), and the plan's capacity bookkeeping
(:class:`nova_livemig.policies.ranking.Usage`) accumulates, so no
destination is
ever overfilled.

The hardest VMs are placed first, while the most room is left: largest
memory first, then the fastest-dirtying, then most vcpus (first-fit
decreasing, which also keeps the cheap paths for the VMs that need them).
Pinned VMs are reported unplaced with reason ``pinned``; VMs that nothing can
take, with the reason.
"""

from nova_livemig import exception
from nova_livemig import plan
from nova_livemig import policies
from nova_livemig.policies import ranking
from nova_livemig.policies import single


def hardest_first(vms):
    """The VMs in the order a drain places them.

    >>> from nova_livemig.model import Vm
    >>> vms = [Vm('small', 'h', 1, 1024, 0.1, 5.0),
    ...        Vm('big', 'h', 4, 8192, 0.1, 5.0),
    ...        Vm('hot', 'h', 2, 8192, 0.9, 400.0)]
    >>> [vm.id for vm in hardest_first(vms)]
    ['hot', 'big', 'small']
    """
    return sorted(vms, key=lambda vm: (-vm.memory_mib,
                                       -vm.dirty_rate_mib_s, -vm.vcpus,
                                       vm.id))


class Drain(policies.Policy):
    """Move every VM off the hosts to drain."""

    name = 'drain'

    def plan(self, snapshot, graph, request, options, algorithms):
        """Plan the moves that empty the hosts.

        :param snapshot: a validated :class:`nova_livemig.model.Snapshot`
        :param graph: the :class:`nova_livemig.graph.LinkGraph` of it
        :param request: a :class:`nova_livemig.policies.PlanRequest`;
            ``hosts`` names the hosts to drain, empty for every host in
            maintenance
        :param options: a :class:`nova_livemig.plan.PlanningOptions`
        :param algorithms: ``{name: Algorithm}`` the plan may use
        :returns: a :class:`nova_livemig.plan.Plan` whose summary lists the
            ``drained_hosts``
        :raises InvalidInput: for an unknown host
        """
        for name in request.hosts:
            if name not in snapshot.hosts:
                raise exception.InvalidInput(
                    'hosts', name, single.known_names(
                        'a host name of the snapshot', snapshot.hosts))
        if request.hosts:
            drained = list(dict.fromkeys(request.hosts))
        else:
            drained = [h.name for h in snapshot.hosts.values()
                       if h.state == 'maintenance']
        usage = ranking.Usage(snapshot)
        ranker = ranking.Ranker(graph, options, algorithms)
        drained_set = set(drained)
        vms = [vm for vm in snapshot.vms.values() if vm.host in drained_set]
        moves, unplaced = [], []
        for vm in hardest_first(vms):
            move, reason = single.place(vm, usage, ranker,
                                        exclude=drained_set)
            if move is None:
                unplaced.append(plan.Unplaced(vm.id, reason))
            else:
                moves.append(move)
        return plan.Plan(policy=self.name, moves=tuple(moves),
                         unplaced=tuple(unplaced),
                         summary={'drained_hosts': drained,
                                  'vms_on_drained_hosts': len(vms)})
