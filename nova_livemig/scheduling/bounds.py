"""Lower bounds: how few hosts can carry the VMs, how short a schedule can be.

A plan is judged against these bounds, not against another heuristic.

**Active hosts** (:func:`active_hosts`). Only hosts that are ``up`` count,
and only the VMs on them. For each resource, the demand of the VMs must fit
in the capacity of the hosts left active:

* ``memory``: memory under ``ram_allocation_ratio``;
* ``vcpus``: allocated vcpus under ``cpu_allocation_ratio``;
* ``cpu_used``: busy vcpus under ``cpu_target_util`` times the host's vcpus;
* ``pinned``: a host holding a pinned VM stays active whatever it holds.

A host may end above a limit only by keeping some of the VMs it holds now,
so its capacity counts as the larger of the limit and its present load.
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
at a time. Bytes and times are the least any allowed algorithm needs alone
on the path. Per host, the two limits hold together for whichever algorithm
each move uses, so any mix ``l * bytes / NIC + (1 - l) * time / limit``
summed over its moves, each at its best algorithm, is a bound too: this
keeps a fast but byte-heavy algorithm and a frugal but slow one from each
setting half of the bound.

>>> makespan_s([('a', 'b', (('a', 'b'),), [(1e9, 2.0)])],
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
    :ivar by_resource: ``{resource: hosts}`` for the whole cluster besides
        the ``pinned`` ones (hosts holding pinned VMs, or VMs no allowed
        algorithm can move), with ``combined`` the bound on all resources
        at once
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


def _capacity(host, cpu_target_util, now):
    """What a host can hold at the end of any plan: under its limits, or
    what it holds now when that is more (VMs may stay on a host above a
    limit; it then receives nothing, so it holds a subset of its VMs)."""
    return (max(host.memory_capacity_mib, now[0]),
            max(host.vcpu_capacity, now[1]),
            max(cpu_target_util * host.vcpus, now[2]))


#: weights of the resources in the combined bound: every point of the
#: simplex in steps of 1/WEIGHT_STEPS (the corners are the bounds of one
#: resource each)
WEIGHT_STEPS = 4


def _largest_first(values, need):
    """How many of ``values``, largest first, it takes to reach ``need``
    (all of them, plus one, when they cannot)."""
    count = 0
    for value in sorted(values, reverse=True):
        if need <= 1e-9:
            return count
        need -= value
        count += 1
    return count + (1 if need > 1e-9 else 0)


def _weights(n):
    """Weightings of ``n`` (2 or 3) resources on more than one of them."""
    steps = WEIGHT_STEPS
    for a in range(steps + 1):
        for b in range(steps + 1 - a):
            w = (a / steps, b / steps, (steps - a - b) / steps)
            if n == 2 and w[2]:
                continue
            if sum(1 for x in w if x > 0) > 1:
                yield w[:n]


def _cover(demand, hosts, forced, cpu_target_util, now):
    """Hosts needed besides the forced ones, per resource and combined.

    Per resource, the demand the forced hosts leave is covered by the
    largest other hosts. Combined: the hosts kept must cover every
    resource at once, so for weights ``w`` summing to 1 they must reach
    ``sum(w[r] * capacity[r] / left[r]) >= 1``; each weighting gives a
    bound, and the largest is taken (never below the per-resource ones,
    which are the weightings on one resource).
    """
    caps = [_capacity(h, cpu_target_util, now.get(h.name, (0, 0, 0.0)))
            for h in hosts]
    others = [c for h, c in zip(hosts, caps) if h.name not in forced]
    left = [demand[r] - sum(c[r] for h, c in zip(hosts, caps)
                            if h.name in forced) for r in range(3)]
    counts = {}
    for r, name in enumerate(RESOURCES):
        counts[name] = min(_largest_first([c[r] for c in others], left[r]),
                           len(others))
    short = [r for r in range(3) if left[r] > 1e-9]
    combined = max(counts.values(), default=0)
    for w in _weights(len(short)) if len(short) > 1 else ():
        values = [sum(w[k] * c[r] / left[r] for k, r in enumerate(short))
                  for c in others]
        combined = max(combined, min(_largest_first(values, 1.0),
                                     len(others)))
    counts['combined'] = combined
    return counts


def _bound(vms, hosts, cpu_target_util, kept=()):
    forced = {vm.host for vm in vms if vm.pinned} | set(kept)
    forced &= {h.name for h in hosts}
    demand = [0.0, 0.0, 0.0]
    now = {}
    for vm in vms:
        used = now.setdefault(vm.host, [0.0, 0.0, 0.0])
        for r, d in enumerate(_demand(vm)):
            demand[r] += d
            used[r] += d
    counts = _cover(demand, hosts, forced, cpu_target_util, now)
    total = len(forced) + max(counts.values(), default=0)
    if not vms:
        total = len(forced)
    counts['pinned'] = len(forced)
    return min(total, len(hosts)), counts


def active_hosts(snapshot, cpu_target_util, drained=(), kept=()):
    """A lower bound on the hosts that must stay in use.

    :param snapshot: a :class:`nova_livemig.model.Snapshot`
    :param cpu_target_util: ``PlanningOptions.cpu_target_util``
    :param drained: hosts being emptied: their VMs count, they do not
    :param kept: hosts that stay in use whatever the plan (a VM there
        that no allowed algorithm can move); counted like hosts holding
        pinned VMs
    :returns: a :class:`HostBound`
    """
    drained = set(drained)
    kept = {h for h in kept if h not in drained}
    vms = [vm for vm in snapshot.vms.values()
           if snapshot.hosts[vm.host].state == 'up' or vm.host in drained]
    vms = [vm for vm in vms if not (vm.pinned and vm.host in drained)]
    up = [h for h in snapshot.hosts.values()
          if h.state == 'up' and h.name not in drained]
    whole, counts = _bound(vms, up, cpu_target_util, kept)

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
        agg_sum += _bound(group_vms, hosts, cpu_target_util, kept)[0]
    return HostBound(hosts=max(whole, agg_sum), by_resource=counts,
                     aggregate_sum=agg_sum)


def hosts_in_use(snapshot):
    """Up hosts holding at least one VM."""
    return len({vm.host for vm in snapshot.vms.values()
                if snapshot.hosts[vm.host].state == 'up'})


def makespan_s(items, free_gbit_s, goodput_fraction=None, max_outgoing=1,
               max_incoming=1, params=None):
    """A lower bound on the makespan of a set of moves.

    :param items: ``(source, destination, link keys, choices)`` per move,
        ``choices`` the ``(bytes, seconds)`` of every algorithm that can
        carry it, alone on its path (the fewest bytes, the shortest time)
    :param free_gbit_s: ``{link key: free capacity}``
    :param goodput_fraction: payload fraction of the line rate (defaults to
        the cost model's, or ``params``')
    :returns: ``(seconds, what sets the bound)``
    """
    if goodput_fraction is None:
        goodput_fraction = (params or cost.CostParams()).goodput_fraction

    def rate(key):
        return free_gbit_s[key] * cost.GBIT * goodput_fraction
    best = (0.0, 'no moves')
    link_bytes = {}
    by_host = {}
    for src, dst, links, choices in items:
        least_s = min(t for _, t in choices)
        if least_s > best[0]:
            best = (least_s, f'longest move {src}->{dst}: {least_s:.1f} s')
        least_b = min(b for b, _ in choices)
        for key in links:
            link_bytes[key] = link_bytes.get(key, 0) + least_b
        by_host.setdefault((src, 'outgoing'), []).append(
            (links[0] if links else None, choices))
        by_host.setdefault((dst, 'incoming'), []).append(
            (links[-1] if links else None, choices))
    for key, nbytes in link_bytes.items():
        if rate(key) > 0 and nbytes / rate(key) > best[0]:
            best = (nbytes / rate(key),
                    (f'link {key}: {nbytes / 1e9:.1f} GB at '
                     f'{free_gbit_s[key]:g} Gbit/s'))
    for (host, way), moves in by_host.items():
        k = max_outgoing if way == 'outgoing' else max_incoming
        nics = {nic for nic, _ in moves}
        nic = nics.pop() if len(nics) == 1 else None
        value = _host_bound(moves, k, rate(nic) if nic else 0.0)
        if value > best[0]:
            best = (value, (f'host {host}: {len(moves)} {way} moves, '
                            f'{k} at a time'
                            + (f' through its {free_gbit_s[nic]:g} Gbit/s '
                               'link' if nic else '')))
    return best


def _host_bound(moves, concurrency, nic_bytes_s):
    """``T >= sum(time) / concurrency`` and ``T >= sum(bytes) / nic``
    whichever algorithm each move uses, so ``T >= l * (bytes / nic) +
    (1 - l) * (time / concurrency)`` summed over the moves, each at its
    best algorithm, for every ``l`` in [0, 1]."""
    best = 0.0
    steps = (0.0,) if nic_bytes_s <= 0 else tuple(i / 10 for i in range(11))
    for lam in steps:
        total = 0.0
        for _, choices in moves:
            total += min((lam * b / nic_bytes_s if lam else 0.0)
                         + (1 - lam) * t / concurrency for b, t in choices)
        best = max(best, total)
    return best
