"""The entry point of oslo-config-generator (``oslo.config.opts``)."""

from nova_livemig import conf


def list_opts():
    """``[(group, [opts])]`` for every option group nova-livemig has."""
    result = []
    for module in conf.MODULES:
        for group, opts in module.list_opts().items():
            result.append((group, opts))
    return result
