"""Cluster snapshot, format version 1: hosts, VMs and the links between them.

A snapshot is the interchange between the measurements (agents, or an
operator's what-if file) and the planners. It is plain JSON; units are in the
field names. :func:`from_primitive` validates *everything* before returning,
and reports every problem at once, each naming its JSON path, the value and
what is allowed. Nothing is planned from a partly valid snapshot.

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
import math

from nova_livemig import exception

SNAPSHOT_VERSION = 1
HOST_STATES = ('up', 'down', 'maintenance')


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

    def to_primitive(self):
        return {
            'version': SNAPSHOT_VERSION,
            'hosts': [_drop_none(dataclasses.asdict(h), list_fields=(
                'aggregates',)) for h in self.hosts.values()],
            'vms': [_drop_none(dataclasses.asdict(v))
                    for v in self.vms.values()],
            'network': {'switches': list(self.switches),
                        'links': [dataclasses.asdict(lk)
                                  for lk in self.links]},
        }


def _drop_none(d, list_fields=()):
    out = {k: v for k, v in d.items() if v is not None}
    for f in list_fields:
        if f in out:
            out[f] = list(out[f])
    return out


# Field tables: name -> (kind, required, default). Kinds are checked by
# _Checker.value(); each table is the whole list of fields allowed.
_NUM = 'number'
_INT = 'integer'
_STR = 'string'
_BOOL = 'boolean'
_FRAC = 'fraction'
_RATIO = 'ratio'
_NONNEG = 'non-negative number'
_POS = 'positive number'

_HOST_FIELDS = {
    'name': (_STR, True, None),
    'vcpus': (_INT, True, None),
    'memory_mib': (_INT, True, None),
    'cpu_allocation_ratio': (_RATIO, False, 1.0),
    'ram_allocation_ratio': (_RATIO, False, 1.0),
    'state': (HOST_STATES, False, 'up'),
    'cpu_util': (_FRAC, False, None),
    'power_idle_w': (_NONNEG, False, None),
    'power_max_w': (_NONNEG, False, None),
    'aggregates': ('list of strings', False, ()),
}
_VM_FIELDS = {
    'id': (_STR, True, None),
    'host': (_STR, True, None),
    'vcpus': (_INT, True, None),
    'memory_mib': (_INT, True, None),
    'cpu_util': (_FRAC, True, None),
    'dirty_rate_mib_s': (_NONNEG, True, None),
    'wws_mib': (_POS, False, None),
    'pinned': (_BOOL, False, False),
    'dirty_rate_err_mib_s': (_NONNEG, False, None),
    'resident_mib': (_POS, False, None),
}
_LINK_FIELDS = {
    'a': (_STR, True, None),
    'b': (_STR, True, None),
    'gbit_s': (_POS, True, None),
    'used_gbit_s': (_NONNEG, False, 0.0),
}


class _Checker:
    """Collects every validation error with its JSON path."""

    def __init__(self):
        self.errors = []

    def error(self, path, value, allowed):
        self.errors.append(exception.InvalidInput(path, value, allowed))

    def obj(self, path, data, fields):
        """Check one JSON object against a field table; returns a dict of
        the valid values with defaults, or None if the object is unusable.

        Each value first goes through the fast check of its kind (exact
        JSON types); anything that fails it takes the full path of
        :meth:`value`, which either accepts it or records the error.
        """
        if not isinstance(data, dict):
            self.error(path, data, 'a JSON object')
            return None
        ok = True
        if not data.keys() <= fields.keys():
            for key in data:
                if key not in fields:
                    self.error(f'{path}.{key}', data[key],
                               'no such field; known fields: '
                               + ', '.join(fields))
            ok = False
        out = {}
        for key, (kind, required, default) in fields.items():
            if key not in data:
                if required:
                    self.error(f'{path}.{key}', None,
                               f'a required {_describe(kind)}')
                    ok = False
                else:
                    out[key] = default
                continue
            raw = data[key]
            value = _FAST[kind](raw) if kind in _FAST else _BAD
            if value is _BAD:
                good, value = self.value(f'{path}.{key}', raw, kind)
                ok = ok and good
            out[key] = value
        return out if ok else None

    def value(self, path, value, kind):
        if isinstance(kind, tuple):
            if value in kind:
                return True, value
            self.error(path, value, 'one of ' + ', '.join(kind))
            return False, None
        if kind == _STR:
            if isinstance(value, str) and value:
                return True, value
            self.error(path, value, 'a non-empty string')
            return False, None
        if kind == _BOOL:
            if isinstance(value, bool):
                return True, value
            self.error(path, value, 'true or false')
            return False, None
        if kind == 'list of strings':
            if (isinstance(value, list)
                    and all(isinstance(v, str) and v for v in value)):
                return True, tuple(value)
            self.error(path, value, 'a list of non-empty strings')
            return False, None
        # numbers: bool is an int in Python, but not a number in JSON
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value)):
            self.error(path, value, f'a {_describe(kind)}')
            return False, None
        if kind == _INT:
            if isinstance(value, int) and value > 0:
                return True, value
            self.error(path, value, 'a positive integer')
            return False, None
        if kind == _FRAC and not 0.0 <= value <= 1.0:
            self.error(path, value, 'a fraction from 0 to 1')
            return False, None
        if kind in (_RATIO, _POS) and value <= 0:
            self.error(path, value, f'a {_describe(kind)}')
            return False, None
        if kind == _NONNEG and value < 0:
            self.error(path, value, 'a non-negative number')
            return False, None
        return True, float(value)


_BAD = object()
_NUMBER_TYPES = (int, float)
_INF = float('inf')
# Fast checks for exact JSON types: the value to keep, or _BAD.
_FAST = {
    _STR: lambda v: v if type(v) is str and v else _BAD,
    _INT: lambda v: v if type(v) is int and v > 0 else _BAD,
    _BOOL: lambda v: v if type(v) is bool else _BAD,
    _FRAC: lambda v: (float(v) if type(v) in _NUMBER_TYPES and 0 <= v <= 1
                      else _BAD),
    _NONNEG: lambda v: (float(v) if type(v) in _NUMBER_TYPES
                        and 0 <= v < _INF else _BAD),
    _POS: lambda v: (float(v) if type(v) in _NUMBER_TYPES and 0 < v < _INF
                     else _BAD),
    _RATIO: lambda v: (float(v) if type(v) in _NUMBER_TYPES
                       and 0 < v < _INF else _BAD),
    HOST_STATES: lambda v: v if type(v) is str and v in HOST_STATES else _BAD,
}


def _describe(kind):
    if isinstance(kind, tuple):
        return 'one of ' + ', '.join(kind)
    return {_FRAC: 'fraction from 0 to 1', _RATIO: 'positive ratio',
            _INT: 'positive integer'}.get(kind, kind)


def from_primitive(data):
    """Validate a decoded snapshot document and return a :class:`Snapshot`.

    :param data: the decoded JSON document (dicts, lists, numbers, strings)
    :returns: a :class:`Snapshot`
    :raises InvalidSnapshot: listing every problem found
    """
    chk = _Checker()
    if not isinstance(data, dict):
        raise exception.InvalidSnapshot(
            [exception.InvalidInput('$', data, 'a JSON object')])
    top = {'version': 'integer', 'hosts': 'list', 'vms': 'list',
           'network': 'object'}
    for key in data:
        if key not in top:
            chk.error(f'$.{key}', data[key],
                      'no such field; known fields: ' + ', '.join(top))
    if data.get('version') != SNAPSHOT_VERSION:
        chk.error('$.version', data.get('version'),
                  f'{SNAPSHOT_VERSION} (the only format version known)')
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
        if fields is None:
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
        if fields is None:
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
        _check_connected(chk, hosts, switches, links)
    if chk.errors:
        raise exception.InvalidSnapshot(chk.errors)
    return Snapshot(hosts=hosts, vms=vms, switches=switches, links=links)


def _network(chk, network, hosts, broken=frozenset()):
    for key in network:
        if key not in ('switches', 'links'):
            chk.error(f'$.network.{key}', network[key],
                      'no such field; known fields: switches, links')
    raw_switches = network.get('switches', [])
    switches = []
    if not isinstance(raw_switches, list):
        chk.error('$.network.switches', raw_switches,
                  'a list of switch names')
        raw_switches = []
    for i, name in enumerate(raw_switches):
        path = f'$.network.switches[{i}]'
        if not isinstance(name, str) or not name:
            chk.error(path, name, 'a non-empty string')
        elif name in hosts or name in switches:
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
        if fields is None:
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


def _check_connected(chk, hosts, switches, links):
    """Every host must reach every other host over links, through switches
    only: hosts do not forward migration traffic (see graph.py).

    Switches joined by links form fabrics. Two hosts are connected when
    they touch the same fabric or share a direct link. The fabric most
    hosts touch is the cluster's; a host off it is an error unless it has a
    direct link to every other host (a two-host lab, say).
    """
    if len(hosts) < 2:
        return
    parent = {s: s for s in switches}

    def root(node):
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    direct = {h: set() for h in hosts}
    touches = {h: set() for h in hosts}
    for link in links:
        a_host, b_host = link.a in hosts, link.b in hosts
        if not a_host and not b_host:
            parent[root(link.a)] = root(link.b)
        elif a_host and b_host:
            direct[link.a].add(link.b)
            direct[link.b].add(link.a)
    for link in links:
        for end, other in ((link.a, link.b), (link.b, link.a)):
            if end in hosts and other not in hosts:
                touches[end].add(root(other))
    count = {}
    for fabrics in touches.values():
        for fabric in fabrics:
            count[fabric] = count.get(fabric, 0) + 1
    main = max(count, key=count.get) if count else None
    names = list(hosts)
    on_main = [h for h in names if main in touches[h]]
    for i, name in enumerate(names):
        if main in touches[name]:
            continue
        missing = set(names) - {name} - direct[name]
        if not missing:
            continue
        peer = next(h for h in on_main + names if h in missing)
        chk.error(f'$.hosts[{i}].name', name,
                  'a host with a path of links, through switches only, '
                  f'to every other host (none to {peer!r})')


def loads(text):
    """Parse and validate snapshot JSON text."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise exception.InvalidSnapshot([exception.InvalidInput(
            '$', f'{text[:40]}...' if len(text) > 40 else text,
            f'JSON text ({err})')]) from err
    return from_primitive(data)


def load(path):
    """Read and validate a snapshot file.

    :raises InvalidSnapshot: on unreadable, malformed or invalid content
    """
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError as err:
        raise exception.InvalidInput(
            'snapshot', path, f'a readable file ({err.strerror})') from err
    return loads(text)


def dumps(snapshot):
    return json.dumps(snapshot.to_primitive(), indent=1)
