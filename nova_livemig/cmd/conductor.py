"""``nova-livemig-conductor``: plans, persists and executes migrations.

Builds its own config, sets up oslo.log, brings the database schema up to
date (``[database] auto_sync``; or only that, with ``--db-sync``), waits
for the conductor lease (:mod:`nova_livemig.conductor.lease`; at once when
no other conductor holds it), resumes the plans a previous run left
executing, and serves ``ConductorAPI`` while it holds the lease, until
SIGTERM or SIGINT. The transport URL is logged with its password masked;
the environment is never logged.

Exit status: 0 after a clean stop (or a successful ``--db-sync``), 2 on bad
configuration, with an error naming the option, the value and what is
allowed; among them an agent key file others can read
(``[message_security] agent_keys_dir``) and the default ``[conductor]
executor = nova`` without the ``[nova]`` keystone options (see
:func:`nova_livemig.conductor.service.load_executor`).
"""

import signal
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

from nova_livemig import cmd
from nova_livemig import conf as conf_mod
from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import rpc
from nova_livemig import signing
from nova_livemig.cmd import redact
from nova_livemig.conductor import lease
from nova_livemig.conductor import manager
from nova_livemig.conductor import notifications
from nova_livemig.conductor import service
from nova_livemig.db import api as db_api

LOG = logging.getLogger(__name__)
PROJECT = 'nova-livemig'
DESCRIPTION = ('The nova-livemig conductor: plans live migrations from the '
               'agents\' measurements, keeps the plans in its database and '
               'executes them (RPC service; stop with SIGTERM).')

CLI_OPTS = [
    cfg.BoolOpt('db-sync', default=False,
                help='Apply the database schema migrations and exit.'),
]


def build_conf(argv):
    """The conductor's :class:`~oslo_config.cfg.ConfigOpts`, parsed.

    :param argv: command line arguments, without the program name
    :raises InvalidInput: naming ``--config-file``, for one that is not a
        regular file
    """
    conf_mod.check_config_files(conf_mod.config_files_in(argv))
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf.register_cli_opts(CLI_OPTS)
    logging.register_options(conf)
    conf(argv, project=PROJECT, prog='nova-livemig-conductor',
         version=cmd.version_string(), description=DESCRIPTION)
    for group in ('conductor', 'database', 'periodic', 'planner',
                  'cost_model'):
        for name in conf[group]:
            conf[group][name]  # noqa: B018 - oslo.config checks bounds here
    lease.check_timing(conf.conductor.lease_duration_s,
                       conf.conductor.lease_renew_interval_s)
    return conf


def make_notify(transport, host):
    """``notify(event_type, payload)`` through an oslo.messaging notifier;
    a failed notification is logged, never raised."""
    notifier = rpc.get_notifier(transport, host)

    def notify(event_type, payload):
        try:
            notifications.emit(notifier, {}, event_type, payload)
        except Exception as err:  # noqa: BLE001 - best effort
            LOG.warning('notification %s not sent: %s', event_type, err)
    return notify


class Service:
    """A running conductor: the service object, its RPC server and
    transport. The demo and the tests run one in-process.

    :param transport: an RPC transport to share (``fake://`` needs the
        same object on both sides), or None to build one from ``conf``
    :param executor: the executor, or None to load the one ``[conductor]
        executor`` names
    :param own_transport: whether :meth:`stop` cleans ``transport`` up
        (default: only one it built itself)
    """

    def __init__(self, conf, db, transport=None, executor=None,
                 own_transport=None):
        self.conf = conf
        self.own_transport = (transport is None if own_transport is None
                              else own_transport)
        self.transport = transport or rpc.get_transport(conf)
        if executor is None:
            executor = service.load_executor(conf, self.transport)
        host = conf.conductor.host
        security = signing.for_conductor(conf)
        if security is None:
            LOG.warning('[message_security] agent_keys_dir is unset: the '
                        'agents\' messages are not authenticated')
        self.conductor = service.Conductor(conf, db, executor)
        self.conductor.live.max_skew_s = (
            conf.message_security.max_clock_skew_s)
        self.notification_transport = rpc.get_notification_transport(conf)
        self.conductor.notify = make_notify(self.notification_transport,
                                            host or self.conductor.host)
        self.conductor.engine.notify = self.conductor.notify
        self.server = Server(rpc.get_server(
            self.transport, rpc.CONDUCTOR_TOPIC, self.conductor.host,
            [manager.ConductorEndpoint(
                self.conductor, security[1] if security else None)]))
        # only the active conductor serves: a standby leaves the reports
        # and calls to it (conductor.lease)
        self.conductor.on_elected.append(lambda epoch: self.server.start())
        self.conductor.on_fenced.append(lambda epoch: self.server.stop())

    def start(self):
        """:returns: True when this conductor is the active one now"""
        return self.conductor.start()

    def stop(self):
        self.conductor.stop()
        self.server.stop()
        rpc.cleanup(self.notification_transport)
        if self.own_transport:
            rpc.cleanup(self.transport)


class Server:
    """The RPC server of a conductor, started on each election and
    stopped on each fencing; a server that is not running is not stopped
    (oslo.messaging would wait for ever for its start)."""

    def __init__(self, server):
        self._server = server
        self.running = False

    def start(self):
        if not self.running:
            self._server.start()
            self.running = True

    def stop(self):
        if self.running:
            self.running = False
            self._server.stop()
            self._server.wait()


def main(argv=None, stop_event=None):
    """Run the conductor; returns the exit status.

    :param stop_event: a :class:`threading.Event` that stops it (tests);
        SIGTERM and SIGINT set it too
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = build_conf(argv)
    except (cfg.Error, ValueError, exception.LivemigError) as err:
        print(f'nova-livemig-conductor: {loglines.printable(str(err))}',
              file=sys.stderr)
        return 2
    logging.setup(conf, PROJECT)
    transport = None
    try:
        if not conf.db_sync:
            # refuse a configuration the executor cannot work with before
            # the database is touched: a refusal changes nothing
            transport = redact.get_transport(conf)
            executor = service.load_executor(conf, transport)
            signing.for_conductor(conf)  # the agents' key files
        db = db_api.Database(conf.database.connection)
        if conf.db_sync:
            revision = db.sync()
            print(f'database schema at revision {revision}')
            return 0
        if conf.database.auto_sync:
            db.sync()
        else:
            db.check()
        running = Service(conf, db, transport, executor,
                          own_transport=True)
    except exception.LivemigError as err:
        failed, status = err, err.exit_code
    except Exception as err:  # noqa: BLE001 - bad URL, unreachable DB
        failed, status = err, 2
    else:
        failed = None
    if failed is not None:
        redact.start_failed('nova-livemig-conductor', failed, conf, LOG)
        _cleanup(transport)
        return status
    stop = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    LOG.info('conductor %s, executor %s, transport %s',
             running.conductor.host, conf.conductor.executor,
             rpc.masked_url(conf.transport_url))
    try:
        if not running.start():
            LOG.info('conductor %s is on standby: another conductor holds '
                     'the lease', running.conductor.host)
    except Exception as err:  # noqa: BLE001 - the driver refused the URL
        failed = redact.serving_failed(err, conf)
    if failed is not None:
        redact.start_failed('nova-livemig-conductor', failed, conf, LOG)
        # the server did not start: stopping it would wait for ever
        for transport in (running.notification_transport,
                          running.transport):
            try:
                rpc.cleanup(transport)
            except Exception as err:  # noqa: BLE001 - failed already
                LOG.debug('cleaning up after a failed start: %s', err)
        return 2
    try:
        while not stop.wait(1.0):
            pass
    finally:
        running.stop()
    return 0


def _cleanup(transport):
    if transport is not None:
        rpc.cleanup(transport)


if __name__ == '__main__':
    sys.exit(main())
