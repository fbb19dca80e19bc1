"""Planning policies: what to move where.

Namespace ``nova_livemig.policies``. A policy reads a snapshot and returns a
:class:`~nova_livemig.plan.Plan`; it does no I/O and changes nothing.
"""

import abc
import dataclasses

from nova_livemig import exception
from nova_livemig import plugins


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


def load_policy(name, field='policy'):
    """The policy plugin ``name`` of ``nova_livemig.policies``.

    :param field: how the caller names the value in errors (``policy``
        on the bus, ``--policy`` on the command line)
    :raises InvalidInput: naming ``field`` and the installed policies
    """
    installed = 'one of ' + ', '.join(plugins.names(plugins.POLICIES))
    if not name:
        raise exception.InvalidInput(field, name, installed)
    try:
        return plugins.load(plugins.POLICIES, name)
    except exception.PluginLoadError as err:
        raise exception.InvalidInput(field, name, installed) from err
