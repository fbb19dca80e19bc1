"""Loading stevedore plugins, with load failures translated.

Every plugin namespace of nova-livemig is listed here with the abstract base
class its plugins implement, so the namespaces are documented in one place.
"""

import stevedore

from nova_livemig import exception

ALGORITHMS = 'nova_livemig.algorithms'
POLICIES = 'nova_livemig.policies'
DRIVERS = 'nova_livemig.drivers'
EXECUTORS = 'nova_livemig.executors'


def names(namespace):
    """The plugin names installed in a namespace, sorted."""
    return sorted(stevedore.ExtensionManager(namespace).names())


def load(namespace, name, invoke_args=(), invoke_kwds=None):
    """Load one plugin and instantiate it.

    :param namespace: one of the namespaces above
    :param name: the plugin name an operator writes (``precopy``, ``drain``)
    :returns: the plugin object
    :raises PluginLoadError: when it is unknown or fails to load
    """
    try:
        mgr = stevedore.DriverManager(
            namespace, name, invoke_on_load=True, invoke_args=invoke_args,
            invoke_kwds=invoke_kwds or {})
    except stevedore.exception.NoMatches as exc:
        raise exception.PluginLoadError(
            namespace, name,
            'no such plugin; installed: ' + ', '.join(names(namespace))
        ) from exc
    except Exception as exc:
        raise exception.PluginLoadError(namespace, name, exc) from exc
    return mgr.driver
