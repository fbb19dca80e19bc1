"""Lower bounds: how few hosts can carry the VMs, how short a schedule can be.

A plan is judged against these bounds, not against another heuristic.

**Active hosts** (:func:`active_hosts`). Only hosts that are ``up`` count,
and only the VMs on them. For each resource, the demand of the VMs must fit
in the capacity of the hosts left active:

* ``memory``: memory under ``ram_allocation_ratio``;
* ``vcpus``: allocated vcpus under ``cpu_allocation_ratio``;
* ``cpu_used``: busy vcpus under ``cpu_target_util`` times the host's vcpus;
* ``pinned``: a host holding a pinned VM stays active whatever it holds.

Hosts holding pinned VMs are counted first with their capacity; the rest of
the demand is covered by the largest other hosts, so the count is a valid
bound for hosts of different sizes. Aggregates: a VM may only go to hosts in
every aggregate its host is in. VMs with such a requirement are grouped with
the hosts they may use; groups with disjoint hosts must each be covered by
their own hosts, so their bounds add up. The bound is the largest of the
whole-cluster bound and that sum.

**Makespan** (:func:`makespan_s`). No schedule can finish before the longest
single move (alone on its path), before every link has carried the bytes
crossing it at its free capacity, nor before each host has run its outgoing
(incoming) moves at most ``max_outgoing_per_host`` (``max_incoming_per_host``)
at a time.

>>> makespan_s([('a', 'b', (('a', 'b'),), 1e9, 2.0)],
...            {('a', 'b'): 1.0}, goodput_fraction=1.0, max_outgoing=2,
...            max_incoming=2)
(8.0, "link ('a', 'b'): 1.0 GB at 1 Gbit/s")
"""

import dataclasses

from nova_livemig import cost

RESOURCES = ('memory', 'vcpus', 'cpu_used')


@dataclasses.dataclass(frozen=True)
class HostBound:
    """A lower bound on the hosts in use.

    :ivar hosts: the bound
    :ivar by_resource: ``{resource: hosts}`` for the whole cluster, with
        ``pinned`` the hosts holding pinned VMs
    :ivar aggregate_sum: the sum over aggregate groups (0 without any)
    """
    hosts: int
    by_resource: dict
    aggregate_sum: int = 0

    def to_primitive(self):
        return {'hosts': self.hosts, 'by_resource': dict(self.by_resource),
                'aggregate_sum': self.aggregate_sum}


def _demand(vm):
    return (vm.memory_mib, vm.vcpus, vm.busy_vcpus)


def _capacity(host, cpu_target_util):
    return (host.memory_capacity_mib, host.vcpu_capacity,
            cpu_target_util * host.vcpus)


def _cover(demand, hosts, forced, cpu_target_util):
    """Hosts needed per resource: forced hosts first, then largest first."""
    caps = [_capacity(h, cpu_target_util) for h in hosts]
    counts = {}
    for r, name in enumerate(RESOURCES):
        left = demand[r] - sum(c[r] for h, c in zip(hosts, caps)
                               if h.name in forced)
        extra = 0
        others = sorted((c[r] for h, c in zip(hosts, caps)
                         if h.name not in forced), reverse=True)
        for cap in others:
            if left <= 1e-9:
                break
            left -= cap
            extra += 1
        counts[name] = extra
    return counts


def _bound(vms, hosts, cpu_target_util):
    forced = {vm.host for vm in vms if vm.pinned}
    forced &= {h.name for h in hosts}
    demand = [0.0, 0.0, 0.0]
    for vm in vms:
        for r, d in enumerate(_demand(vm)):
            demand[r] += d
    counts = _cover(demand, hosts, forced, cpu_target_util)
    total = len(forced) + max(counts.values(), default=0)
    if not vms:
        total = len(forced)
    counts['pinned'] = len(forced)
    return min(total, len(hosts)), counts


def active_hosts(snapshot, cpu_target_util):
    """A lower bound on the hosts that must stay in use.

    :param snapshot: a :class:`nova_livemig.model.Snapshot`
    :param cpu_target_util: ``PlanningOptions.cpu_target_util``
    :returns: a :class:`HostBound`
    """
    up = [h for h in snapshot.hosts.values() if h.state == 'up']
    up_names = {h.name for h in up}
    vms = [vm for vm in snapshot.vms.values() if vm.host in up_names]
    whole, counts = _bound(vms, up, cpu_target_util)

    # Aggregate groups: requirement S -> eligible hosts; merge overlaps.
    by_req = {}
    for vm in vms:
        req = frozenset(snapshot.hosts[vm.host].aggregates)
        if req:
            by_req.setdefault(req, []).append(vm)
    groups = []  # [set of host names, list of vms]
    for req, req_vms in by_req.items():
        eligible = {h.name for h in up if req <= set(h.aggregates)}
        merged = [eligible, list(req_vms)]
        rest = []
        for g in groups:
            if g[0] & merged[0]:
                merged[0] |= g[0]
                merged[1].extend(g[1])
            else:
                rest.append(g)
        groups = rest + [merged]
    agg_sum = 0
    for names, group_vms in groups:
        hosts = [h for h in up if h.name in names]
        agg_sum += _bound(group_vms, hosts, cpu_target_util)[0]
    return HostBound(hosts=max(whole, agg_sum), by_resource=counts,
                     aggregate_sum=agg_sum)


def hosts_in_use(snapshot):
    """Up hosts holding at least one VM."""
    return len({vm.host for vm in snapshot.vms.values()
                if snapshot.hosts[vm.host].state == 'up'})


def makespan_s(items, free_gbit_s, goodput_fraction=None, max_outgoing=1,
               max_incoming=1, params=None):
    """A lower bound on the makespan of a set of moves.

    :param items: ``(source, destination, link keys, min_bytes, min_s)``
        per move: the fewest bytes and the shortest time it can take alone
        on its path
    :param free_gbit_s: ``{link key: free capacity}``
    :param goodput_fraction: payload fraction of the line rate (defaults to
        the cost model's, or ``params``')
    :returns: ``(seconds, what sets the bound)``
    """
    if goodput_fraction is None:
        goodput_fraction = (params or cost.CostParams()).goodput_fraction
    best = (0.0, 'no moves')
    link_bytes = {}
    out_s = {}
    in_s = {}
    for src, dst, links, min_bytes, min_s in items:
        if min_s > best[0]:
            best = (min_s, f'longest move {src}->{dst}: {min_s:.1f} s')
        for key in links:
            link_bytes[key] = link_bytes.get(key, 0) + min_bytes
        out_s[src] = out_s.get(src, 0.0) + min_s
        in_s[dst] = in_s.get(dst, 0.0) + min_s
    for key, nbytes in link_bytes.items():
        rate = free_gbit_s[key] * cost.GBIT * goodput_fraction
        if rate > 0 and nbytes / rate > best[0]:
            best = (nbytes / rate, (f'link {key}: {nbytes / 1e9:.1f} GB '
                                    f'at {free_gbit_s[key]:g} Gbit/s'))
    for host, total in out_s.items():
        if total / max_outgoing > best[0]:
            best = (total / max_outgoing, (f'host {host}: {total:.1f} s of '
                                         f'outgoing moves, {max_outgoing} at a time'))
    for host, total in in_s.items():
        if total / max_incoming > best[0]:
            best = (total / max_incoming, (f'host {host}: {total:.1f} s of '
                                         f'incoming moves, {max_incoming} at a time'))
    return best
