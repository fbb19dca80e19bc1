"""Starting steps: which pending steps of a plan may start now, and the
message that starts one. Pure: plain step dicts and a
:class:`~nova_livemig.model.Snapshot` in, decisions out.

The steps are taken in the scheduler's order (planned start, then seq). A
step may start when:

* no step that the schedule ends *before* its start (a gap, not a
  hand-over at the same instant) on a shared host or link is unfinished,
  and no earlier step of the same VM (a temporary hop) is;
* no link of its path already carries as many migrations as the schedule
  ever puts on it at once (:func:`link_capacity`);
* its source has fewer than ``max_outgoing_per_host`` and its destination
  fewer than ``max_incoming_per_host`` migrations running;
* its VM fits the destination *now*: the VMs there plus those migrating
  in, under the allocation ratios (a VM counts on both hosts while it
  migrates).

A step whose VM is already on its destination has ``ARRIVED``; one whose
destination is down or stale is ``GONE`` (re-planned by the caller),
except while ``warming`` (just started: a host not heard of yet may still
report); one whose VM is in no report while its source reports has
``VANISHED`` (:func:`vanished`). A step whose VM's host is down or stale
waits: nothing is sent to an agent that is not heard from
(:func:`source_up`).

A step that starts is sent as :func:`step_message` and aborted when it runs
past :func:`deadline_s`.

>>> from nova_livemig import model
>>> snap = model.from_primitive({'version': 1, 'hosts': [
...     {'name': h, 'vcpus': 8, 'memory_mib': 4096} for h in 'abc'],
...     'vms': [{'id': v, 'host': 'a', 'vcpus': 2, 'memory_mib': 2048,
...              'cpu_util': 0.1, 'dirty_rate_mib_s': 1.0} for v in
...             ('v1', 'v2', 'v3')], 'network': {'switches': ['t'],
...     'links': [{'a': h, 'b': 't', 'gbit_s': 10.0} for h in 'abc']}})
>>> steps = [{'id': v, 'seq': i, 'vm': v, 'source': 'a', 'destination': d,
...           'state': 'pending', 'path': [], 'planned_start_s': 0.0,
...           'planned_end_s': 5.0} for i, (v, d) in enumerate(
...          [('v1', 'b'), ('v2', 'b'), ('v3', 'c')])]
>>> class Limits:
...     max_outgoing_per_host = 2
...     max_incoming_per_host = 2
>>> [(a, s['vm'], w) for a, s, w in decide(steps, snap, Limits)]
[('start', 'v1', 'a'), ('start', 'v2', 'a')]
"""

from nova_livemig import messages

START = 'start'
ARRIVED = 'arrived'
GONE = 'gone'
VANISHED = 'vanished'


def resources(step):
    """The hosts and links a step uses."""
    return ({('host', step['source']), ('host', step['destination'])}
            | {('link', tuple(k)) for k in step.get('path') or ()})


def link_capacity(steps):
    """``{link key: most migrations the schedule runs on it at once}``.

    >>> link_capacity([
    ...     {'path': [['a', 't']], 'planned_start_s': 0, 'planned_end_s': 5},
    ...     {'path': [['a', 't']], 'planned_start_s': 1, 'planned_end_s': 6},
    ...     {'path': [['a', 't']], 'planned_start_s': 5, 'planned_end_s': 9}])
    {('a', 't'): 2}
    """
    events = {}
    for s in steps:
        for k in s.get('path') or ():
            ev = events.setdefault(tuple(k), [])
            ev.append((s['planned_start_s'], 1))
            ev.append((s['planned_end_s'], -1))
    cap = {}
    for key, ev in events.items():
        level = best = 0
        for _, delta in sorted(ev):  # an end before a start at one instant
            level += delta
            best = max(best, level)
        cap[key] = max(best, 1)
    return cap


def blocked(step, unfinished, link_use, link_cap):
    """True while the schedule says the step must wait (see the module
    docstring)."""
    mine = resources(step)
    key = (step['planned_start_s'], step['seq'])
    for other in unfinished:
        if (other['planned_end_s'] < step['planned_start_s'] - 1e-6
                and resources(other) & mine):
            return True
        if (other['vm'] == step['vm'] and other['id'] != step['id']
                and (other['planned_start_s'], other['seq']) < key):
            return True  # the hops of one VM go one after the other
    return any(link_use.get(tuple(k), 0) >= link_cap.get(tuple(k), 1)
               for k in step.get('path') or ())


class _Load:
    """Migrations and reserved room per host and link, as steps start."""

    def __init__(self, snap):
        self.snap = snap
        self.outgoing, self.incoming, self.links = {}, {}, {}
        self.reserved = {}
        self.busy_vms = set()

    def add(self, step, source):
        self.outgoing[source] = self.outgoing.get(source, 0) + 1
        dst = step['destination']
        self.incoming[dst] = self.incoming.get(dst, 0) + 1
        for k in step.get('path') or ():
            self.links[tuple(k)] = self.links.get(tuple(k), 0) + 1
        self.busy_vms.add(step['vm'])
        vm = self.snap.vms.get(step['vm'])
        if vm is not None and vm.host != dst:
            r = self.reserved.setdefault(dst, [0, 0])
            r[0] += vm.vcpus
            r[1] += vm.memory_mib

    def fits(self, vm, dest):
        placed = self.snap.vms_on(dest.name)
        r = self.reserved.get(dest.name, (0, 0))
        return (sum(v.vcpus for v in placed) + r[0] + vm.vcpus
                <= dest.vcpu_capacity
                and sum(v.memory_mib for v in placed) + r[1] + vm.memory_mib
                <= dest.memory_capacity_mib)


def decide(steps, snap, limits, warming=False):
    """The decisions for the pending steps of one plan.

    :param steps: every step dict of the plan
    :param snap: the live :class:`~nova_livemig.model.Snapshot`
    :param limits: has ``max_outgoing_per_host``, ``max_incoming_per_host``
    :param warming: True just after a (re)start
    :returns: ``[(START, step, source) | (ARRIVED, step, host) |
        (GONE, step, source) | (VANISHED, step, None)]``
    """
    load = _Load(snap)
    for s in steps:
        if s['state'] == 'running':
            load.add(s, s['source'])
    unfinished = [s for s in steps if s['state'] in ('pending', 'running')]
    link_cap = link_capacity(steps)
    out = []
    for step in sorted(steps, key=lambda s: (s['planned_start_s'],
                                              s['seq'])):
        if step['state'] != 'pending' or step['vm'] in load.busy_vms:
            continue
        if blocked(step, unfinished, load.links, link_cap):
            continue
        vm = snap.vms.get(step['vm'])
        if vm is None:
            if vanished(step, snap.hosts, warming):
                out.append((VANISHED, step, None))
            continue  # not reported (yet): wait
        if vm.host == step['destination']:
            out.append((ARRIVED, step, vm.host))
            continue
        if not source_up(vm, snap.hosts):
            continue  # nothing is sent to an agent not heard of
        dest = snap.hosts.get(step['destination'])
        if dest is None and warming:
            continue  # its agent has not reported since the start
        if dest is None or dest.state != 'up':
            out.append((GONE, step, vm.host))
            continue
        if (load.outgoing.get(vm.host, 0) >= limits.max_outgoing_per_host
                or load.incoming.get(dest.name, 0)
                >= limits.max_incoming_per_host):
            continue
        if not load.fits(vm, dest):
            continue  # waits for VMs to leave the destination
        out.append((START, step, vm.host))
        load.add(step, vm.host)
    return out


def vanished(step, hosts, warming):
    """True when the step's VM is in no report although the host it was
    planned from reports (and the conductor is not just starting): it
    was deleted. ``hosts`` are the placement's (a stale host is down)."""
    source = hosts.get(step['source'])
    return (not warming and source is not None
            and source.state != 'down')


def source_up(vm, hosts):
    """True when the agent of the VM's host is heard from: a step is
    never sent to an agent that is down (its cast would wait in the
    broker)."""
    source = hosts.get(vm.host)
    return source is not None and source.state != 'down'


def deadline_s(step, settings):
    """How long a step may run before it is aborted: its predicted time
    times ``deadline_factor``, plus ``deadline_margin_s``."""
    predicted_s = float(step['predicted'].get('total_s', 0.0))
    return predicted_s * settings.deadline_factor + settings.deadline_margin_s


def step_message(step, settings, destination_uri=None):
    """The MigrationStep primitive of a step row.

    :param settings: has ``max_downtime_ms``
    :raises InvalidInput: for a step the agents would reject
    """
    algorithm = step['algorithm']
    data = {
        'plan_id': step['plan_id'], 'step_id': step['id'], 'vm': step['vm'],
        'source': step['source'], 'destination': step['destination'],
        'algorithm': algorithm, 'max_downtime_ms': settings.max_downtime_ms,
        'bandwidth_mib_s': 0.0, 'deadline_s': step['deadline_s'],
        'postcopy_after_s': 0.0 if algorithm == 'postcopy' else None,
        'predicted': step['predicted'], 'destination_uri': destination_uri}
    return messages.MigrationStep.from_primitive(data).to_primitive()
