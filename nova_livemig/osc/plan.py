"""``openstack livemig plan create|list|show|execute|abort|delete`` and
``openstack livemig step list``."""

from osc_lib.command import command

#: the columns of ``plan show`` (and of create, execute, abort)
PLAN_COLUMNS = ('id', 'policy', 'state', 'dry_run', 'origin', 'steps',
                'done', 'eta_s', 'created_at', 'started_at', 'finished_at',
                'error')
LIST_COLUMNS = ('id', 'policy', 'state', 'dry_run', 'origin', 'steps',
                'created_at')
STEP_COLUMNS = ('id', 'seq', 'vm', 'source', 'destination', 'algorithm',
                'state', 'host', 'predicted_s', 'elapsed_s', 'error')


def plan_row(plan):
    """The values of :data:`PLAN_COLUMNS` of a plan."""
    totals = plan.get('totals') or {}
    counts = plan.get('step_counts')
    steps = totals.get('steps', sum(counts.values()) if counts else 0)
    row = dict(plan, steps=steps, done=totals.get('done'),
               eta_s=totals.get('eta_s'))
    return PLAN_COLUMNS, tuple(row.get(c) for c in PLAN_COLUMNS)


def _client(cmd):
    return cmd.app.client_manager.livemig


def _add_plan_id(parser):
    parser.add_argument('plan_id', metavar='<plan>', help='plan id')
    return parser


class CreatePlan(command.ShowOne):
    """Create a plan from a policy (an admin's action)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--policy', required=True, metavar='<policy>',
                            help='policy: drain, single, consolidate, '
                                 'balance, noop')
        parser.add_argument('--host', action='append', default=[],
                            metavar='<host>', dest='hosts',
                            help='a host the policy concerns (drain: the '
                                 'host to empty; repeatable)')
        parser.add_argument('--vm', action='append', default=[],
                            metavar='<vm>', dest='vms',
                            help='a VM the policy concerns (single; '
                                 'repeatable)')
        parser.add_argument('--dry-run', action='store_true',
                            help='record the plan, never execute it')
        return parser

    def take_action(self, args):
        return plan_row(_client(self).plans.create(
            args.policy, hosts=args.hosts, vms=args.vms,
            dry_run=args.dry_run))


class ListPlan(command.Lister):
    """List plans, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--limit', type=int, metavar='<n>',
                            help='at most this many plans (a page)')
        parser.add_argument('--marker', metavar='<plan>',
                            help='the page after this plan')
        parser.add_argument('--state', metavar='<state>',
                            help='only plans in this state')
        parser.add_argument('--policy', metavar='<policy>',
                            help='only plans of this policy')
        return parser

    def take_action(self, args):
        plans, _ = _client(self).plans.list(
            limit=args.limit, marker=args.marker, state=args.state,
            policy=args.policy)
        rows = []
        for plan in plans:
            row = dict(zip(*plan_row(plan)))
            rows.append(tuple(row.get(c) for c in LIST_COLUMNS))
        return LIST_COLUMNS, rows


class _PlanCall(command.ShowOne):
    """A command on one plan that shows the plan it answers with."""

    #: the :class:`nova_livemig.client.plans.Plans` method called
    call = None

    def get_parser(self, prog_name):
        return _add_plan_id(super().get_parser(prog_name))

    def take_action(self, args):
        plans = _client(self).plans
        return plan_row(getattr(plans, self.call)(args.plan_id))


class ShowPlan(_PlanCall):
    """Show a plan."""

    call = 'get'


class ExecutePlan(_PlanCall):
    """Execute a planned plan: live-migrate its VMs (an admin's action)."""

    call = 'execute'


class AbortPlan(_PlanCall):
    """Abort a plan: pending steps are skipped, running ones aborted."""

    call = 'abort'


class DeletePlan(command.Command):
    """Delete plans that are not executing."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('plan_ids', metavar='<plan>', nargs='+',
                            help='plan id (repeatable)')
        return parser

    def take_action(self, args):
        for plan_id in args.plan_ids:
            _client(self).plans.delete(plan_id)


class ListStep(command.Lister):
    """List the steps of a plan."""

    def get_parser(self, prog_name):
        return _add_plan_id(super().get_parser(prog_name))

    def take_action(self, args):
        steps = _client(self).plans.steps(args.plan_id)
        return STEP_COLUMNS, [tuple(s.get(c) for c in STEP_COLUMNS)
                              for s in steps]
