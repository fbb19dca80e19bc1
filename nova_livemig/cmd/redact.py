"""Keep secrets out of what the commands print and log.

oslo.config masks options declared ``secret`` when it logs them; errors
are another path: a driver that is missing, a URL that does not parse or
a library's message may carry ``[database] connection``,
``transport_url`` or ``[nova] password`` as they are. The commands pass
every error text through :func:`scrub` before printing or logging it, and
create their transport with :func:`get_transport`, which names the option
and shows its URL masked instead of the parser's words (a password with an
unescaped ``/`` makes the parser quote part of it as a "port").

>>> import types
>>> conf = types.SimpleNamespace(_opts={}, _groups={})
>>> scrub('rabbit://livemig:s3cret@ctl1:5672/', conf)
'rabbit://livemig:***@ctl1:5672/'
"""

import re
import sys
import urllib.parse

from nova_livemig import exception

MASK = '***'
#: ``user:password@`` of every host of a URL
_USERINFO = re.compile(r'([/,][^:/@,\s]*):([^@\s]*)@')
#: query parameters that may hold a secret, and their values
_SECRET_PARAM = re.compile(r'([?&][^=&\s]*(?:pass|secret|token|key)[^=&\s]*=)'
                           r'([^&\s]*)', re.IGNORECASE)


def _register_auth_plugin_opts(conf):
    """Register the options of the keystoneauth plugin each group names
    (``[nova] auth_type = password``: its ``password``), as loading the
    plugin would; before that they are not known to be secret."""
    try:
        from keystoneauth1 import loading as ks_loading
    except ImportError:
        return
    for name in list(getattr(conf, '_groups', {})):
        try:
            auth_type = conf[name].auth_type
        except Exception:  # noqa: BLE001 - no such option in the group
            continue
        if not auth_type:
            continue
        try:
            conf.register_opts(
                ks_loading.get_auth_plugin_conf_options(auth_type),
                group=name)
        except Exception:  # noqa: BLE001 - an unknown plugin
            continue


def _option_values(conf):
    """``(opt, value)`` of every option of ``conf`` declared ``secret``.

    oslo.config keeps no public index of its options by attribute; this
    walks the same private tables as its own ``log_opt_values``.
    """
    _register_auth_plugin_opts(conf)
    tables = [(None, getattr(conf, '_opts', {}))]
    tables += [(name, getattr(group, '_opts', {}))
               for name, group in getattr(conf, '_groups', {}).items()]
    for group, opts in tables:
        for name, info in list(opts.items()):
            if not getattr(info.get('opt'), 'secret', False):
                continue
            try:
                value = (conf[name] if group is None
                         else conf[group][name])
            except Exception:  # noqa: BLE001 - an unparsable value
                continue
            yield info['opt'], value


def secrets(conf):
    """The strings to hide: each secret option's value, and for URLs the
    passwords and secret query parameters in them, as written and
    percent-decoded.

    :param conf: a parsed :class:`~oslo_config.cfg.ConfigOpts`
    """
    found = set()
    for _opt, value in _option_values(conf):
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if not isinstance(item, str) or not item:
                continue
            if '://' not in item:
                found.add(item)
                continue
            parts = [m.group(2) for m in _USERINFO.finditer(item)]
            parts += [m.group(2) for m in _SECRET_PARAM.finditer(item)]
            for part in parts:
                if part:
                    found.update({part, urllib.parse.unquote(part)})
    found.discard('')
    return sorted(found, key=len, reverse=True)


def scrub(text, conf):
    """``text`` with every secret of ``conf`` and every URL password
    replaced by ``***``.

    :param conf: a parsed ConfigOpts, or None for URL passwords only
    """
    text = _USERINFO.sub(r'\1:' + MASK + '@', str(text))
    text = _SECRET_PARAM.sub(r'\1' + MASK, text)
    for secret in secrets(conf) if conf is not None else ():
        text = text.replace(secret, MASK)
    return text


def masked_url(url):
    """A URL with its passwords and secret query parameters masked.

    >>> masked_url('rabbit://u:p@h1,u:p@h2/?ssl_key_password=x')
    'rabbit://u:***@h1,u:***@h2/?ssl_key_password=***'
    """
    return scrub(url, None) if url else url


def get_transport(conf):
    """The RPC transport of ``conf.transport_url``.

    :raises InvalidInput: naming ``[DEFAULT] transport_url``, its URL
        masked, when oslo.messaging cannot parse it or load its driver
    """
    import oslo_messaging

    from nova_livemig import rpc
    try:
        _check_ports(conf)
        return rpc.get_transport(conf)
    except (ValueError, oslo_messaging.InvalidTransportURL,
            oslo_messaging.DriverLoadFailure, ImportError) as err:
        # a parser's words may quote part of a password (ValueError)
        why = ('it does not parse' if isinstance(err, ValueError)
               else scrub(err, conf))
        if isinstance(err, _BadPort):
            why = str(err)
        raise exception.InvalidInput(
            '[DEFAULT] transport_url', masked_url(conf.transport_url),
            f'a transport URL oslo.messaging can load ({why}), such as '
            'rabbit://USER@HOST:PORT/VHOST with ":PASSWORD" after USER, '
            'any "/", "@", ":", "%" or "#" in the password '
            'percent-encoded') from None


class _BadPort(ValueError):
    pass


def _check_ports(conf):
    """Refuse a port out of 1 to 65535 before a driver sees it: the
    drivers parse it only when they connect, and fail with a traceback
    when the daemon starts its RPC server."""
    import oslo_messaging
    if not conf.transport_url:
        return
    url = oslo_messaging.TransportURL.parse(conf, conf.transport_url)
    for host in url.hosts:
        if host.port is not None and not 0 < host.port <= MAX_PORT:
            raise _BadPort(f'port {host.port} of host number '
                           f'{url.hosts.index(host) + 1} is not 1 to '
                           f'{MAX_PORT}')


#: the largest TCP port
MAX_PORT = 65535


def serving_failed(err, conf):
    """The error of a daemon whose RPC server did not start: the bus
    driver refused ``[DEFAULT] transport_url`` (shown masked; the
    driver's words scrubbed of every secret)."""
    return exception.InvalidInput(
        '[DEFAULT] transport_url', masked_url(conf.transport_url),
        'a URL the message bus driver can serve on (starting the RPC '
        f'server failed: {scrub(err, conf)})')


def start_failed(prog, err, conf, log):
    """Say why a daemon cannot start, with no secret of ``conf`` in it:
    on standard error and in ``log``. Call it after the ``except`` block,
    where oslo.log appends no raw exception text to an error.

    :param prog: the daemon's name
    :param err: the exception that stopped it
    :param log: its logger
    """
    msg = scrub(err, conf)
    log.error('cannot start: %s', msg)
    print(f'{prog}: {msg}', file=sys.stderr)
