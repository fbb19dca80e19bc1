"""Cluster snapshot, format version 1: hosts, VMs and the links between them.

A snapshot is the interchange between the measurements (agents, or an
operator's what-if file) and the planners. It is plain JSON; units are in the
field names. :func:`from_primitive` validates *everything* before returning,
and reports every problem at once, each naming its JSON path, the value and
what is allowed. Nothing is planned from a partly valid snapshot.

This module holds the values (:class:`Host`, :class:`Vm`, :class:`Link`,
:class:`Snapshot`), the field tables of the format and its reader and writer
(:func:`from_primitive`, :func:`loads`, :func:`load`, :func:`dumps`). The
checks of single values are in :mod:`nova_livemig.validation`; the rule
that every host reaches every other is in :mod:`nova_livemig.connectivity`.

>>> snap = from_primitive({
...     'version': 1,
...     'hosts': [{'name': 'a', 'vcpus': 8, 'memory_mib': 16384},
...               {'name': 'b', 'vcpus': 8, 'memory_mib': 16384}],
...     'vms': [{'id': 'vm1', 'host': 'a', 'vcpus': 2, 'memory_mib': 2048,
...              'cpu_util': 0.5, 'dirty_rate_mib_s': 10.0}],
...     'network': {'switches': ['tor'], 'links': [
...         {'a': 'a', 'b': 'tor', 'gbit_s': 10.0},
...         {'a': 'b', 'b': 'tor', 'gbit_s': 10.0}]}})
>>> snap.vms['vm1'].host, snap.hosts['b'].memory_mib
('a', 16384)
"""

import dataclasses
import json

from nova_livemig import connectivity
from nova_livemig import dirtyrate
from nova_livemig import exception
from nova_livemig import textfile
from nova_livemig import validation
from nova_livemig.validation import BOOLEAN
from nova_livemig.validation import FRACTION
from nova_livemig.validation import NON_NEGATIVE
from nova_livemig.validation import POSITIVE
from nova_livemig.validation import POSITIVE_INTEGER
from nova_livemig.validation import RATIO
from nova_livemig.validation import STRING
from nova_livemig.validation import STRINGS
from nova_livemig.validation import one_of
from nova_livemig.validation import optional
from nova_livemig.validation import required

SNAPSHOT_VERSION = 1
HOST_STATES = ('up', 'down', 'maintenance')
#: the largest snapshot file :func:`load` reads (a fleet of 10,000 hosts
#: and 400,000 VMs takes about 70 MiB)
MAX_SNAPSHOT_BYTES = 128 * 1024 * 1024
#: the deepest nesting of lists and objects in a snapshot: a valid one
#: has 5 (``$.vms[0].dirty_rate_samples[0]``)
MAX_SNAPSHOT_DEPTH = 8


@dataclasses.dataclass(frozen=True)
class Host:
    name: str
    vcpus: int
    memory_mib: int
    cpu_allocation_ratio: float = 1.0
    ram_allocation_ratio: float = 1.0
    state: str = 'up'
    #: measured fraction (0..1) of the host's vcpus busy; None if unmeasured
    cpu_util: float | None = None
    power_idle_w: float | None = None
    power_max_w: float | None = None
    aggregates: tuple = ()

    @property
    def vcpu_capacity(self):
        """Schedulable vcpus under the allocation ratio."""
        return self.vcpus * self.cpu_allocation_ratio

    @property
    def memory_capacity_mib(self):
        """Schedulable memory under the allocation ratio."""
        return self.memory_mib * self.ram_allocation_ratio


@dataclasses.dataclass(frozen=True)
class Vm:
    id: str
    host: str
    vcpus: int
    memory_mib: int
    #: fraction (0..1) of its own vcpus busy
    cpu_util: float
    #: measured guest memory dirty rate
    dirty_rate_mib_s: float
    #: writable working set: the memory the guest keeps rewriting
    wws_mib: float | None = None
    #: never moved
    pinned: bool = False
    #: spread of the dirty-rate measurement (one standard deviation)
    dirty_rate_err_mib_s: float | None = None
    #: memory the guest has touched (non-zero pages); None means all of it
    resident_mib: float | None = None
    #: dirty-rate windows as measured, ``((window_s, mib_s), ...)``: more
    #: than one window length shows the working set
    #: (:mod:`nova_livemig.dirtyrate`)
    dirty_rate_samples: tuple = ()

    @property
    def busy_vcpus(self):
        return self.vcpus * self.cpu_util


@dataclasses.dataclass(frozen=True)
class Link:
    a: str
    b: str
    gbit_s: float
    used_gbit_s: float = 0.0

    @property
    def free_gbit_s(self):
        return max(self.gbit_s - self.used_gbit_s, 0.0)

    @property
    def key(self):
        """A name for the link that does not depend on its direction."""
        return tuple(sorted((self.a, self.b)))


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A validated cluster snapshot. Build it with :func:`from_primitive`.

    ``hosts`` and ``vms`` map names to values, in the order of the file.
    """
    hosts: dict
    vms: dict
    switches: tuple
    links: tuple

    def vms_on(self, host_name):
        """The VMs on one host, in snapshot order."""
        return [vm for vm in self.vms.values() if vm.host == host_name]

    def host(self, name):
        try:
            return self.hosts[name]
        except KeyError:
            raise exception.NotFound('host', name, self.hosts) from None

    def vm(self, vm_id):
        try:
            return self.vms[vm_id]
        except KeyError:
            raise exception.NotFound('vm', vm_id, self.vms) from None

    def with_vms(self, vms):
        """A copy with another placement (VMs replaced by id)."""
        new = dict(self.vms)
        for vm in vms:
            new[vm.id] = vm
        return dataclasses.replace(self, vms=new)

    def relocated(self, placement):
        """A copy with the VMs of ``placement`` (``{vm id: host name}``)
        on those hosts; unchecked (:func:`nova_livemig.plan.apply`
        checks a plan's moves)."""
        return self.with_vms([dataclasses.replace(self.vms[vm], host=host)
                              for vm, host in placement.items()])

    def to_primitive(self):
        return {
            'version': SNAPSHOT_VERSION,
            'hosts': [_drop_none(dataclasses.asdict(h), list_fields=(
                'aggregates',)) for h in self.hosts.values()],
            'vms': [_vm_primitive(v) for v in self.vms.values()],
            'network': {'switches': list(self.switches),
                        'links': [dataclasses.asdict(lk)
                                  for lk in self.links]},
        }


def _vm_primitive(vm):
    out = _drop_none(dataclasses.asdict(vm))
    if out['dirty_rate_samples']:
        out['dirty_rate_samples'] = dirtyrate.to_primitive(
            vm.dirty_rate_samples)
    else:
        del out['dirty_rate_samples']
    return out


def _drop_none(d, list_fields=()):
    out = {k: v for k, v in d.items() if v is not None}
    for f in list_fields:
        if f in out:
            out[f] = list(out[f])
    return out


# Field tables: every field allowed in each object of the format, with
# its kind (see nova_livemig.validation) and the default of an optional one.
_HOST_FIELDS = {
    'name': required(STRING),
    'vcpus': required(POSITIVE_INTEGER),
    'memory_mib': required(POSITIVE_INTEGER),
    'cpu_allocation_ratio': optional(RATIO, 1.0),
    'ram_allocation_ratio': optional(RATIO, 1.0),
    'state': optional(one_of(HOST_STATES), 'up'),
    'cpu_util': optional(FRACTION),
    'power_idle_w': optional(NON_NEGATIVE),
    'power_max_w': optional(NON_NEGATIVE),
    'aggregates': optional(STRINGS, ()),
}
_VM_FIELDS = {
    'id': required(STRING),
    'host': required(STRING),
    'vcpus': required(POSITIVE_INTEGER),
    'memory_mib': required(POSITIVE_INTEGER),
    'cpu_util': required(FRACTION),
    'dirty_rate_mib_s': required(NON_NEGATIVE),
    'wws_mib': optional(POSITIVE),
    'pinned': optional(BOOLEAN, False),
    'dirty_rate_err_mib_s': optional(NON_NEGATIVE),
    'resident_mib': optional(POSITIVE),
    'dirty_rate_samples': optional(dirtyrate.SAMPLES, ()),
}
_LINK_FIELDS = {
    'a': required(STRING),
    'b': required(STRING),
    'gbit_s': required(POSITIVE),
    'used_gbit_s': optional(NON_NEGATIVE, 0.0),
}
_TOP_FIELDS = ('version', 'hosts', 'vms', 'network')
#: the fields of each object that name something (strings, or lists of
#: strings), which tables and errors show: no control characters
_HOST_NAMES = ('name', 'aggregates')
_VM_NAMES = ('id', 'host')
_LINK_NAMES = ('a', 'b')
_NETWORK_FIELDS = ('switches', 'links')


def from_primitive(data):
    """Validate a decoded snapshot document and return a :class:`Snapshot`.

    :param data: the decoded JSON document (dicts, lists, numbers, strings)
    :returns: a :class:`Snapshot`
    :raises InvalidSnapshot: listing every problem found
    """
    chk = validation.Checker()
    if not isinstance(data, dict):
        chk.error('$', data, 'a JSON object')
        raise exception.InvalidSnapshot(chk.errors)
    chk.unknown_fields('$', data, _TOP_FIELDS)
    version = data.get('version')
    # 1.0 and true equal 1 in Python, but are not the integer 1
    if type(version) is not int or version != SNAPSHOT_VERSION:
        chk.error('$.version', version, f'the integer {SNAPSHOT_VERSION} '
                  '(the only format version known)')
        raise exception.InvalidSnapshot(chk.errors)
    for key in ('hosts', 'vms'):
        if not isinstance(data.get(key), list):
            chk.error(f'$.{key}', data.get(key), 'a JSON list')
    network = data.get('network')
    if not isinstance(network, dict):
        chk.error('$.network', network,
                  'a JSON object with "switches" and "links"')
        network = {}
    if chk.errors:
        raise exception.InvalidSnapshot(chk.errors)

    hosts = {}
    # Names of hosts that failed validation: VMs and links may still name
    # them without a second, misleading "unknown host" error.
    broken = set()
    for i, raw in enumerate(data['hosts']):
        path = f'$.hosts[{i}]'
        fields = chk.obj(path, raw, _HOST_FIELDS)
        if fields is None or not _names_ok(chk, path, fields, _HOST_NAMES):
            if isinstance(raw, dict) and isinstance(raw.get('name'), str):
                broken.add(raw['name'])
            continue
        if fields['name'] in hosts:
            chk.error(f'{path}.name', fields['name'],
                      'a name no other host has')
            continue
        idle, peak = fields['power_idle_w'], fields['power_max_w']
        if idle is not None and peak is not None and peak < idle:
            chk.error(f'{path}.power_max_w', peak,
                      f'at least power_idle_w ({idle})')
        hosts[fields['name']] = Host(**fields)
    if not hosts and not chk.errors:
        chk.error('$.hosts', data['hosts'], 'at least one host')

    vms = {}
    for i, raw in enumerate(data['vms']):
        path = f'$.vms[{i}]'
        fields = chk.obj(path, raw, _VM_FIELDS)
        if fields is None or not _names_ok(chk, path, fields, _VM_NAMES):
            continue
        if fields['id'] in vms:
            chk.error(f'{path}.id', fields['id'], 'an id no other VM has')
            continue
        if fields['host'] in broken:
            continue
        if fields['host'] not in hosts:
            chk.error(f'{path}.host', fields['host'],
                      'the name of a host in $.hosts')
            continue
        for key in ('wws_mib', 'resident_mib'):
            if (fields[key] is not None
                    and fields[key] > fields['memory_mib']):
                chk.error(f'{path}.{key}', fields[key],
                          f'at most memory_mib ({fields["memory_mib"]})')
        vms[fields['id']] = Vm(**fields)

    switches, links = _network(chk, network, hosts, broken)
    if not chk.errors:
        for i, name, peer in connectivity.cut_off(hosts, switches, links):
            chk.error(f'$.hosts[{i}].name', name,
                      'a host with a path of links, through switches only, '
                      f'to every other host (none to {peer!r})')
    if chk.errors:
        raise exception.InvalidSnapshot(chk.errors)
    return Snapshot(hosts=hosts, vms=vms, switches=switches, links=links)


def _names_ok(chk, path, fields, keys):
    """Check the names among the checked ``fields`` of one object
    (:data:`nova_livemig.validation.NAME`); False when one is refused.

    :param keys: the fields that hold a name or a tuple of names
    """
    ok = True
    for key in keys:
        value = fields[key]
        names = value if isinstance(value, tuple) else (value,)
        for i, name in enumerate(names):
            where = (f'{path}.{key}[{i}]' if isinstance(value, tuple)
                     else f'{path}.{key}')
            if chk.check(where, name, validation.NAME) is validation.INVALID:
                ok = False
    return ok


def _network(chk, network, hosts, broken=frozenset()):
    """The switches and links of ``$.network``, checked.

    :param broken: names of hosts that failed validation (links to them
        are dropped without a second error)
    :returns: ``(switches, links)``, tuples
    """
    chk.unknown_fields('$.network', network, _NETWORK_FIELDS)
    raw_switches = network.get('switches', [])
    switches = []
    if not isinstance(raw_switches, list):
        chk.error('$.network.switches', raw_switches,
                  'a list of switch names')
        raw_switches = []
    for i, name in enumerate(raw_switches):
        path = f'$.network.switches[{i}]'
        name = chk.check(path, name, STRING)
        if name is not validation.INVALID:
            name = chk.check(path, name, validation.NAME)
        if name is validation.INVALID:
            continue
        if name in hosts or name in switches:
            chk.error(path, name, 'a name no host or other switch has')
        else:
            switches.append(name)
    nodes = set(hosts) | set(switches)
    raw_links = network.get('links', [])
    if not isinstance(raw_links, list):
        chk.error('$.network.links', raw_links, 'a list of links')
        raw_links = []
    links = []
    seen = set()
    for i, raw in enumerate(raw_links):
        path = f'$.network.links[{i}]'
        fields = chk.obj(path, raw, _LINK_FIELDS)
        if fields is None or not _names_ok(chk, path, fields,
                                           _LINK_NAMES):
            continue
        bad = False
        for end in ('a', 'b'):
            if fields[end] in broken:
                bad = True
            elif fields[end] not in nodes:
                chk.error(f'{path}.{end}', fields[end],
                          'the name of a host or switch')
                bad = True
        if bad:
            continue
        if fields['a'] == fields['b']:
            chk.error(f'{path}.b', fields['b'], 'a node other than "a"')
            continue
        if fields['used_gbit_s'] > fields['gbit_s']:
            chk.error(f'{path}.used_gbit_s', fields['used_gbit_s'],
                      f'at most gbit_s ({fields["gbit_s"]})')
            continue
        link = Link(**fields)
        if link.key in seen:
            chk.error(path, [link.a, link.b],
                      'one link per pair of nodes (add capacities instead)')
            continue
        seen.add(link.key)
        links.append(link)
    return tuple(switches), tuple(links)


def loads(text):
    """Parse and validate snapshot JSON text, strictly
    (:func:`nova_livemig.validation.parse_json`, nested at most
    :data:`MAX_SNAPSHOT_DEPTH` deep).

    :raises InvalidSnapshot: on malformed or invalid content
    """
    try:
        data = validation.parse_json(text, max_depth=MAX_SNAPSHOT_DEPTH)
    except exception.InvalidInput as err:
        raise exception.InvalidSnapshot([err]) from None
    return from_primitive(data)


def load(path, field='snapshot', max_bytes=MAX_SNAPSHOT_BYTES):
    """Read and validate a snapshot file. A FIFO, a device, a directory
    or a file of more than ``max_bytes`` is refused, never waited on or
    loaded whole (:func:`nova_livemig.textfile.read`).

    :param field: the option that named the file, for errors
    :raises InvalidInput: naming ``field`` when the file cannot be read,
        is not a regular file, is too long or is not UTF-8
    :raises InvalidSnapshot: on malformed or invalid content
    """
    return loads(textfile.read(path, field, max_bytes))


def dumps(snapshot):
    """Snapshot JSON text of a :class:`Snapshot`."""
    return json.dumps(snapshot.to_primitive(), indent=1)
