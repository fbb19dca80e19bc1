"""The live cluster model: the agents' latest HostReports as a Snapshot.

Each agent casts a HostReport now and then; the model keeps the newest one
per host. A report older than ``report_max_age_s`` is stale: its host counts
as ``down`` (it receives no migrations, its VMs stay in the model so none is
unaccounted for). When reports come again after none came at all (a
message bus outage, the conductor's start), every host gets
``report_max_age_s`` to report before it counts as down: an outage is no
reason to judge a host gone.

Migrations the conductor saw complete are applied at once
(:meth:`LiveModel.vm_moved`), so the next plan does not wait for the next
report; a report measured before the move does not undo it.

A VM whose report has no ``resident_mib`` gets the one its latest
completed migration measured (:meth:`LiveModel.learn`,
:mod:`nova_livemig.history.resident`): the zero
pages its driver counted are memory the next migration need not send.

The network comes from a topology snapshot (``[conductor] topology_file``)
or, without one, a single switch with one link per host.
:meth:`LiveModel.publish` writes the snapshot for the Nova weigher,
atomically (write a temporary file, then rename).
"""

import dataclasses
import os
import threading
import time
import typing

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import model
from nova_livemig import textfile
from nova_livemig.history import resident

SWITCH = 'fabric'
#: seconds a report may say it was measured after the conductor's now
MAX_SKEW_S = 60.0


@dataclasses.dataclass(frozen=True)
class Entry:
    """One host's newest report, with when the conductor received it."""
    host: dict
    vms: tuple
    measured_at: float
    received_at: float
    driver: str = ''
    migration_uri: str | None = None


class VmPlace(typing.NamedTuple):
    """Where a VM is and its size (:meth:`LiveModel.placement`)."""
    host: str
    vcpus: int
    memory_mib: int


class Placement(typing.NamedTuple):
    """The hosts (``{name: model.Host}``, stale ones ``down``) and VMs
    (``{id: VmPlace}``) of the live model, as its snapshot has them."""
    hosts: dict
    vms: dict


class LiveModel:
    """:param report_max_age_s: seconds after which a report is stale
    :param topology: a :class:`~nova_livemig.model.Snapshot` whose network
        to use, or None for one switch
    :param default_link_gbit_s: link speed of hosts the topology lacks
    :param clock: a function returning epoch seconds (tests pass their own)
    :param max_skew_s: how far in the future a report may say it was
        measured (agents' clocks are off a little)
    """

    def __init__(self, report_max_age_s, topology=None,
                 default_link_gbit_s=10.0, clock=time.time,
                 max_skew_s=MAX_SKEW_S):
        self.report_max_age_s = report_max_age_s
        self.max_skew_s = max_skew_s
        self.topology = topology
        self.default_link_gbit_s = default_link_gbit_s
        self.clock = clock
        self._lock = threading.Lock()
        self._entries = {}
        self._moved = {}
        #: vm -> (finished_at, resident MiB) learnt from its migrations
        self._learnt = {}
        self._resumed_at = float('-inf')
        #: host -> (entry, host dict, model.Host, {vm: (VmPlace, vm
        #: entry)}): what :meth:`placement` built from the entry last
        #: time (rebuilt when the host reports again)
        self._placed = {}

    def update(self, report):
        """Take a HostReport (a :mod:`nova_livemig.messages` value or a
        dict with the same fields); an older report than the one held is
        ignored. The host and VM entries are validated by
        :func:`model.from_primitive` when the snapshot is built; one that
        fails is rejected here, naming the field.

        :raises InvalidInput: for a host or VM entry the snapshot format
            does not accept, a host that is a switch of the network, or a
            report measured more than ``max_skew_s`` in the future or so
            long ago that it is stale already (``report_max_age_s`` and
            ``max_skew_s`` before now)
        """
        get = (report.get if isinstance(report, dict)
               else lambda k, d=None: getattr(report, k, d))
        host, vms = dict(get('host')), tuple(dict(v) for v in get('vms'))
        _check_entries(host, vms)
        now = self.clock()
        entry = Entry(host=host, vms=vms,
                      measured_at=float(get('measured_at')),
                      received_at=now, driver=get('driver', ''),
                      migration_uri=get('migration_uri'))
        self._check_report(entry, now)
        with self._lock:
            old = self._entries.get(host['name'])
            if old is not None and old.measured_at > entry.measured_at:
                return False
            if not any(self._fresh(e, entry.received_at)
                       for e in self._entries.values()):
                self._resumed_at = entry.received_at  # the end of an outage
            self._entries[host['name']] = entry
        return True

    def _check_report(self, entry, now):
        """Refuse a report that would break the model: one naming a
        switch (every plan would fail) or measured in the future (the
        host's next reports would be ignored, it would go down)."""
        name = entry.host['name']
        switches = {SWITCH} | set(
            self.topology.switches if self.topology is not None else ())
        if name in switches:
            raise exception.InvalidInput(
                'report.host.name', loglines.Clipped(name),
                'a host, not a switch of the network')
        if entry.measured_at > now + self.max_skew_s:
            raise exception.InvalidInput(
                'report.measured_at', entry.measured_at,
                f'at most {self.max_skew_s:g} s after the conductor\'s '
                f'clock ({now:.1f}); is the agent\'s clock right?')
        oldest = now - self.report_max_age_s - self.max_skew_s
        if entry.measured_at < oldest:
            raise exception.InvalidInput(
                'report.measured_at', entry.measured_at,
                f'at least {oldest:.1f} (a report older than '
                f'report_max_age_s is stale on arrival)')

    def vm_moved(self, vm_id, host, at=None):
        """Record that ``vm_id`` now runs on ``host`` (a completed step)."""
        with self._lock:
            entry = None
            for rep in self._entries.values():
                for vm in rep.vms:
                    if vm['id'] == vm_id:
                        entry = vm
            if entry is not None:
                self._moved[vm_id] = (host,
                                      self.clock() if at is None else at,
                                      entry)

    def learn(self, *records):
        """Take what migration records say of their VMs' resident memory:
        per VM, the latest completed one with page counts wins, whatever
        the order they come in (:func:`nova_livemig.history.resident.merge`).

        :param records: :class:`~nova_livemig.history.record.Record` values
        """
        with self._lock:
            self._learnt = resident.merge(self._learnt, records)

    def migration_uri(self, host):
        entry = self._entries.get(host)
        return None if entry is None else entry.migration_uri

    def hosts_up(self):
        """Names of hosts whose report is fresh and whose state is up."""
        snap = self.snapshot()
        return {h.name for h in snap.hosts.values() if h.state == 'up'}

    def _fresh(self, entry, now):
        return now - entry.received_at <= self.report_max_age_s

    def _stale(self, entry, now):
        """Stale, and not in the grace after an outage: when reports
        start again after none came at all (a message bus outage, a
        conductor start), every host gets ``report_max_age_s`` to report
        before it counts as down."""
        return (not self._fresh(entry, now)
                and now - self._resumed_at > self.report_max_age_s)

    def is_fresh(self, host):
        """True when the host reported lately (or may still, after an
        outage): it is not to be judged gone."""
        entry = self._entries.get(host)
        return entry is not None and not self._stale(entry, self.clock())

    def any_fresh(self):
        """True when some host's report is fresh: the bus carries reports.
        When none is, the conductor is cut off (a message bus outage), and
        no host should be judged gone."""
        now = self.clock()
        return any(self._fresh(e, now) for e in list(self._entries.values()))

    def snapshot(self):
        """The current :class:`~nova_livemig.model.Snapshot`.

        :raises InvalidInput: when no agent has reported yet
        """
        hosts, where, learnt = self._merged()
        vms = {}
        for vm_id, (name, vm) in where.items():
            vm = dict(vm, host=name)
            if vm_id in learnt:
                vm = with_resident(vm, learnt[vm_id])
            vms[vm_id] = vm
        data = {'version': model.SNAPSHOT_VERSION, 'hosts': hosts,
                'vms': list(vms.values()),
                'network': self._network([h['name'] for h in hosts])}
        return model.from_primitive(data)

    def placement(self):
        """Where every VM is and what each host holds, as the snapshot
        says, without building (and validating again) the snapshot: what
        the plan runner needs on every pass, for a few milliseconds at a
        thousand hosts (a snapshot takes tens).

        :returns: a :class:`Placement`
        :raises InvalidInput: when no agent has reported yet
        """
        hosts, where, _ = self._merged()
        cache = self._placed
        out_hosts = {}
        for h in hosts:
            name = h['name']
            entry = self._entries.get(name)
            known = cache.get(name)
            if known is None or known[0] is not entry or known[1] != h:
                known = cache[name] = (entry, h, model.Host(**dict(
                    h, aggregates=tuple(h.get('aggregates') or ()))), {})
            out_hosts[name] = known[2]
        vms = {}
        for vm_id, (name, vm) in where.items():
            placed = cache.get(name)
            place = placed[3].get(vm_id) if placed else None
            if place is None or place[1] is not vm:
                place = (VmPlace(name, vm['vcpus'], vm['memory_mib']), vm)
                if placed:
                    placed[3][vm_id] = place
            vms[vm_id] = place[0]
        return Placement(hosts=out_hosts, vms=vms)

    def _merged(self):
        """The reports as one cluster: host entries (stale ones
        ``down``), ``{vm: (host, entry)}`` (the newest report of a VM
        wins; a move the conductor saw wins over a report measured
        before it) and the resident memory learnt per VM.

        A move is forgotten once a report measured after it speaks for
        the VM: its destination's, measured over ``max_skew_s`` after the
        move without it, says the VM has left (or was deleted), and it
        leaves the model.
        """
        now = self.clock()
        with self._lock:
            entries = dict(self._entries)
            moved = dict(self._moved)
            learnt = resident.figures(self._learnt)
        if not entries:
            raise exception.InvalidInput(
                'live model', 'no host reports',
                'at least one agent report (are the agents running and '
                'on the same transport_url?)')
        hosts, where = [], {}
        newest = {}
        for name, entry in sorted(entries.items()):
            host = dict(entry.host)
            if self._stale(entry, now):
                host['state'] = 'down'
            hosts.append(host)
            for vm in entry.vms:
                seen = newest.get(vm['id'])
                if seen is None or entry.measured_at > seen:
                    newest[vm['id']] = entry.measured_at
                    where[vm['id']] = (name, vm)
        settled = []
        for vm_id, (host, at, entry) in moved.items():
            if host not in entries:
                continue
            if vm_id not in where:
                if entries[host].measured_at > at + self.max_skew_s:
                    # its destination measured it gone well after the
                    # move (a report stamped just after the move may have
                    # been read before it)
                    settled.append(vm_id)
                    continue
                # moved to a host that has not reported since (or died
                # since): it is there, not nowhere
                where[vm_id] = (host, entry)
            elif newest[vm_id] < at:
                where[vm_id] = (host, where[vm_id][1])
            else:
                settled.append(vm_id)  # a later report has it
        if settled:
            with self._lock:
                for vm_id in settled:
                    if self._moved.get(vm_id) == moved[vm_id]:
                        del self._moved[vm_id]
        return hosts, where, learnt

    def _network(self, names):
        if self.topology is None:
            return {'switches': [SWITCH], 'links': [
                {'a': n, 'b': SWITCH, 'gbit_s': self.default_link_gbit_s}
                for n in names]}
        known = set(names) | set(self.topology.switches)
        links = [dataclasses.asdict(lk) for lk in self.topology.links
                 if lk.a in known and lk.b in known]
        switches = list(self.topology.switches)
        linked = {lk['a'] for lk in links} | {lk['b'] for lk in links}
        extra = [n for n in names if n not in linked]
        if extra:
            switches.append(SWITCH)
            anchor = switches[0]
            links += [{'a': n, 'b': SWITCH,
                       'gbit_s': self.default_link_gbit_s} for n in extra]
            if anchor != SWITCH:
                links.append({'a': SWITCH, 'b': anchor,
                              'gbit_s': self.default_link_gbit_s})
        return {'switches': switches, 'links': links}

    def publish(self, path):
        """Write the snapshot to ``path`` atomically; returns it."""
        snap = self.snapshot()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with textfile.replacing(path, 'snapshot_path', '.snapshot-') as f:
            f.write(model.dumps(snap))
        return snap


def with_resident(vm, resident_mib):
    """A VM entry with ``resident_mib`` when it has none: the figure,
    at most its memory (a VM resized since), never 0.

    >>> with_resident({'id': 'v', 'memory_mib': 512}, 600.0)['resident_mib']
    512
    >>> with_resident({'id': 'v', 'memory_mib': 512, 'resident_mib': 64},
    ...               300.0)['resident_mib']
    64
    """
    if vm.get('resident_mib') is not None or not resident_mib > 0:
        return vm
    memory = vm.get('memory_mib')
    if isinstance(memory, (int, float)) and memory > 0:
        resident_mib = min(resident_mib, memory)
    return dict(vm, resident_mib=resident_mib)


def _check_entries(host, vms):
    """Validate one report's entries alone (a one-host snapshot)."""
    data = {'version': model.SNAPSHOT_VERSION, 'hosts': [host],
            'vms': [dict(vm, host=host.get('name')) for vm in vms],
            'network': {'switches': [], 'links': []}}
    try:
        model.from_primitive(data)
    except exception.InvalidSnapshot as err:
        first = err.errors[0]
        raise exception.InvalidInput(
            'report.' + first.field.lstrip('$.'), first.value,
            first.allowed) from err


def load_topology(path):
    """The topology snapshot of ``[conductor] topology_file``, or None."""
    return None if not path else model.load(path)

