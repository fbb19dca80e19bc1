"""The URIs of a libvirt migration, built by the source agent from its
own ``[libvirt]`` options and a host address it checked.

Nothing that arrives over the bus becomes a URI as it is: a step names
its destination host (``MigrationStep.destination``) and, optionally, the
address the destination agent reported for incoming migrations
(``MigrationStep.destination_uri``, the destination's ``[libvirt]
migration_inbound_addr``). Either must be a bare host name or IP address;
the transport (``[libvirt] live_migration_scheme``) and the path are the
source's own, so no message can choose ``qemu+ext`` (a command run by the
source's root libvirtd), a ``?no_verify=1``, a ``?command=`` or a plain
``qemu+tcp`` the operator did not enable. As in nova, the libvirtd
connection goes to ``qemu+SCHEME://ADDRESS/system`` and, when the
destination reported an address, QEMU's stream to ``tcp://ADDRESS``.
Pure: no libvirt, no I/O.

>>> connection_uri('tls', check_address('destination', 'cmp-r2-07'))
'qemu+tls://cmp-r2-07/system'
>>> migrate_uri(check_address('destination', 'fd00::7'))
'tcp://[fd00::7]'
>>> check_address('destination_uri', 'qemu+ext:///system?command=/bin/sh')
Traceback (most recent call last):
...
nova_livemig.exception.InvalidInput: destination_uri: got \
'qemu+ext:///system?command=/bin/sh'; allowed: a host name (letters, \
digits, '-', '_' and '.', at most 253 characters) or an IP address, not a URI
"""

import ipaddress
import re

from nova_livemig import exception

#: ``[libvirt] live_migration_scheme`` values: the libvirt transports a
#: source libvirtd may use to reach the destination's
SCHEMES = ('tls', 'tcp', 'ssh')
#: the longest host name DNS allows (RFC 1035), and of one of its labels
MAX_HOST_CHARS = 253
MAX_LABEL_CHARS = 63
_LABEL = re.compile(r'[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z')
ALLOWED = (f"a host name (letters, digits, '-', '_' and '.', at most "
           f'{MAX_HOST_CHARS} characters) or an IP address, not a URI')
#: values longer than this are cut in error messages
_SHOWN_CHARS = 80


def _shown(value):
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return value[:_SHOWN_CHARS] + '...'
    return value


def check_address(field, value):
    """A host name or an IP address fit for a URI's host part.

    Host names are DNS names of dot-separated labels of letters, digits,
    ``-`` and ``_`` (no label starts or ends with ``-``); IP addresses are
    IPv4 dotted quads or IPv6 addresses without a zone. Nothing else: no
    scheme, user, port, path, query, percent escape, space or control
    character.

    :param field: the name of the value, for the error
    :param value: what a message or an option holds
    :returns: the address, IPv6 in its compressed form
    :raises InvalidInput: naming ``field``, for anything else

    >>> check_address('f', '10.0.0.7'), check_address('f', 'Node-1.lan')
    ('10.0.0.7', 'Node-1.lan')
    >>> check_address('f', 'a@b')
    Traceback (most recent call last):
    ...
    nova_livemig.exception.InvalidInput: f: got 'a@b'; allowed: a host \
name (letters, digits, '-', '_' and '.', at most 253 characters) or an IP \
address, not a URI
    """
    if not isinstance(value, str) or not value:
        raise exception.InvalidInput(field, _shown(value), ALLOWED)
    if ':' in value:
        try:
            address = ipaddress.IPv6Address(value)
        except ValueError:
            address = None
        if address is None or address.scope_id is not None:
            # a zone (fe80::1%eth0) would need a percent escape in a URI
            raise exception.InvalidInput(field, _shown(value), ALLOWED)
        return str(address)
    labels = value.split('.')
    if (len(value) > MAX_HOST_CHARS
            or not all(_LABEL.match(label) for label in labels)):
        raise exception.InvalidInput(field, _shown(value), ALLOWED)
    if all(label.isdigit() for label in labels):
        # digits and dots only: an IPv4 address or nothing (no 10.1,
        # no 010.0.0.1, which some resolvers read as octal)
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise exception.InvalidInput(field, _shown(value),
                                         ALLOWED) from None
    return value


def _host_part(address):
    return f'[{address}]' if ':' in address else address


def connection_uri(scheme, address):
    """The libvirt URI by which the source libvirtd reaches the
    destination's (peer to peer).

    :param scheme: one of :data:`SCHEMES`
    :param address: an address :func:`check_address` returned
    :raises InvalidInput: for another scheme

    >>> connection_uri('tcp', '10.0.0.7')
    'qemu+tcp://10.0.0.7/system'
    """
    if scheme not in SCHEMES:
        raise exception.InvalidInput(
            '[libvirt] live_migration_scheme', _shown(scheme),
            'one of ' + ', '.join(SCHEMES))
    return f'qemu+{scheme}://{_host_part(address)}/system'


def migrate_uri(address):
    """QEMU's migration stream URI (``VIR_MIGRATE_PARAM_URI``) to the
    destination's inbound address; libvirt picks the port.

    :param address: an address :func:`check_address` returned
    """
    return f'tcp://{_host_part(address)}'


def inbound_address(opts):
    """Check the ``[libvirt]`` options of the migration URIs.

    :param opts: the ``[libvirt]`` option group
    :returns: the checked ``migration_inbound_addr``, or None when unset
    :raises InvalidInput: for the removed ``migration_uri_scheme`` or an
        inbound address that is no host name or IP address

    >>> from types import SimpleNamespace as Opts
    >>> inbound_address(Opts(migration_uri_scheme=None,
    ...                      migration_inbound_addr='10.0.0.7'))
    '10.0.0.7'
    """
    if opts.migration_uri_scheme is not None:
        raise exception.InvalidInput(
            '[libvirt] migration_uri_scheme', _shown(
                opts.migration_uri_scheme),
            'unset: the option is removed; set live_migration_scheme '
            '(' + ', '.join(SCHEMES) + ') instead')
    if opts.migration_inbound_addr is None:
        return None
    return check_address('[libvirt] migration_inbound_addr',
                         opts.migration_inbound_addr)


def destination(step):
    """The checked destination address of a step, and whether the
    destination reported it (then the stream goes there too).

    :param step: a :class:`~nova_livemig.messages.MigrationStep`
    :returns: ``(address, reported)``
    :raises InvalidInput: naming ``MigrationStep.destination_uri`` or
        ``MigrationStep.destination``

    >>> from types import SimpleNamespace as Step
    >>> destination(Step(destination='b', destination_uri=None))
    ('b', False)
    >>> destination(Step(destination='b', destination_uri='10.0.0.12'))
    ('10.0.0.12', True)
    """
    name = check_address('MigrationStep.destination', step.destination)
    if step.destination_uri is None:
        return name, False
    return check_address('MigrationStep.destination_uri',
                         step.destination_uri), True
