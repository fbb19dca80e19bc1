"""Where a VM may go, and how good each destination is.

Shared by every policy: the capacity bookkeeping of a plan as it accumulates
(:class:`Usage`), the hard rules a destination must pass (:meth:`Usage.fits`,
:func:`allowed`), and the ranking of destinations by predicted migration cost,
then by the balance the move leaves (:class:`Ranker`).
"""

import math

from nova_livemig import plan as plan_mod
from nova_livemig.algorithms import choice


def allowed(src_host, dest_host):
    """Hard rules besides capacity: the destination is up, is not the
    source, and belongs to every aggregate the source belongs to."""
    return (dest_host.state == 'up' and dest_host.name != src_host.name
            and set(src_host.aggregates) <= set(dest_host.aggregates))


class Usage:
    """Allocated vcpus and memory per host, updated as moves are planned.

    :param snapshot: the cluster before the plan
    """

    def __init__(self, snapshot):
        self.snapshot = snapshot
        self.vcpus = dict.fromkeys(snapshot.hosts, 0)
        self.memory_mib = dict.fromkeys(snapshot.hosts, 0)
        self.busy_vcpus = dict.fromkeys(snapshot.hosts, 0.0)
        self.count = dict.fromkeys(snapshot.hosts, 0)
        self.placement = {}
        # _add, inlined: this runs once per VM of the cluster
        vcpus, memory, busy, count = (self.vcpus, self.memory_mib,
                                      self.busy_vcpus, self.count)
        placement = self.placement
        for vm in snapshot.vms.values():
            host = vm.host
            vcpus[host] += vm.vcpus
            memory[host] += vm.memory_mib
            busy[host] += vm.vcpus * vm.cpu_util
            count[host] += 1
            placement[vm.id] = host

    def _add(self, vm, host, sign=1):
        self.vcpus[host] += sign * vm.vcpus
        self.memory_mib[host] += sign * vm.memory_mib
        self.busy_vcpus[host] += sign * vm.busy_vcpus
        self.count[host] += sign
        if sign > 0:
            self.placement[vm.id] = host

    def fits(self, vm, host_name, cpu_target_util=None):
        """True when the VM fits on the host under the allocation ratios
        (and, if given, under a CPU utilisation target)."""
        host = self.snapshot.hosts[host_name]
        if self.vcpus[host_name] + vm.vcpus > host.vcpu_capacity:
            return False
        if (self.memory_mib[host_name] + vm.memory_mib
                > host.memory_capacity_mib):
            return False
        if cpu_target_util is not None:
            busy = self.busy_vcpus[host_name] + vm.busy_vcpus
            if busy > cpu_target_util * host.vcpus:
                return False
        return True

    def move(self, vm, destination):
        """Record that the VM now sits on ``destination``."""
        self._add(vm, self.placement[vm.id], sign=-1)
        self._add(vm, destination)

    def cpu_util(self, host_name):
        """Fraction of the host's physical vcpus busy."""
        return self.busy_vcpus[host_name] / self.snapshot.hosts[
            host_name].vcpus

    def memory_fill(self, host_name):
        host = self.snapshot.hosts[host_name]
        return self.memory_mib[host_name] / host.memory_capacity_mib


#: Destinations are ranked on predictions at the path bandwidth rounded
#: down to this geometric grid (2 % steps), so that a cluster whose links
#: all carry slightly different background traffic needs a few hundred
#: predictions per VM, not one per host. The chosen move is then predicted
#: at its exact bandwidth.
BANDWIDTH_GRID = 1.02
_LOG_GRID = math.log(BANDWIDTH_GRID)

def grid_bandwidth(bandwidth_gbit_s):
    """A bandwidth rounded down to :data:`BANDWIDTH_GRID`.

    >>> grid_bandwidth(25.0), grid_bandwidth(24.8), grid_bandwidth(10.0)
    (24.730211206, 24.730211206, 9.94534663)
    """
    if bandwidth_gbit_s == math.inf or bandwidth_gbit_s <= 0:
        return bandwidth_gbit_s
    step = math.floor(math.log(bandwidth_gbit_s) / _LOG_GRID + 1e-9)
    return round(BANDWIDTH_GRID ** step, 9)


#: Predicted migration times within this fraction of the cheapest count as
#: equally cheap, and the balance the move leaves decides between them.
#: Without it, a path 2 % wider than the others draws every VM of a drain
#: onto one host, where their migrations then queue on one link.
COST_TOLERANCE = 0.05


class Ranker:
    """Ranks destinations for a VM by predicted migration cost over the
    widest path, then by the balance the move leaves.

    Predictions are cached per (VM, bandwidth): in a large cluster many
    destinations share the same path bandwidth.

    :param graph: a :class:`nova_livemig.graph.LinkGraph`
    :param options: a :class:`nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}`` the plan may use
    :param cost_tolerance: see :data:`COST_TOLERANCE`; 0 ranks by cost
        alone and uses balance only to break exact ties
    """

    def __init__(self, graph, options, algorithms,
                 cost_tolerance=COST_TOLERANCE):
        self.graph = graph
        self.options = options
        self.algorithms = algorithms
        self.cost_tolerance = cost_tolerance
        self._cache = {}
        self._eligible_cache = {}

    def ranking_prediction(self, vm, bandwidth_gbit_s):
        """The prediction destinations are ranked on: at the bandwidth
        rounded down to :data:`BANDWIDTH_GRID` (never optimistic)."""
        return self.predict(vm, grid_bandwidth(bandwidth_gbit_s))

    def predict(self, vm, bandwidth_gbit_s):
        """The choice of algorithm, and its prediction, for one VM over a
        path of that bandwidth (cached).

        :returns: a :class:`nova_livemig.cost.Prediction`
        """
        key = (vm.id, bandwidth_gbit_s)
        found = self._cache.get(key)
        if found is None:
            found = choice.choose(vm, bandwidth_gbit_s, self.options,
                                  self.algorithms)
            self._cache[key] = found
        return found

    def move(self, vm, source, destination):
        """A :class:`~nova_livemig.plan.Move` over the widest path, or None
        when the hosts are not connected."""
        path = self.graph.widest_path(source, destination)
        if path is None or path.free_gbit_s <= 0:
            return None
        pred = self.predict(vm, path.free_gbit_s)
        return plan_mod.Move(vm=vm.id, source=source,
                             destination=destination,
                             algorithm=pred.algorithm, predicted=pred,
                             path=path.links,
                             bandwidth_gbit_s=path.free_gbit_s)

    def cost_key(self, prediction):
        """Sort key: migrations that meet the downtime target first, then
        shorter, then fewer bytes."""
        return (not prediction.meets(self.options.max_downtime_ms),
                round(prediction.total_s, 6), prediction.bytes_sent)

    def best(self, vm, usage, exclude=(), cpu_target_util=None,
             require_meets=True):
        """The best destination for one VM given the plan so far.

        Destinations must pass :func:`allowed` and :meth:`Usage.fits` and
        be reachable over a path with free capacity. Those whose migration
        meets the downtime target come first; among them, those predicted
        within ``cost_tolerance`` of the shortest migration are ranked by
        the memory fill the move leaves, then CPU utilisation, then
        predicted time, bytes and name (so the result does not depend on
        dict order).

        :param vm: a :class:`nova_livemig.model.Vm`
        :param usage: the :class:`Usage` of the plan so far
        :param exclude: host names that may not receive it
        :param cpu_target_util: if given, a destination must stay under
            this CPU utilisation
        :param require_meets: when True (the default), a VM whose best
            migration is predicted not to meet the downtime target is not
            placed: a plan does not propose a migration that would fail
        :returns: ``(move, None)`` or ``(None, reason)``
        """
        source = usage.placement[vm.id]
        snapshot = usage.snapshot
        # the aggregates of the host the VM started on, as plan.apply checks
        home = snapshot.hosts[snapshot.vms[vm.id].host]
        eligible, rejected = self._eligible(snapshot, source,
                                            home.aggregates, exclude)
        rejected = dict(rejected, capacity=0)
        vcpus, memory, busy = usage.vcpus, usage.memory_mib, usage.busy_vcpus
        want_vcpus, want_mib = vm.vcpus, vm.memory_mib
        want_busy = vm.busy_vcpus
        fitting = []
        for name, vcpu_cap, memory_cap, phys_vcpus, grid_bw in eligible:
            # Usage.fits, inlined: this loop runs once per host per VM.
            if (vcpus[name] + want_vcpus > vcpu_cap
                    or memory[name] + want_mib > memory_cap
                    or (cpu_target_util is not None
                        and busy[name] + want_busy
                        > cpu_target_util * phys_vcpus)):
                rejected['capacity'] += 1
                continue
            fitting.append((name, memory_cap, phys_vcpus, grid_bw))
        if not fitting:
            return None, _reason(vm, rejected)
        max_downtime_ms = self.options.max_downtime_ms
        preds = {bw: self.predict(vm, bw)
                 for bw in {item[3] for item in fitting}}
        meeting = [p for p in preds.values() if p.meets(max_downtime_ms)]
        any_meets = bool(meeting)
        cheapest = min(p.total_s for p in (meeting or preds.values()))
        limit = cheapest * (1.0 + self.cost_tolerance) + 1e-9
        good = {bw for bw, p in preds.items()
                if p.total_s <= limit
                and (not any_meets or p.meets(max_downtime_ms))}
        best = None
        best_fill = math.inf
        for name, memory_cap, phys_vcpus, grid_bw in fitting:
            if grid_bw not in good:
                continue
            fill = (memory[name] + want_mib) / memory_cap
            if fill > best_fill:
                continue  # the full key is only needed on a tie
            pred = preds[grid_bw]
            key = (fill, busy[name] / phys_vcpus, round(pred.total_s, 6),
                   pred.bytes_sent, name)
            if best is None or key < best[0]:
                best = (key, name, pred)
                best_fill = fill
        pred = best[2]
        if require_meets and not any_meets:
            return None, (
                'no destination where a migration meets the downtime '
                f'target of {max_downtime_ms:g} ms (best: '
                f'{best[1]} with {pred.algorithm}, '
                + (f'{pred.downtime_ms:.0f} ms downtime)' if pred.converges
                   else 'does not converge)'))
        return self.move(vm, source, best[1]), None

    def _eligible(self, snapshot, source, aggregates, exclude):
        """Hosts that pass every rule but capacity, with the bandwidth
        their ranking prediction uses; the same for every VM that shares
        a source, home aggregates and exclusions, so it is cached.

        :returns: ``([(name, vcpu capacity, memory capacity, physical
            vcpus, grid bandwidth)], {'rules': n, 'path': n})``
        """
        exclude = frozenset(exclude)
        key = (source, aggregates, exclude)
        found = self._eligible_cache.get(key)
        if found is not None:
            return found
        wanted = set(aggregates)
        bandwidth = self.graph.bandwidth_gbit_s
        eligible = []
        rejected = {'rules': 0, 'path': 0}
        for name, host in snapshot.hosts.items():
            if (name in exclude or host.state != 'up' or name == source
                    or not wanted.issubset(host.aggregates)):
                rejected['rules'] += 1
                continue
            bw = bandwidth(source, name)
            if bw <= 0:
                rejected['path'] += 1
                continue
            eligible.append((name, host.vcpu_capacity,
                             host.memory_capacity_mib, host.vcpus,
                             grid_bandwidth(bw)))
        found = (eligible, rejected)
        self._eligible_cache[key] = found
        return found

    @staticmethod
    def snapshot_host(usage, name):
        return usage.snapshot.hosts[name]


def _reason(vm, rejected):
    parts = []
    if rejected['capacity']:
        parts.append(f"{rejected['capacity']} host(s) lack room for "
                     f'{vm.vcpus} vcpus / {vm.memory_mib} MiB')
    if rejected['rules']:
        parts.append(f"{rejected['rules']} host(s) are the source, not up, "
                     'or outside its aggregates')
    if rejected['path']:
        parts.append(f"{rejected['path']} host(s) have no free path")
    return 'no destination: ' + '; '.join(parts)
