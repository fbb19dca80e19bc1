"""How evenly CPU load is spread over the hosts, and what a move gains.

A host's utilisation is the busy vcpus of its VMs over its vcpus. The spread
is the population standard deviation of the utilisation of the up hosts.
A move's *gain* is how much it lowers the sum over the hosts of the squared
distance of their utilisation from the mean, ``n * variance``: unlike the
standard deviation itself, a move between two hosts gains the same on a
cluster of 50 hosts as on one of 5,000, so one threshold
(``[planner] balance_min_gain``) fits every cluster size.

>>> round(spread_gain(0.9, 0.2, 0.1, 0.2, mean=0.5, n_hosts=2), 6)
0.24
"""

import math


def utilisation(snapshot):
    """``{host: cpu util}`` for up hosts, from the VMs' busy vcpus."""
    busy = {n: 0.0 for n, h in snapshot.hosts.items() if h.state == 'up'}
    for vm in snapshot.vms.values():
        if vm.host in busy:
            busy[vm.host] += vm.busy_vcpus
    return {n: b / snapshot.hosts[n].vcpus for n, b in busy.items()}


def spread(utils):
    """Population standard deviation of host utilisation.

    >>> spread({'a': 0.2, 'b': 0.6})
    0.2
    """
    values = list(utils.values())
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return round(math.sqrt(sum((v - mean) ** 2 for v in values)
                           / len(values)), 12)


def sum_sq(utils):
    """``sum((u - mean) ** 2)`` over the hosts: ``n * variance``."""
    values = list(utils.values())
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values)


def spread_gain(util_src, share_src, util_dst, share_dst, mean, n_hosts):
    """The fall in ``sum((u - mean) ** 2)`` when a VM moves.

    :param util_src: the source's utilisation before the move
    :param share_src: the VM's busy vcpus over the source's vcpus
    :param util_dst: the destination's utilisation before the move
    :param share_dst: the VM's busy vcpus over the destination's vcpus
    :param mean: the mean utilisation of the ``n_hosts`` up hosts before
    :returns: the gain; negative when the move widens the spread
    """
    squares = (-2.0 * util_src * share_src + share_src ** 2
               + 2.0 * util_dst * share_dst + share_dst ** 2)
    shift = share_dst - share_src
    mean_term = 2.0 * mean * shift + shift ** 2 / n_hosts
    return -(squares - mean_term)
