"""Migration algorithms: one cost model per plugin.

Namespace ``nova_livemig.algorithms``. A plugin predicts what migrating one
VM with its algorithm costs; it does no I/O and keeps no state.
"""

import abc

from nova_livemig import plugins


class Algorithm(abc.ABC):
    """Base class of the plugins in ``nova_livemig.algorithms``."""

    #: the plugin name, as written in config and in plans
    name = None
    #: True when the algorithm lets the guest run on the destination before
    #: all memory is there (a link failure then loses the VM)
    uses_postcopy = False
    #: True when the algorithm slows the guest down on purpose
    throttles_guest = False

    @abc.abstractmethod
    def predict(self, inp, params):
        """Predict one migration.

        :param inp: a :class:`nova_livemig.cost.MigrationInput`
        :param params: a :class:`nova_livemig.cost.CostParams`
        :returns: a :class:`nova_livemig.cost.Prediction`
        """


def load_algorithms(names):
    """Load the named algorithm plugins.

    :param names: plugin names, as an operator writes them in config
    :returns: ``{name: Algorithm}`` in the order of ``names``
    :raises PluginLoadError: when one is unknown or fails to load
    """
    return {name: plugins.load(plugins.ALGORITHMS, name) for name in names}
