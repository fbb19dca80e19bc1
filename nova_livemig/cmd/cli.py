"""``nova-livemig``: the operator's command.

Sub-commands:

* ``plan --snapshot FILE --policy P ...``: plan offline from a snapshot file
  (:mod:`nova_livemig.cmd.whatif`);
* ``plan create|list|show|execute|abort|purge``: plans kept by the conductor,
  through the REST API (:mod:`nova_livemig.cmd.control`; Keystone
  credentials as the ``openstack`` command takes them, or ``--api-url``
  with ``--os-token``: :mod:`nova_livemig.cmd.connection`);
* ``migrate VM``: smart placement of one VM, through the API;
* ``history export [--output FILE] [--since EPOCH_S] [--limit N]``: the
  migration records the conductor stored, as JSON Lines
  (:mod:`nova_livemig.cmd.history`);
* ``calibrate --history FILE ... --output CAL.json``: fit the cost models
  to migration history (:mod:`nova_livemig.cmd.calibrate`);
* ``demo``: a self-contained run on embedded defaults (in-process messaging,
  SQLite, fake agents) that plans and executes a drain.

Each option belongs to one mode of ``plan``: given to the other one, it is
refused with an error naming it (exit status 2), never ignored. ``--format
json`` is the one JSON switch (``--json`` is its deprecated alias);
``--config-file`` is accepted before or after the sub-command.

Exit status: 0 success (every VM placed), 1 some VMs unplaced or a migration
failed, 2 bad input.
"""

import argparse
import sys

from oslo_config import cfg

from nova_livemig import cmd
from nova_livemig import conf as conf_mod
from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import plugins
from nova_livemig.cmd import connection

PLAN_ACTIONS = ('create', 'list', 'show', 'execute', 'abort', 'purge')
FORMATS = ('table', 'json')

#: ``plan`` options of the conductor mode: ``dest: (flag, actions)``
ACTION_OPTIONS = {
    'policy': ('--policy', ('create',)),
    'vm': ('--vm', ('create',)),
    'host': ('--host', ('create',)),
    'dry_run': ('--dry-run', ('create',)),
    'no_wait': ('--no-wait', ('execute', 'abort')),
    'interval': ('--interval', ('execute', 'abort')),
    'limit': ('--limit', ('list',)),
    'marker': ('--marker', ('list',)),
    'older_than_days': ('--older-than-days', ('purge',)),
    **{dest: (flag, PLAN_ACTIONS)
       for dest, flag in connection.OPTIONS.items()},
}
#: options the offline mode shares with these actions
SHARED_OPTIONS = ('policy', 'vm', 'host')
#: why the conductor mode refuses an offline option, when it is not plain
WHY_NOT_ONLINE = {
    'max_downtime_ms': 'the conductor plans with [planner] '
                       'max_downtime_ms of its own configuration',
}


def build_conf(args, messaging=True):
    """A private :class:`ConfigOpts` with every option group registered.

    :param args: the parsed arguments; their ``--config-file`` values
        (before and after the sub-command) are read in that order
    :param messaging: False for a command that never touches the bus: its
        configuration is then read without loading oslo.messaging
    :raises InvalidInput: naming ``--config-file``, for one that is not a
        regular file (a FIFO would block oslo.config for ever)
    """
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf, messaging=messaging)
    files = (list(getattr(args, 'config_file', None) or [])
             + list(getattr(args, 'sub_config_file', None) or []))
    conf_mod.check_config_files(files)
    conf([], project='nova-livemig', default_config_files=files or None,
         default_config_dirs=[] if files else None)
    return conf


def _add_config_file(parser, dest):
    parser.add_argument('--config-file', action='append', metavar='PATH',
                        dest=dest,
                        help='configuration file (repeatable; also '
                             'accepted before the sub-command); default: '
                             'the usual oslo.config search path')


def _add_format(parser):
    parser.add_argument('--format', choices=FORMATS, default=None,
                        help='table for people (default), json for '
                             'programs')
    parser.add_argument('--json', action='store_true', dest='json_alias',
                        help='deprecated alias of --format json')


def _policy_help():
    return ('planning policy, one of the installed: '
            + ', '.join(plugins.names(plugins.POLICIES))
            + '. single: best destination of --vm; drain: empty --host '
              '(default: every host in maintenance)')


def _add_planning(parser):
    group = parser.add_argument_group(
        'what to plan (offline, and "plan create")')
    group.add_argument('--policy', metavar='NAME', help=_policy_help())
    group.add_argument('--vm', action='append', default=[], metavar='ID',
                       help='VM to place (single; repeatable)')
    group.add_argument('--host', action='append', default=[],
                       metavar='HOST',
                       help='host to drain (drain; repeatable); default: '
                            'every host in maintenance')
    _add_format(parser.add_argument_group('output (both modes)'))


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors on one printable line of bounded length
    (no usage block: ``--help`` shows it)."""

    def error(self, message):
        text = loglines.printable(message)
        if len(text) > loglines.MAX_LINE_CHARS:
            text = (f'{text[:loglines.MAX_LINE_CHARS - 40]}... (a message '
                    f'of {len(text)} characters)')
        self.exit(2, f'{self.prog}: error: {text} (see {self.prog} '
                     '--help)\n')


def _parser():
    """:returns: the nova-livemig argument parser"""
    from nova_livemig.cmd import calibrate
    from nova_livemig.cmd import control
    from nova_livemig.cmd import demo
    from nova_livemig.cmd import history
    from nova_livemig.cmd import whatif

    parser = ArgumentParser(
        prog='nova-livemig',
        description='Cost-aware live-migration planning for OpenStack Nova.')
    parser.add_argument('--version', action='version',
                        version=f'%(prog)s {cmd.version_string()}')
    _add_config_file(parser, 'config_file')
    sub = parser.add_subparsers(dest='command', required=True)

    plan = sub.add_parser(
        'plan', help='plan migrations (offline from a snapshot file, or '
                     'through the API)',
        description='Offline: "plan --snapshot FILE --policy P". Through '
                    'the API (nova-livemig-api): "plan '
                    'create|list|show|execute|abort|purge". An option of '
                    'the other mode is an error.')
    plan.add_argument('action', nargs='?', choices=PLAN_ACTIONS,
                      help='a plan kept by the conductor; omit with '
                           '--snapshot to plan offline')
    plan.add_argument('plan_id', nargs='?', metavar='ID',
                      help='plan id for show, execute and abort')
    _add_config_file(plan, 'sub_config_file')
    _add_planning(plan)
    whatif.add_arguments(plan)
    control.add_plan_arguments(plan)
    connection.add_arguments(plan)

    migrate = sub.add_parser('migrate',
                             help='live-migrate one VM through the '
                                  'API (smart placement)')
    _add_config_file(migrate, 'sub_config_file')
    _add_format(migrate)
    control.add_migrate_arguments(migrate)
    connection.add_arguments(migrate)

    calibrate_p = sub.add_parser(
        'calibrate', help='fit the cost models to migration history',
        description='Fit the cost models\' constants to history files '
                    '(JSON Lines) and write a calibration for "plan '
                    '--calibration" and [planner] calibration_file.')
    _add_config_file(calibrate_p, 'sub_config_file')
    calibrate.add_arguments(calibrate_p)

    demo_p = sub.add_parser('demo', help='plan and execute a drain on '
                                         'embedded defaults')
    _add_config_file(demo_p, 'sub_config_file')
    demo.add_arguments(demo_p)

    history_p = sub.add_parser(
        'history', help='the migration records the conductor stored',
        description='Migration history ([database] connection): '
                    '"history export" writes it as JSON Lines.')
    _add_config_file(history.add_arguments(history_p), 'sub_config_file')
    return parser


def _given(args, dest):
    """True when the option was given: the ``plan`` options default to
    None, False or an empty list, whatever value applies when they are
    left out (see nova_livemig.cmd.control)."""
    value = getattr(args, dest, None)
    return value not in (None, False, [], ())


def check_plan_options(args):
    """Refuse an option of the other mode of ``plan``, naming it.

    :raises InvalidInput: for the first option that does not belong
    """
    from nova_livemig.cmd import whatif
    action = args.action
    if action is None:
        for dest, (flag, actions) in ACTION_OPTIONS.items():
            if dest not in SHARED_OPTIONS and _given(args, dest):
                raise exception.InvalidInput(
                    flag, getattr(args, dest),
                    f'nothing in offline planning ({flag} is for "plan '
                    f'{"|".join(actions)}")')
        return
    for dest, flag in whatif.OFFLINE_OPTIONS.items():
        if _given(args, dest):
            why = WHY_NOT_ONLINE.get(
                dest, f'{flag} is for offline planning: "plan --snapshot '
                      'FILE ...", without an action')
            raise exception.InvalidInput(
                flag, getattr(args, dest),
                f'nothing with "plan {action}" ({why})')
    for dest, (flag, actions) in ACTION_OPTIONS.items():
        if action not in actions and _given(args, dest):
            raise exception.InvalidInput(
                flag, getattr(args, dest),
                f'nothing with "plan {action}" (only with "plan '
                f'{"|".join(actions)}")')
    if action in ('create', 'list', 'purge') and args.plan_id:
        raise exception.InvalidInput(
            'ID', args.plan_id, f'nothing after "plan {action}"')


def _format(args):
    """Resolve ``--format`` and its deprecated alias ``--json``."""
    if getattr(args, 'json_alias', False):
        print('nova-livemig: warning: --json is deprecated; use --format '
              'json', file=sys.stderr)
        if args.format == 'table':
            raise exception.InvalidInput('--json', True,
                                         'not with --format table')
        args.format = 'json'
    args.format = args.format or 'table'
    args.json = args.format == 'json'  # read by nova_livemig.cmd.control


def _dispatch(args):
    from nova_livemig.cmd import calibrate
    from nova_livemig.cmd import control
    from nova_livemig.cmd import demo
    from nova_livemig.cmd import history
    from nova_livemig.cmd import whatif

    if args.command == 'plan':
        check_plan_options(args)
    if args.command in ('plan', 'migrate'):
        _format(args)
    if args.command == 'plan' and args.action is None:
        return whatif.run(args, build_conf(args, messaging=False))
    if args.command == 'plan':
        return control.run_plan(args, build_conf(args, messaging=False))
    if args.command == 'calibrate':
        return calibrate.run(args, build_conf(args, messaging=False))
    if args.command == 'migrate':
        return control.run_migrate(args, build_conf(args, messaging=False))
    if args.command == 'history':
        return history.run(args, build_conf(args, messaging=False))
    return demo.run(args, build_conf(args))


def print_error(err, prefix='nova-livemig: error: '):
    """Print an error to stderr as
    :func:`nova_livemig.loglines.message_lines` shapes it: control
    characters escaped, long values and long lists of errors cut, one
    line when there is one error."""
    lines = loglines.message_lines(err)
    print(prefix + '\n'.join(lines), file=sys.stderr)


def run(argv=None):
    """Run the command; returns its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except exception.LivemigError as err:
        print_error(err)
        return err.exit_code
    except cfg.Error as err:
        print_error(err, 'nova-livemig: configuration error: ')
        return 2


def main():
    # a name the terminal's encoding cannot show is escaped, not an error
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, 'reconfigure'):
            stream.reconfigure(errors='backslashreplace')
    sys.exit(run())
