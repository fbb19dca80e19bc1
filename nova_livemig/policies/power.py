"""The power a host draws: a linear model of its CPU utilisation.

A host with power figures draws
``power_idle_w + (power_max_w - power_idle_w) * cpu_util``, its utilisation
being the busy vcpus of its VMs over its vcpus (at most 1). A host without
VMs can be powered off: it draws nothing. ``consolidate`` reports the power
before and after its plan with :func:`cluster_power_w`.
"""


def host_power_w(host, busy_vcpus):
    """Linear power model; None without power figures."""
    if host.power_idle_w is None or host.power_max_w is None:
        return None
    util = min(busy_vcpus / host.vcpus, 1.0)
    return host.power_idle_w + (host.power_max_w - host.power_idle_w) * util


def cluster_power_w(snapshot):
    """Power drawn by the up hosts that hold VMs.

    :returns: ``(watts, hosts counted)``: hosts without power figures are
        not counted
    """
    busy = {}
    for vm in snapshot.vms.values():
        busy[vm.host] = busy.get(vm.host, 0.0) + vm.busy_vcpus
    total = 0.0
    counted = 0
    for name, b in busy.items():
        host = snapshot.hosts[name]
        if host.state != 'up':
            continue
        w = host_power_w(host, b)
        if w is not None:
            total += w
            counted += 1
    return total, counted
