"""``openstack livemig whatif``: plan on a snapshot file through the API
(``POST /v1/whatif``); nothing is recorded."""

from osc_lib.command import command

from nova_livemig import exception
from nova_livemig import textfile
from nova_livemig import validation

COLUMNS = ('vm', 'source', 'destination', 'algorithm', 'total_s',
           'downtime_ms', 'start_s')
#: the largest snapshot file read (the API's default body limit)
MAX_BYTES = 16 * 1024 * 1024


def move_row(move):
    """The values of :data:`COLUMNS` of a planned move: its scheduled
    figures when the plan was scheduled, else its predicted ones."""
    legs = move.get('scheduled') or []
    figures = legs[-1] if legs else move.get('predicted') or {}
    start = legs[0].get('start_s') if legs else None
    return (move['vm'], move['source'], move['destination'],
            move['algorithm'], figures.get('total_s'),
            figures.get('downtime_ms'), start)


class WhatIf(command.Lister):
    """Plan on a snapshot file, with the API's planner; nothing is
    recorded (the moves; unplaced VMs are named on standard error)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--snapshot', required=True, metavar='<file>',
                            help='cluster snapshot (JSON, format v1)')
        parser.add_argument('--policy', required=True, metavar='<policy>',
                            help='drain, single, consolidate, balance')
        parser.add_argument('--host', action='append', default=[],
                            dest='hosts', metavar='<host>',
                            help='a host the policy concerns (repeatable)')
        parser.add_argument('--vm', action='append', default=[],
                            dest='vms', metavar='<vm>',
                            help='a VM the policy concerns (repeatable)')
        parser.add_argument('--max-downtime-ms', type=float, metavar='<ms>',
                            help='downtime target of every migration')
        parser.add_argument('--no-schedule', action='store_true',
                            help='do not schedule the moves')
        return parser

    def take_action(self, args):
        text = textfile.read(args.snapshot, '--snapshot', MAX_BYTES)
        snapshot = validation.parse_json(text, '--snapshot')
        if not isinstance(snapshot, dict):
            raise exception.InvalidInput('--snapshot', args.snapshot,
                                         'a file holding a JSON object')
        plan = self.app.client_manager.livemig.whatif.plan(
            snapshot, args.policy, hosts=args.hosts, vms=args.vms,
            schedule=not args.no_schedule,
            max_downtime_ms=args.max_downtime_ms)
        for entry in plan.get('unplaced', ()):
            self.app.stderr.write(f"unplaced {entry.get('vm')}: "
                                  f"{entry.get('reason')}\n")
        return COLUMNS, [move_row(m) for m in plan['moves']]
