"""``nova-livemig-agent``: the compute-side agent service.

Builds its own config, sets up oslo.log, loads ``[agent] driver`` and
serves until SIGTERM or SIGINT. A ``[message_security] key_file`` its
group or others can read stops it at once (exit status 2). The transport
URL is logged with its password masked; the environment is never logged.
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
from nova_livemig import plugins
from nova_livemig import rpc
from nova_livemig import signing
from nova_livemig.agent import manager as agent_mod
from nova_livemig.cmd import redact

LOG = logging.getLogger(__name__)
PROJECT = 'nova-livemig'
DESCRIPTION = ('The nova-livemig agent of one compute host: measures its '
               'VMs for the conductor and runs the live migrations it is '
               'given through [agent] driver (RPC service; stop with '
               'SIGTERM).')


def build_conf(argv):
    """The agent's :class:`~oslo_config.cfg.ConfigOpts`, parsed.

    :param argv: command line arguments, without the program name
    :raises InvalidInput: naming ``--config-file``, for one that is not a
        regular file
    """
    conf_mod.check_config_files(conf_mod.config_files_in(argv))
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    logging.register_options(conf)
    conf(argv, project=PROJECT, prog='nova-livemig-agent',
         version=cmd.version_string(), description=DESCRIPTION)
    return conf


def main(argv=None, stop_event=None):
    """Run the agent; returns the exit status.

    :param stop_event: a :class:`threading.Event` that stops the agent
        (tests); SIGTERM and SIGINT set it too
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = build_conf(argv)
    except (cfg.Error, ValueError, exception.LivemigError) as err:
        print(f'nova-livemig-agent: {loglines.printable(str(err))}',
              file=sys.stderr)
        return 2
    logging.setup(conf, PROJECT)
    stop = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    try:
        security = signing.for_agent(conf)
        driver = plugins.load(plugins.DRIVERS, conf.agent.driver,
                              invoke_args=(conf,))
        transport = redact.get_transport(conf)
    except exception.LivemigError as err:
        failed, status = err, err.exit_code
    except Exception as err:  # noqa: BLE001 - a malformed transport_url
        failed, status = err, 2
    else:
        failed = None
    if failed is not None:
        redact.start_failed('nova-livemig-agent', failed, conf, LOG)
        return status
    LOG.info('host %s, driver %s, transport %s', conf.agent.host,
             conf.agent.driver, rpc.masked_url(conf.transport_url))
    if security is None:
        LOG.warning('[message_security] key_file is unset: this agent '
                    'signs nothing and takes steps from anyone on the bus')
    service = agent_mod.Agent(conf, driver, transport, security=security)
    try:
        service.start()
    except Exception as err:  # noqa: BLE001 - the driver refused the URL
        failed = redact.serving_failed(err, conf)
    if failed is not None:
        redact.start_failed('nova-livemig-agent', failed, conf, LOG)
        # the server did not start: stopping it would wait for ever
        _stop_quietly(rpc.cleanup, transport)
        return 2
    try:
        while not stop.wait(1.0):
            pass
    finally:
        service.stop()
        rpc.cleanup(transport)
    return 0


def _stop_quietly(stop, arg):
    """Undo a start that failed half-way; what fails then is known."""
    try:
        stop(arg)
    except Exception as err:  # noqa: BLE001 - the start failed already
        LOG.debug('cleaning up after a failed start: %s', err)


if __name__ == '__main__':
    sys.exit(main())
