"""Where a VM may go, and how good each destination is.

Shared by every policy: the capacity bookkeeping of a plan as it accumulates
(:class:`Usage`), the hard rules a destination must pass (:meth:`Usage.fits`,
:func:`allowed`), and the ranking of destinations by predicted migration cost,
then by the balance the move leaves (:class:`Ranker`).
"""

from nova_livemig import choice
from nova_livemig import plan as plan_mod


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
        for vm in snapshot.vms.values():
            self._add(vm, vm.host)

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


class Ranker:
    """Ranks destinations for a VM by predicted migration cost over the
    widest path, then by the balance the move leaves.

    Predictions are cached per (VM, bandwidth): in a large cluster many
    destinations share the same path bandwidth.

    :param graph: a :class:`nova_livemig.graph.LinkGraph`
    :param options: a :class:`nova_livemig.plan.PlanningOptions`
    :param algorithms: ``{name: Algorithm}`` the plan may use
    """

    def __init__(self, graph, options, algorithms):
        self.graph = graph
        self.options = options
        self.algorithms = algorithms
        self._cache = {}

    def predict(self, vm, bandwidth_gbit_s):
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

    def best(self, vm, usage, exclude=(), cpu_target_util=None):
        """The best destination for one VM given the plan so far.

        :returns: ``(move, None)`` or ``(None, reason)``
        """
        source = usage.placement[vm.id]
        src_host = self.snapshot_host(usage, source)
        best = None
        rejected = {'capacity': 0, 'rules': 0, 'path': 0}
        for name, host in usage.snapshot.hosts.items():
            if name in exclude or not allowed(src_host, host):
                rejected['rules'] += 1
                continue
            if not usage.fits(vm, name, cpu_target_util):
                rejected['capacity'] += 1
                continue
            bw = self.graph.bandwidth_gbit_s(source, name)
            if bw <= 0:
                rejected['path'] += 1
                continue
            pred = self.predict(vm, bw)
            key = (self.cost_key(pred),
                   usage.memory_fill(name) + vm.memory_mib
                   / host.memory_capacity_mib,
                   usage.cpu_util(name), name)
            if best is None or key < best[0]:
                best = (key, name)
        if best is None:
            return None, _reason(vm, rejected)
        return self.move(vm, source, best[1]), None

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
