"""Sharing link bandwidth between concurrent migrations (max-min fair).

Migrations that cross the same link share its free capacity. The share each
one gets is the *max-min fair* allocation: no migration can get more without
taking from one that has no more than it. It is computed by progressive
filling: the link with the smallest equal share fixes the rate of every
migration crossing it; their rates are taken off the other links they cross;
repeat.

Helpers serve the scheduler: :func:`max_min_fair` for the rates,
:func:`component` for the set of migrations whose rates can change when one
starts or ends (those connected to it through saturated links),
:func:`floor_gbit_s` for the least rate a migration can get, and
:func:`reshare`, which recomputes the rates of that set only, and of it only
the migrations at or above the rates that changed, so that a start or end
in one rack does not recompute the whole cluster. It gives the same rates as
:func:`max_min_fair` over every running migration (a property test holds it
to that).

>>> rates = max_min_fair({'m1': ('L1',), 'm2': ('L1', 'L2'), 'm3': ('L2',)},
...                      {'L1': 10.0, 'L2': 4.0})
>>> rates == {'m2': 2.0, 'm3': 2.0, 'm1': 8.0}
True
"""

import heapq
import operator


def max_min_fair(flows, capacity_gbit_s):
    """Max-min fair rates of flows over links.

    :param flows: ``{flow id: tuple of link keys}``; a flow crossing no link
        gets ``float('inf')``
    :param capacity_gbit_s: ``{link key: free capacity}`` for every link any
        flow crosses
    :returns: ``{flow id: gbit_s}``
    """
    remaining = {}
    members = {}
    rates = {}
    for fid, links in flows.items():
        if not links:
            rates[fid] = float('inf')
            continue
        for key in links:
            if key not in members:
                members[key] = []
                remaining[key] = capacity_gbit_s[key]
            members[key].append(fid)
    count = {key: len(fids) for key, fids in members.items()}
    heap = [(max(remaining[key], 0.0) / count[key], key) for key in members]
    heapq.heapify(heap)
    # A link's equal share never falls as flows are fixed (each is fixed at
    # the smallest share, at most this link's), so an entry is refreshed
    # only when it comes out of the heap stale: one push per change would
    # be quadratic on a link shared by thousands of flows.
    while heap:
        share, key = heapq.heappop(heap)
        n = count[key]
        if n == 0:
            continue
        now = max(remaining[key], 0.0) / n
        if now > share * (1.0 + 1e-12):
            heapq.heappush(heap, (now, key))   # stale: grown since queued
            continue
        for fid in members[key]:
            if fid in rates:
                continue
            rates[fid] = now
            for other in flows[fid]:
                remaining[other] -= now
                count[other] -= 1
        count[key] = 0
    return rates


def component(start_links, flows_on_link, links_of, enter=None,
              keep=None):
    """Flows connected to some links through shared links.

    :param start_links: link keys to start from: every flow on them is in
    :param flows_on_link: ``{link key: set of flows}`` (running flows)
    :param links_of: ``links_of(flow)``: the link keys a flow crosses
    :param enter: ``enter(link key)``: whether to go on through a link
        reached from a flow (default: always). The scheduler passes "the
        link is saturated": flows that only share links with spare capacity
        do not limit each other.
    :param keep: ``keep(flow)``: whether a flow found is in (default:
        always); a flow left out is not gone through either
    :returns: the set of flows found
    """
    seen_links = set(start_links)
    stack = list(start_links)
    found = set()
    while stack:
        key = stack.pop()
        for fid in flows_on_link.get(key, ()):
            if fid in found or (keep is not None and not keep(fid)):
                continue
            found.add(fid)
            for other in links_of(fid):
                if other not in seen_links and (enter is None
                                                or enter(other)):
                    seen_links.add(other)
                    stack.append(other)
    return found


_links = operator.attrgetter('links')


def floor_gbit_s(flow, flows_on_link, capacity_gbit_s):
    """The least rate max-min fairness can give a flow: its equal share of
    its tightest link, ``min(free / flows)``."""
    return min(capacity_gbit_s[k] / max(len(flows_on_link[k]), 1)
               for k in flow.links)


def reshare(changed_links, flows_on_link, capacity_gbit_s, load_gbit_s,
            below_gbit_s=0.0):
    """Max-min fair rates again for the flows a change can affect.

    Two facts keep the work near the change. Only flows joined through
    *saturated* links to the changed ones can change; they are recomputed
    over the capacity the others leave, and when that saturates a link
    shared with flows left out, they join and it is redone. And progressive
    filling runs level by level from the lowest: a flow removed (added) at
    rate ``r`` changes nothing below ``r``, so the flows whose rate is
    under every changed flow's, ``below_gbit_s``, keep it and are left out.
    The result is the max-min fair allocation of all running flows.

    :param changed_links: link keys where flows started or ended
    :param flows_on_link: ``{link key: set of flows}`` (running flows); a
        flow has ``links`` (its link keys) and ``rate`` (its current
        gbit_s, None for a flow that has none yet)
    :param capacity_gbit_s: ``{link key: free capacity}``
    :param load_gbit_s: ``{link key: gbit_s carried}``, updated in place
    :param below_gbit_s: no changed flow's rate is below this: the rate of
        a flow that ended, and for a flow that started
        :func:`floor_gbit_s` (0 to recompute every connected flow)
    :returns: ``{flow: gbit_s}`` for the flows recomputed
    """
    if not changed_links:
        return {}
    cut = below_gbit_s * (1.0 - 1e-9)

    def saturated(key):
        return load_gbit_s[key] >= capacity_gbit_s[key] * (1.0 - 1e-6)

    def keep(flow):
        return flow.rate is None or flow.rate >= cut

    comp = component(changed_links, flows_on_link, _links, enter=saturated,
                     keep=keep)
    while True:
        mine = {}   # link -> [current rate of comp flows, comp flows]
        for x in comp:
            rate = x.rate or 0.0
            for k in x.links:
                entry = mine.get(k)
                if entry is None:
                    mine[k] = [rate, 1]
                else:
                    entry[0] += rate
                    entry[1] += 1
        residual = {k: max(capacity_gbit_s[k] - (load_gbit_s[k] - v[0]),
                           0.0) for k, v in mine.items()}
        rates = max_min_fair({x: x.links for x in comp}, residual)
        new_use = dict.fromkeys(mine, 0.0)
        for x, rate in rates.items():
            for k in x.links:
                new_use[k] += rate
        grow = set()
        for k, (_, n) in mine.items():
            if (len(flows_on_link[k]) > n
                    and new_use[k] >= residual[k] * (1.0 - 1e-6)):
                grow.update(x for x in flows_on_link[k] - comp if keep(x))
        if not grow:
            break
        comp |= component({k for x in grow for k in x.links}, flows_on_link,
                          _links, enter=saturated, keep=keep)
    for k, v in mine.items():
        load_gbit_s[k] += new_use[k] - v[0]
    return rates
