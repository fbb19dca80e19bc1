"""``nova-livemig plan --snapshot FILE --policy P``: plan offline.

Reads a snapshot file (format v1, ``doc/plan-format.md``), runs one policy
on it, schedules the moves (``drain``, ``consolidate``, ``balance``; not
with ``--no-schedule``) and prints the plan: a table for people (``--format
table``, the default) or the documented JSON for programs (``--format
json``). Each move has one set of figures, the schedule's when there is one
(:mod:`nova_livemig.cmd.outcome`). Nothing is contacted and nothing is
changed.

Exit status: 0 when every VM the policy wanted to move is placed, 1 when
some are unplaced (listed with the reason), 2 on bad input (a malformed
snapshot, an unknown policy, VM or host, a non-positive downtime...), with
an error naming the field, the value and what is allowed.
"""

import dataclasses
import json
import math
import sys

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import exception
from nova_livemig import graph as graph_mod
from nova_livemig import model
from nova_livemig import policies
from nova_livemig.calibration import document
from nova_livemig.cmd import arguments
from nova_livemig.cmd import outcome
from nova_livemig.cmd import tables
from nova_livemig.cmd.picture import drawing
from nova_livemig.conf import planner
from nova_livemig.policies import single


def add_arguments(parser):
    """Add the offline-only options to the ``plan`` sub-command.

    ``--policy``, ``--vm``, ``--host`` and ``--format`` serve both modes
    and are added by :mod:`nova_livemig.cmd.cli`.

    :param parser: the ``plan`` :class:`argparse.ArgumentParser`
    """
    group = parser.add_argument_group(
        'offline planning (with --snapshot, without an action)',
        'plan from a snapshot file; nothing is contacted or changed')
    group.add_argument('--snapshot', metavar='FILE',
                       help='cluster snapshot (JSON, format v1) to plan '
                            'from')
    group.add_argument('--max-downtime-ms', type=float, metavar='MS',
                       help='downtime target of every migration; '
                            'overrides [planner] max_downtime_ms '
                            '(default 500, as Nova\'s)')
    group.add_argument('--output', metavar='FILE',
                       help='write the plan to FILE instead of standard '
                            'output')
    group.add_argument('--calibration', metavar='FILE',
                       help='plan with the constants of this calibration '
                            '(nova-livemig calibrate); overrides [planner] '
                            'calibration_file')
    _add_fleet_arguments(group)  # --rack, --graph, --no-schedule


#: the options :func:`add_arguments` adds, by ``dest``: a flag of the
#: offline mode (the other mode refuses them)
OFFLINE_OPTIONS = {'snapshot': '--snapshot',
                   'max_downtime_ms': '--max-downtime-ms',
                   'output': '--output', 'rack': '--rack',
                   'calibration': '--calibration',
                   'graph': '--graph', 'no_schedule': '--no-schedule'}


#: the largest --max-downtime-ms (a day)
MAX_DOWNTIME_MS = 86400000

#: policies whose plans are scheduled and summarised by default
SCHEDULED_POLICIES = ('consolidate', 'balance', 'drain')


def _add_fleet_arguments(group):
    """The fleet options of ``nova-livemig plan``."""
    group.add_argument('--rack', action='append', default=[],
                       metavar='SWITCH',
                       help='drain every host linked to this switch '
                            '(drain; repeatable, adds to --host)')
    group.add_argument('--graph', metavar='FILE',
                       help='draw the link graph with the moves and the '
                            'timeline of their schedule to FILE (.png, or '
                            '.html for a self-contained page); the plan '
                            'is scheduled, whatever its policy')
    group.add_argument('--no-schedule', action='store_true',
                       help='do not schedule the moves (consolidate, '
                            'balance and drain are scheduled by default)')


def _rack_hosts(args, snapshot):
    """The hosts linked to the ``--rack`` switches.

    :raises InvalidInput: for a name that is not a switch of the snapshot
    """
    found = []
    for switch in getattr(args, 'rack', None) or ():
        if switch not in snapshot.switches:
            raise exception.InvalidInput(
                '--rack', switch, 'a switch of the snapshot: '
                + ', '.join(list(snapshot.switches)[:10]))
        for link in snapshot.links:
            for a, b in ((link.a, link.b), (link.b, link.a)):
                if a == switch and b in snapshot.hosts and b not in found:
                    found.append(b)
    return found


def _schedule(args, snapshot, graph, result, options, algorithms):
    """Schedule a plan for ``nova-livemig plan`` and draw it if asked.

    :returns: the :class:`~nova_livemig.scheduling.schedule.Schedule`,
        or None when the plan is not scheduled
    """
    from nova_livemig.scheduling import simulation
    graph_file = getattr(args, 'graph', None)
    if graph_file and getattr(args, 'no_schedule', False):
        raise exception.InvalidInput(
            '--no-schedule', True, 'nothing with --graph (the picture '
            'draws the schedule: leave out one of the two)')
    wanted = (result.policy in SCHEDULED_POLICIES
              and not getattr(args, 'no_schedule', False))
    if not (wanted or graph_file):
        return None
    sched = simulation.schedule(snapshot, graph, result.moves, options,
                                algorithms)
    if graph_file:
        drawing.draw(snapshot, graph, sched, graph_file)
    return sched


def to_primitive(result, out, sched):
    """The JSON document: the plan's (``doc/plan-format.md``), plus, when
    scheduled, ``schedule`` and each move's ``scheduled`` legs.

    :param out: the plan's :class:`~nova_livemig.cmd.outcome.Outcome`
    """
    data = result.to_primitive()
    if sched is None:
        data['summary'] = dict(out.figures)  # the figures the table prints
        return data
    data['schedule'] = dict(
        sched.to_primitive(), bytes=int(out.bytes_sent),
        max_downtime_ms=round(out.max_downtime_ms, 3),
        sum_total_s=round(out.sum_total_s, 3), summary=out.figures)
    for move in data['moves']:
        move['scheduled'] = [leg.to_primitive()
                             for leg in out.legs_of(move['vm'])]
    return data


def _options(args, conf):
    cal = None
    if args.calibration is not None:
        cal = document.load(args.calibration, '--calibration')
    options = planner.options_from(conf, calibration=cal)
    value = args.max_downtime_ms
    if value is not None:
        if not math.isfinite(value) or not 0 < value <= MAX_DOWNTIME_MS:
            raise exception.InvalidInput(
                '--max-downtime-ms', value,
                'a positive, finite number of milliseconds, at most '
                f'{MAX_DOWNTIME_MS:g}')
        options = dataclasses.replace(options, max_downtime_ms=value)
    if not options.algorithms:
        raise exception.InvalidInput(
            '[planner] algorithms', [],
            'at least one algorithm left after allow_postcopy and '
            'allow_throttle')
    return options


def _request(args, snapshot):
    for vm_id in args.vm:
        if vm_id not in snapshot.vms:
            raise exception.InvalidInput('--vm', vm_id, single.known_names(
                'a VM id of the snapshot', snapshot.vms))
    for name in args.host:
        if name not in snapshot.hosts:
            raise exception.InvalidInput('--host', name, single.known_names(
                'a host name of the snapshot', snapshot.hosts))
    if args.policy == 'single' and not args.vm:
        raise exception.InvalidInput(
            '--vm', None, single.known_names(
                'at least one VM id with --policy single', snapshot.vms))
    if args.policy == 'single' and args.host:
        raise exception.InvalidInput(
            '--host', args.host, 'nothing with --policy single (it finds '
            'the destination; use --policy drain to empty a host)')
    if args.policy == 'drain' and args.vm:
        raise exception.InvalidInput(
            '--vm', args.vm, 'nothing with --policy drain (it moves every '
            'VM off --host; use --policy single for one VM)')
    return policies.PlanRequest(vms=tuple(args.vm), hosts=tuple(args.host))


def _write(text, path):
    if path is None:
        sys.stdout.write(text + '\n')
        return
    try:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text + '\n')
    except OSError as err:
        raise exception.InvalidInput(
            '--output', path, f'a writable file ({err.strerror})') from err


def run(args, conf):
    """Plan offline and print the plan.

    :param args: the parsed ``plan`` arguments (see :func:`add_arguments`)
    :param conf: a :class:`oslo_config.cfg.ConfigOpts` with every option
        group registered
    :returns: the exit status: 0 all placed, 1 some VMs unplaced
    :raises LivemigError: on bad input (exit status 2)
    """
    if not args.snapshot:
        raise exception.InvalidInput(
            '--snapshot', None, 'a snapshot file to plan offline from (or '
            'an action: create, list, show, execute, abort, purge)')
    arguments.check_output(args.output, '--output')
    arguments.check_output(args.graph, '--graph')
    options = _options(args, conf)
    policy = policies.load_policy(args.policy, '--policy')
    snapshot = model.load(args.snapshot)
    args.host = list(args.host) + [
        h for h in _rack_hosts(args, snapshot) if h not in args.host]
    request = _request(args, snapshot)
    algorithms = algorithms_mod.load_algorithms(options.algorithms)
    graph = graph_mod.LinkGraph(snapshot)
    result = policy.plan(snapshot, graph, request, options, algorithms)
    sched = _schedule(args, snapshot, graph, result, options, algorithms)
    if sched is None:
        out = outcome.of_plan(result, snapshot)
    else:
        out = outcome.of_schedule(snapshot, result, sched, options,
                                  algorithms)
    if args.format == 'json':
        doc = to_primitive(result, out, sched)
        doc['left_out'] = options.left_out_primitive()
        text = json.dumps(doc, indent=2)
    else:
        text = tables.render_table(result, options.max_downtime_ms, out,
                                   sched)
        for name, why in options.left_out:
            print(f'note: {name} not chosen: {why}', file=sys.stderr)
    _write(text, args.output)
    return 1 if result.unplaced else 0
