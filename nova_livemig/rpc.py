"""oslo.messaging plumbing: transports, clients, servers, notifier.

Everything that touches :mod:`oslo_messaging` directly goes through here,
so the rest of the shell sees four small functions. Config is an argument:
:func:`register_opts` puts oslo.messaging's options on a private
:class:`~oslo_config.cfg.ConfigOpts`, with ``transport_url`` defaulting to
``fake://`` (in-process); production sets ``rabbit://...``.

Only the threading executor is used; the eventlet one is deprecated.
"""

import copy
import re

import oslo_messaging
from oslo_messaging import opts as om_opts

# The two private modules below hold option groups that oslo.messaging
# 18.x registers on the global CONF only and lists in no public function,
# although its RPC clients read them from the conf they are given; they
# are used only while oslo_messaging.opts.list_opts() lacks the group.
from oslo_messaging._metrics import client as om_metrics
from oslo_messaging._tracing import client as om_tracing

CONDUCTOR_TOPIC = 'nova-livemig-conductor'
AGENT_TOPIC = 'nova-livemig-agent'
DEFAULT_TRANSPORT_URL = 'fake://'
EXECUTOR = 'threading'

#: option groups missing from oslo.messaging's public option list
_GLOBAL_ONLY_GROUPS = (
    ('oslo_messaging_tracing', om_tracing.oslo_messaging_tracing),
    ('oslo_messaging_metrics', om_metrics.oslo_messaging_metrics),
)


def _library_opts():
    """oslo.messaging's options as it defines them, ``[(group, opts)]``
    (``None`` is DEFAULT): copies from its public
    :func:`oslo_messaging.opts.list_opts`, which oslo.config accepts beside
    the library's own objects as long as they stay equal to them."""
    found = [(group, list(opts)) for group, opts in om_opts.list_opts()]
    listed = {group for group, _ in found}
    found += [(group, list(opts)) for group, opts in _GLOBAL_ONLY_GROUPS
              if group not in listed]
    return found


def list_opts():
    """oslo.messaging's options, ``{group: [opts]}`` (``None`` is DEFAULT),
    with our ``transport_url`` default, for the sample config generator."""
    result = {}
    for group, opts in copy.deepcopy(_library_opts()):
        for opt in opts:
            if group is None and opt.name == 'transport_url':
                opt.default = DEFAULT_TRANSPORT_URL
        result.setdefault(group, []).extend(opts)
    return result


def register_opts(conf):
    """Register oslo.messaging's options (and its tracing and metrics
    options) on ``conf``; ``transport_url`` defaults to ``fake://``."""
    for group, opts in _library_opts():
        conf.register_opts(opts, group=group)
    conf.set_default('transport_url', DEFAULT_TRANSPORT_URL)


def masked_url(url):
    """A transport URL safe to log: passwords replaced by ``***``.

    >>> masked_url('rabbit://nova:s3cret@ctl1:5672,nova:s3cret@ctl2/vh')
    'rabbit://nova:***@ctl1:5672,nova:***@ctl2/vh'
    >>> masked_url('rabbit://u:p@h/?ssl_key_password=x&a=1')
    'rabbit://u:***@h/?ssl_key_password=***&a=1'
    >>> masked_url('fake://')
    'fake://'
    """
    if not url:
        return url
    # user:password@ of every host (a password cannot hold an unencoded @)
    url = re.sub(r'([/,][^:/@,]*):[^@]*@', r'\1:***@', url)
    return re.sub(r'([?&][^=&]*pass[^=&]*=)[^&]*', r'\1***', url,
                  flags=re.IGNORECASE)


def get_transport(conf):
    """The RPC transport of ``conf.transport_url``.

    :raises oslo_messaging.InvalidTransportURL: on a malformed URL
    """
    return oslo_messaging.get_rpc_transport(conf)


def get_notification_transport(conf):
    """The notification transport (``[oslo_messaging_notifications]
    transport_url``, else ``transport_url``)."""
    return oslo_messaging.get_notification_transport(conf)


def get_client(transport, topic, version, server=None, timeout=None):
    """An RPC client for ``topic``, capped at ``version``.

    :param server: send to one server (an agent's host) instead of any
    :param timeout: seconds a call waits for its reply; None means
        ``rpc_response_timeout``
    """
    target = oslo_messaging.Target(topic=topic, version=version,
                                   server=server)
    return oslo_messaging.get_rpc_client(transport, target, timeout=timeout)


def get_server(transport, topic, server, endpoints):
    """An RPC server (threading executor) for ``topic`` on ``server``.

    :param endpoints: objects whose public methods are the RPC methods
    :returns: an unstarted :class:`oslo_messaging.rpc.RPCServer`
    """
    target = oslo_messaging.Target(topic=topic, server=server)
    # oslo.messaging picks threading unless eventlet monkey-patched the
    # process (and warns when asked explicitly): check, do not ask
    rpc_server = oslo_messaging.get_rpc_server(transport, target, endpoints)
    if rpc_server.executor_type != EXECUTOR:
        raise RuntimeError(f'oslo.messaging chose the '
                           f'{rpc_server.executor_type} executor; '
                           f'nova-livemig runs only with {EXECUTOR} (is '
                           f'eventlet monkey-patching the process?)')
    return rpc_server


def get_notifier(transport, host):
    """A notifier with publisher ``nova-livemig.<host>``; the drivers and
    topics come from ``[oslo_messaging_notifications]``."""
    return oslo_messaging.Notifier(transport,
                                   publisher_id=f'nova-livemig.{host}')


def cleanup(transport):
    """Close a transport's connections."""
    transport.cleanup()
