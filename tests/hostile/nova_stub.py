"""The weigher module loaded against stand-ins for the three nova modules
it imports, so that it tests without nova (see tests/nova/ for the real
thing)."""

import importlib
import sys
import types

from oslo_config import cfg

MODULE = 'nova_livemig.weigher.migration_cost'


def load_weigher(monkeypatch):
    """Import :mod:`nova_livemig.weigher.migration_cost` afresh over fake
    ``nova.conf`` and ``nova.scheduler`` modules (undone by
    ``monkeypatch``); its ``CONF`` is a private :class:`ConfigOpts`.

    :returns: the module
    """
    conf = cfg.ConfigOpts()
    conf([])
    fake = {
        'nova': types.ModuleType('nova'),
        'nova.conf': types.SimpleNamespace(CONF=conf),
        'nova.scheduler': types.ModuleType('nova.scheduler'),
        'nova.scheduler.utils': types.SimpleNamespace(
            get_weight_multiplier=lambda host_state, name, value: value,
            request_is_rebuild=lambda spec: spec.scheduler_hints.get(
                '_nova_check_type') == ['rebuild']),
        'nova.scheduler.weights': types.SimpleNamespace(
            BaseHostWeigher=object),
    }
    fake['nova'].conf = fake['nova.conf']
    for name, module in fake.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return importlib.import_module(MODULE)


def spec(instance_uuid, hints=None):
    """A request spec as the weigher reads it."""
    return types.SimpleNamespace(instance_uuid=instance_uuid,
                                 scheduler_hints=hints or {})


def host(name):
    """A host state as the weigher reads it."""
    return types.SimpleNamespace(host=name)
