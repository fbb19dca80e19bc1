"""Planning policies: what to move where.

Namespace ``nova_livemig.policies``. A policy reads a snapshot and returns a
:class:`~nova_livemig.plan.Plan`; it does no I/O and changes nothing.
"""

import abc
import dataclasses


@dataclasses.dataclass(frozen=True)
class PlanRequest:
    """What the operator asked for.

    :ivar vms: VM ids to place (``single``)
    :ivar hosts: hosts to empty (``drain``); empty means every host in
        maintenance
    """
    vms: tuple = ()
    hosts: tuple = ()


class Policy(abc.ABC):
    """Base class of the plugins in ``nova_livemig.policies``."""

    #: the plugin name, as written in config, commands and plans
    name = None

    @abc.abstractmethod
    def plan(self, snapshot, graph, request, options, algorithms):
        """Plan migrations.

        :param snapshot: a validated :class:`nova_livemig.model.Snapshot`
        :param graph: the :class:`nova_livemig.graph.LinkGraph` of it
        :param request: a :class:`PlanRequest`
        :param options: a :class:`nova_livemig.plan.PlanningOptions`
        :param algorithms: ``{name: Algorithm}`` the plan may use
        :returns: a :class:`nova_livemig.plan.Plan`
        :raises InvalidInput: when the request does not fit the snapshot
        """
