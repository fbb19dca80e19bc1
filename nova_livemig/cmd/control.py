"""``nova-livemig plan create|list|show|execute|abort|purge`` and
``nova-livemig migrate``: plans kept by the conductor, through the REST
API (:mod:`nova_livemig.cmd.connection`: a Keystone session from
clouds.yaml or the ``OS_*`` variables, or ``--api-url`` with
``--os-token``); no message-bus credentials.

* ``plan create --policy drain --host H [--dry-run]``: plan on the live
  model; the plan is recorded (``planned``, or ``dry-run``: a record only)
* ``plan list [--limit N] [--marker ID]``: a page of plan summaries,
  newest first; ``plan show ID``
* ``plan execute ID``: start it and follow it with progress bars until it
  ends (``--no-wait`` returns at once)
* ``plan abort ID``: pending steps are skipped, running ones aborted
* ``plan purge --older-than-days N``: delete the finished plans older
  than N days (the conductor itself deletes those older than its
  ``[conductor] plan_retention_days``)
* ``migrate VM``: one VM, where it migrates best (a ``single`` plan,
  executed at once)

Progress is plain text: on a terminal the block of bars is redrawn in
place; in a log (not a TTY) a new block is printed when something changed,
at most every few seconds, so the log stays readable.

Exit status: 0 the plan completed with every VM placed; 1 a VM stays where
it was (unplaced, failed step, aborted plan) or the API did not answer;
2 bad input (unknown policy, VM, host or plan id, credentials refused).
"""

import json
import sys
import time

from nova_livemig import exception
from nova_livemig import validation
from nova_livemig.cmd import arguments
from nova_livemig.cmd import connection
from nova_livemig.conductor import views

GIB = 1024 ** 3
BAR_WIDTH = 20
ENDED = ('dry-run', 'completed', 'failed', 'aborted')
#: why ``migrate --to`` is refused
TO_RETIRED = ('nothing: the API places a VM where it migrates best; to '
              'name the host, ask Nova: openstack server migrate '
              '--live-migration --host HOST VM')
#: plans per ``plan list`` page unless --limit says otherwise
LIST_LIMIT = 50
#: seconds between two progress updates while a plan is followed
INTERVAL_S = 1.0
#: the longest --interval (an hour)
MAX_INTERVAL_S = 3600
#: the largest --limit (the conductor pages at most this many plans)
MAX_LIMIT = 1000
#: the largest --older-than-days (the conductor's bound, a century)
MAX_DAYS = 36500


def add_plan_arguments(parser):
    """Options of ``plan create|list|show|execute|abort|purge`` (``--policy``,
    ``--host`` and ``--vm`` are shared with offline planning)."""
    group = parser.add_argument_group(
        'plans kept by the conductor',
        'create, list, show, execute, abort, purge')
    group.add_argument('--dry-run', action='store_true',
                       help='create: record the plan, never execute it')
    group.add_argument('--limit', type=arguments.bounded_int(1, MAX_LIMIT),
                       metavar='N',
                       help='list: at most N plans, newest first (default '
                            f'{LIST_LIMIT}; the conductor pages at most 1000)')
    group.add_argument('--marker', metavar='PLAN_ID',
                       help='list: the page after this plan (the last one '
                            'of the previous page)')
    group.add_argument('--older-than-days',
                       type=arguments.bounded_int(0, MAX_DAYS), metavar='N',
                       help='purge: delete the finished plans (completed, '
                            'failed, aborted, dry-run) that finished more '
                            'than N days ago, with their steps (the '
                            'conductor itself deletes those older than its '
                            '[conductor] plan_retention_days)')
    _add_watch_arguments(group)


def add_migrate_arguments(parser):
    parser.add_argument('vm', metavar='VM', help='the VM to move')
    parser.add_argument('--to', metavar='HOST', dest='to',
                        help='retired: the API places the VM where it '
                             'migrates best; to name the host, use '
                             '"openstack server migrate --live-migration '
                             '--host HOST VM"')
    _add_watch_arguments(parser)


def _add_watch_arguments(parser):
    parser.add_argument('--no-wait', action='store_true',
                        help='return once the API has the request; '
                             'do not follow the progress')
    # --format json (and its deprecated alias --json) sets args.json:
    # nova_livemig.cmd.cli adds them
    parser.add_argument('--interval', type=float, metavar='S',
                        help='seconds between two progress updates '
                             f'(default {INTERVAL_S:g})')


def _positive(name, value, maximum):
    # NaN fails both comparisons, infinity the second
    if not 0 < value <= maximum:
        raise exception.InvalidInput(name, value, 'a positive number, at '
                                     f'most {maximum:g}')
    return value


def _at_least(name, value, minimum):
    if value < minimum:
        raise exception.InvalidInput(name, value,
                                     f'a whole number, {minimum} or more')
    return value


def _resolve_interval(args):
    # None when not given: the options of a command keep None as their
    # default, so that one given with its default value is still seen
    # as given (nova_livemig.cmd.cli refuses it for another mode)
    if args.interval is None:
        args.interval = INTERVAL_S
    _positive('--interval', args.interval, MAX_INTERVAL_S)


def run_plan(args, conf, api=None, out=None):
    """Run one ``plan`` action; returns the exit status.

    :param api: a :class:`nova_livemig.cmd.connection.Plans` (default:
        the API the options name) or a :class:`BusPlans`
    """
    out = out or sys.stdout
    _resolve_interval(args)
    # what the API would refuse is refused here, before it is contacted
    arguments.check_names([
        ('ID', args.plan_id, arguments.PLAN_ID),
        ('--marker', getattr(args, 'marker', None), arguments.PLAN_ID),
        ('--policy', getattr(args, 'policy', None), validation.NAME),
        ('--vm', getattr(args, 'vm', None), validation.NAME),
        ('--host', getattr(args, 'host', None), validation.NAME)])
    connection.check_arguments(args)
    action = args.action
    if action in ('show', 'execute', 'abort') and not args.plan_id:
        raise exception.InvalidInput('ID', None,
                                     f'a plan id after "plan {action}" '
                                     '(see "plan list")')
    if action == 'create' and not args.policy:
        raise exception.InvalidInput('--policy', None,
                                     'a policy name, e.g. drain')
    if action == 'purge' and args.older_than_days is None:
        raise exception.InvalidInput(
            '--older-than-days', None,
            'a number of days (the conductor itself deletes the finished '
            'plans older than its [conductor] plan_retention_days)')
    api = api or connection.plans_api(args)
    if action == 'create':
        view = api.create_plan(args.policy, list(args.vm),
                               list(args.host), bool(args.dry_run))
        _print(out, view, args.json, render_plan)
        return 1 if view['document'].get('unplaced') else 0
    if action == 'list':
        limit = (LIST_LIMIT if args.limit is None
                 else _at_least('--limit', args.limit, 1))
        plans, _ = api.list_plans(limit, args.marker)
        out.write((json.dumps(plans, indent=1) if args.json
                   else render_list(plans, limit)) + '\n')
        return 0
    if action == 'purge':
        done = api.purge_plans(_at_least('--older-than-days',
                                         args.older_than_days, 0))
        out.write((json.dumps(done, indent=1) if args.json
                   else render_purge(done)) + '\n')
        return 0
    if action == 'show':
        _print(out, api.show_plan(args.plan_id), args.json, render_plan)
        return 0
    if action == 'abort':
        view = api.abort_plan(args.plan_id)
    else:
        view = api.execute_plan(args.plan_id)
    return _follow(api, view, args, out)


def run_migrate(args, conf, api=None, out=None):
    """``migrate VM``: a ``single`` plan for the VM, executed at once;
    returns the exit status."""
    out = out or sys.stdout
    _resolve_interval(args)
    arguments.check_names([('VM', args.vm, validation.NAME),
                           ('--to', args.to, validation.NAME)])
    if args.to is not None:
        raise exception.InvalidInput('--to', args.to, TO_RETIRED)
    connection.check_arguments(args)
    api = api or connection.plans_api(args)
    view = api.create_plan('single', [args.vm], [], False)
    if not view['steps']:
        reasons = [u['reason'] for u in view['document']['unplaced']]
        raise exception.InvalidInput(
            'VM', args.vm, 'a VM some host can take ('
            + ('; '.join(reasons) or 'no move planned') + ')')
    return _follow(api, api.execute_plan(view['id']), args, out)


def _follow(api, view, args, out):
    if not args.no_wait:
        view = watch(api, view['id'], out, args.interval,
                     tty=out.isatty() and not args.json)
    _print(out, view, args.json, render_result)
    return exit_status(view)


def exit_status(view):
    if view['state'] in ('completed',) and not view['document'].get(
            'unplaced'):
        return 0
    if view['state'] in ('planned', 'executing', 'aborting', 'dry-run'):
        return 0
    return 1


def _print(out, view, as_json, render):
    out.write((json.dumps(view, indent=1) if as_json else render(view))
              + '\n')


def watch(api, plan_id, out, interval_s=1.0, tty=False, quiet_s=5.0,
          sleep=time.sleep):
    """Follow a plan until it ends, printing progress; returns its view.

    :param tty: redraw in place; else print a block when it changed (and
        at least every ``quiet_s`` while a step runs)
    """
    last_text, last_at, last_done, drawn = None, 0.0, None, 0
    while True:
        view = api.show_plan(plan_id)
        lines = render_progress(view)
        text = '\n'.join(lines)
        now = time.monotonic()
        if tty:
            if drawn:
                out.write(f'\x1b[{drawn}F\x1b[J')
            out.write(text + '\n')
            drawn = len(lines)
        elif text != last_text and (now - last_at >= quiet_s
                                    or view['state'] in ENDED
                                    or view['totals']['done'] != last_done):
            out.write(text + '\n\n')
            last_text, last_at = text, now
            last_done = view['totals']['done']
        out.flush()
        if view['state'] in ENDED or view['state'] == 'planned':
            return view
        sleep(interval_s)


def _bar(fraction, width=BAR_WIDTH):
    """``[#####.....]`` for a fraction.

    >>> _bar(0.5, 10)
    '[#####.....]'
    """
    fraction = min(max(fraction, 0.0), 1.0)
    full = int(round(fraction * width))
    return '[' + '#' * full + '.' * (width - full) + ']'


def render_progress(view):
    """The progress block of a plan: one line per running step, then the
    totals. Pure.

    >>> render_progress({'id': 'p', 'state': 'executing', 'policy': 'drain',
    ...     'totals': {'steps': 2, 'done': 1, 'eta_s': 12.0,
    ...                'counts': {'completed': 1, 'running': 1}},
    ...     'steps': [{'state': 'running', 'vm': 'v2', 'source': 'a',
    ...                'destination': 'c', 'algorithm': 'precopy',
    ...                'remaining_bytes': GIB, 'total_bytes': 4 * GIB,
    ...                'rate_mib_s': 512.0, 'elapsed_s': 6.0,
    ...                'predicted_s': 8.0, 'attempt': 1}]})[0]
    'v2  a -> c  precopy  [###############.....]  1.00 GiB left  512 MiB/s'
    """
    lines = []
    for s in view['steps']:
        if s['state'] != 'running':
            continue
        total, left = s.get('total_bytes'), s.get('remaining_bytes')
        if total and left is not None:
            frac = 1.0 - left / total
            tail = f'{left / GIB:.2f} GiB left'
        else:
            frac = min((s.get('elapsed_s') or 0.0)
                       / max(s.get('predicted_s') or 1.0, 1e-9), 1.0)
            tail = 'starting'
        rate = s.get('rate_mib_s')
        tail += f'  {rate:.0f} MiB/s' if rate else ''
        retry = f' (attempt {s["attempt"]})' if s.get('attempt', 1) > 1 \
            else ''
        lines.append(f'{s["vm"]}  {s["source"]} -> {s["destination"]}  '
                     f'{s["algorithm"]}{retry}  {_bar(frac)}  {tail}')
    t = view['totals']
    counts = ', '.join(f'{n} {k}' for k, n in sorted(t['counts'].items()))
    frac = t['done'] / t['steps'] if t['steps'] else 1.0
    lines.append(f'plan {view["id"][:8]} {view["state"]}: '
                 f'{_bar(frac)} {t["done"]}/{t["steps"]} steps done '
                 f'({counts or "no steps"}); ~{t["eta_s"]:.0f} s left')
    return lines


def render_plan(view):
    """A plan and its steps, for people."""
    lines = [f'Plan {view["id"]}  policy {view["policy"]}  state '
             f'{view["state"]}' + ('  (dry run)' if view.get('dry_run')
                                   else '')]
    lines.append(f'{"#":>3}  {"VM":<16} {"SOURCE":<12} -> '
                 f'{"DESTINATION":<12} {"ALGORITHM":<12} {"PRED s":>8}  '
                 f'{"STATE":<10} NOTE')
    for s in view['steps']:
        note = s.get('error') or ''
        if s.get('attempt', 1) > 1:
            note = f'attempt {s["attempt"]} ' + note
        lines.append(f'{s["seq"]:>3}  {s["vm"]:<16} {s["source"]:<12} -> '
                     f'{s["destination"]:<12} {s["algorithm"]:<12} '
                     f'{s["predicted_s"]:>8.1f}  {s["state"]:<10} {note}')
    doc = view.get('document') or {}
    for u in doc.get('unplaced', ()):
        lines.append(f'unplaced: {u["vm"]}: {u["reason"]}')
    for u in doc.get('schedule', {}).get('unscheduled', ()):
        lines.append(f'unscheduled: {u["vm"]}: {u["reason"]}')
    if view.get('error'):
        lines.append(f'error: {view["error"]}')
    return '\n'.join(lines)


def render_result(view):
    """How a plan ended: the steps, then where each VM is now."""
    lines = [render_plan(view), '', 'VM placement after the plan:']
    for vm, host in sorted(views.final_placement(view).items()):
        lines.append(f'  {vm:<16} {host}')
    elapsed = view['totals'].get('elapsed_s')
    if elapsed is not None:
        lines.append(f'elapsed: {elapsed:.1f} s; measured/predicted '
                     f'time: {view["totals"]["time_ratio"]:.3f}')
    return '\n'.join(lines)


def render_list(plans, limit=None):
    """A page of plan summaries; a full page ends with how to get the
    next one."""
    if not plans:
        return 'no plans'
    lines = [f'{"ID":<36}  {"POLICY":<12} {"STATE":<10} {"ORIGIN":<20} '
             'STEPS']
    for p in plans:
        counts = ', '.join(f'{n} {k}' for k, n in sorted(
            (p.get('step_counts') or {}).items()))
        lines.append(f'{p["id"]:<36}  {p["policy"]:<12} {p["state"]:<10} '
                     f'{p["origin"]:<20} {counts}')
    if limit is not None and len(plans) >= limit:
        lines.append(f'(a page of {len(plans)}; the next: nova-livemig plan '
                     f'list --marker {plans[-1]["id"]})')
    return '\n'.join(lines)


def render_purge(done):
    """What ``plan purge`` deleted.

    >>> render_purge({'plans': 3, 'steps': 12, 'older_than_days': 30})
    'purged 3 plans and 12 steps that finished more than 30 days ago'
    """
    return (f'purged {done["plans"]} plans and {done["steps"]} steps that '
            f'finished more than {done["older_than_days"]} days ago')


# The in-process conductor of ``demo`` (and of tests that run one): the
# same calls as :class:`nova_livemig.cmd.connection.Plans`, over RPC.

def conductor_api(conf, transport=None):
    from nova_livemig.cmd import redact
    from nova_livemig.conductor import rpcapi
    transport = transport or redact.get_transport(conf)
    return rpcapi.ConductorAPI(transport)


def _call(func, *args):
    """Call the conductor; remote errors become local ones."""
    import oslo_messaging  # only the in-process demo loads it
    try:
        return func({}, *args)
    except oslo_messaging.RemoteError as err:
        if err.exc_type in BUS_INPUT_ERRORS:
            first = (err.value or err.exc_type).splitlines()[0]
            raise exception.LivemigError(first) from err
        raise exception.MigrationFailed(
            f'conductor error {err.exc_type}: {err.value}') from err
    except oslo_messaging.MessagingTimeout as err:
        raise exception.MigrationFailed(
            'the conductor did not answer (is nova-livemig-conductor '
            'running on the same transport_url?)') from err


#: remote exception types that are the caller's mistake (exit status 2)
BUS_INPUT_ERRORS = ('InvalidInput', 'NotFound', 'InvalidSnapshot',
                    'InvalidPlan')


class BusPlans:
    """The plan calls of :class:`nova_livemig.cmd.connection.Plans` on a
    :class:`~nova_livemig.conductor.rpcapi.ConductorAPI` (``demo`` runs
    its conductor in its own process, on an in-process transport).

    :param rpc_api: the conductor's RPC API
    """

    def __init__(self, rpc_api):
        self.rpc = rpc_api

    def create_plan(self, policy, vms, hosts, dry_run):
        return _call(self.rpc.create_plan, policy, vms, hosts, dry_run)

    def list_plans(self, limit, marker=None):
        plans = _call(self.rpc.list_plans, limit, marker)
        return plans, (plans[-1]['id'] if len(plans) == limit else None)

    def purge_plans(self, older_than_days):
        return _call(self.rpc.purge_plans, older_than_days)

    def show_plan(self, plan_id):
        return _call(self.rpc.show_plan, plan_id)

    def execute_plan(self, plan_id):
        return _call(self.rpc.execute_plan, plan_id)

    def abort_plan(self, plan_id):
        return _call(self.rpc.abort_plan, plan_id)
