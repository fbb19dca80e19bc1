"""The entry points of oslo-config-generator (``oslo.config.opts``)."""

from nova_livemig import conf
from nova_livemig.conf import weigher


def list_opts():
    """``[(group, [opts])]`` for every option group nova-livemig has
    (namespace ``nova_livemig``: ``nova-livemig.conf``)."""
    result = []
    for module in conf.MODULES:
        for group, opts in module.list_opts().items():
            result.append((group, opts))
    return result


def list_weigher_opts():
    """``[(group, [opts])]`` of the Nova weigher (namespace
    ``nova_livemig.weigher``: a snippet of nova-scheduler's nova.conf)."""
    return list(weigher.list_opts().items())
