"""``nova-livemig``: the operator's command.

Sub-commands:

* ``plan --snapshot FILE --policy P ...``: plan offline from a snapshot file
  (:mod:`nova_livemig.cmd.whatif`);
* ``plan create|list|show|execute|abort``: plans kept by the conductor
  (:mod:`nova_livemig.cmd.control`);
* ``migrate VM [--to HOST]``: smart placement of one VM, through the
  conductor;
* ``demo``: a self-contained run on embedded defaults (in-process messaging,
  SQLite, fake agents) that plans and executes a drain.

Exit status: 0 success (every VM placed), 1 some VMs unplaced or a migration
failed, 2 bad input.
"""

import argparse
import sys

from oslo_config import cfg

from nova_livemig import conf as conf_mod
from nova_livemig import exception

PLAN_ACTIONS = ('create', 'list', 'show', 'execute', 'abort')


def build_conf(args, register=()):
    """A private :class:`ConfigOpts` with every option group registered.

    :param register: extra ``register_opts(conf)`` callables
    """
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    for func in register:
        func(conf)
    files = list(getattr(args, 'config_file', None) or [])
    conf([], project='nova-livemig', default_config_files=files or None,
         default_config_dirs=[] if files else None)
    return conf


def _parser():
    from nova_livemig.cmd import control
    from nova_livemig.cmd import demo
    from nova_livemig.cmd import whatif

    parser = argparse.ArgumentParser(
        prog='nova-livemig',
        description='Cost-aware live-migration planning for OpenStack Nova.')
    parser.add_argument('--config-file', action='append', metavar='PATH',
                        help='configuration file (repeatable); default: '
                             'the usual oslo.config search path')
    sub = parser.add_subparsers(dest='command', required=True)

    plan = sub.add_parser(
        'plan', help='plan migrations (offline from a snapshot file, or '
                     'through the conductor)')
    plan.add_argument('action', nargs='?', choices=PLAN_ACTIONS,
                      help='a plan kept by the conductor; omit with '
                           '--snapshot to plan offline')
    plan.add_argument('plan_id', nargs='?', metavar='ID',
                      help='plan id for show, execute and abort')
    whatif.add_arguments(plan)
    control.add_plan_arguments(plan)

    migrate = sub.add_parser('migrate',
                             help='live-migrate one VM through the '
                                  'conductor (smart placement)')
    control.add_migrate_arguments(migrate)

    demo_p = sub.add_parser('demo', help='plan and execute a drain on '
                                         'embedded defaults')
    demo.add_arguments(demo_p)
    return parser


def run(argv=None):
    """Run the command; returns its exit status."""
    from nova_livemig.cmd import control
    from nova_livemig.cmd import demo
    from nova_livemig.cmd import whatif

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == 'plan' and args.action is None:
            return whatif.run(args, build_conf(args))
        if args.command == 'plan':
            return control.run_plan(args, build_conf(
                args, control.REGISTER))
        if args.command == 'migrate':
            return control.run_migrate(args, build_conf(
                args, control.REGISTER))
        return demo.run(args, build_conf(args, demo.REGISTER))
    except exception.LivemigError as err:
        print(f'nova-livemig: error: {err}', file=sys.stderr)
        return err.exit_code
    except cfg.Error as err:
        print(f'nova-livemig: configuration error: {err}', file=sys.stderr)
        return 2


def main():
    sys.exit(run())
