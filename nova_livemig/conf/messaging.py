"""oslo.messaging's own options (``[DEFAULT] transport_url``,
``[oslo_messaging_rabbit]``, ``[oslo_messaging_notifications]``, ...).

They are registered by :func:`nova_livemig.rpc.register_opts`, which makes
``transport_url`` default to ``fake://`` (in-process); production sets
``rabbit://user:password@host:5672/``. The password is a secret option:
it is masked wherever config values are logged.
"""


def register_opts(conf):
    from nova_livemig import rpc  # oslo.messaging only when needed
    rpc.register_opts(conf)


def list_opts():
    from nova_livemig import rpc
    return rpc.list_opts()
