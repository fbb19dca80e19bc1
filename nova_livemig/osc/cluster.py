"""``openstack livemig history list``, ``calibration show|refit``,
``snapshot show``, ``periodic list|dry-run``."""

from osc_lib.command import command

from nova_livemig.osc import plan as plan_cmd

HISTORY_COLUMNS = ('step_id', 'vm', 'source', 'destination', 'algorithm',
                   'completed', 'total_s', 'downtime_ms', 'finished_at')
PERIODIC_COLUMNS = ('policy', 'cron', 'mode', 'enabled', 'last_run_at',
                    'next_run_at')


def _client(cmd):
    return cmd.app.client_manager.livemig


class ListHistory(command.Lister):
    """List migration records, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--limit', type=int, metavar='<n>',
                            help='at most this many records')
        parser.add_argument('--since', type=float, metavar='<epoch-s>',
                            help='only those finished at or after this '
                                 'time (seconds since the epoch)')
        return parser

    def take_action(self, args):
        records = _client(self).history.list(limit=args.limit,
                                             since=args.since)
        rows = []
        for rec in records:
            row = dict(rec.get('after') or {}, **rec)
            rows.append(tuple(row.get(c) for c in HISTORY_COLUMNS))
        return HISTORY_COLUMNS, rows


def _calibration_row(cal):
    constants = {name: c.get('value') for name, c in
                 sorted((cal.get('constants') or {}).items())}
    row = {k: v for k, v in cal.items() if k != 'constants'}
    row['constants'] = constants
    names = tuple(sorted(row))
    return names, tuple(row[n] for n in names)


class ShowCalibration(command.ShowOne):
    """Show the calibration the cost model plans with."""

    def take_action(self, args):
        return _calibration_row(_client(self).calibration.get())


class RefitCalibration(command.ShowOne):
    """Refit the cost model from the migration history now (admin)."""

    def take_action(self, args):
        return _calibration_row(_client(self).calibration.refit())


class ShowSnapshot(command.ShowOne):
    """Show the cluster snapshot the conductor plans on (hosts, VMs)."""

    def take_action(self, args):
        snap = _client(self).snapshot.get()
        hosts = {h['name']: 0 for h in snap.get('hosts', ())}
        for vm in snap.get('vms', ()):
            if vm.get('host') in hosts:
                hosts[vm['host']] += 1
        row = {'version': snap.get('version'),
               'hosts': len(hosts), 'vms': len(snap.get('vms', ())),
               'vms_per_host': hosts,
               'links': len(snap.get('links', ()))}
        names = tuple(row)
        return names, tuple(row[n] for n in names)


class ListPeriodic(command.Lister):
    """List the scheduled policies with their last and next runs."""

    def take_action(self, args):
        entries = _client(self).periodic.list()
        return PERIODIC_COLUMNS, [tuple(e.get(c) for c in PERIODIC_COLUMNS)
                                  for e in entries]


class DryRunPeriodic(command.ShowOne):
    """Plan a scheduled policy now, as a dry run (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('policy', metavar='<policy>',
                            help='a scheduled policy')
        return parser

    def take_action(self, args):
        return plan_cmd.plan_row(_client(self).periodic.dry_run(args.policy))
