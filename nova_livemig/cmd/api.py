"""``nova-livemig-api``: the REST API, served by a small threaded WSGI
server for development and tests. In production run the application
under uwsgi (``nova_livemig.api.wsgi:application``) behind the usual
front end.

Reads the same configuration files as the other services: ``[api]``
(address, port, auth strategy), ``[keystone_authtoken]``,
``[oslo_policy]`` and the messaging options that reach the conductor
(the API service holds the bus credentials; its users hold a token).

Exit status: 0 after a clean stop (SIGTERM, SIGINT), 2 on bad
configuration, naming the option, the value and what is allowed.
"""

import signal
import socketserver
import sys
import threading
from wsgiref import simple_server

from oslo_config import cfg
from oslo_log import log as logging

from nova_livemig import cmd
from nova_livemig import conf as conf_mod
from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig.api import deploy

LOG = logging.getLogger(__name__)
PROJECT = 'nova-livemig'
DESCRIPTION = ('The nova-livemig REST API (development server; run '
               'nova_livemig.api.wsgi under uwsgi in production).')


def build_conf(argv, config_files=None):
    """The API's :class:`~oslo_config.cfg.ConfigOpts`, parsed.

    :param config_files: files to read instead of the default ones
    """
    conf_mod.check_config_files(conf_mod.config_files_in(argv)
                                + list(config_files or ()))
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    logging.register_options(conf)
    conf(argv, project=PROJECT, prog='nova-livemig-api',
         version=cmd.version_string(), description=DESCRIPTION,
         default_config_files=config_files)
    for name in conf.api:
        conf.api[name]  # noqa: B018 - oslo.config checks bounds here
    return conf


def make_application(conf, transport=None):
    """The WSGI application of ``conf`` (logging set up once)."""
    logging.setup(conf, PROJECT)
    return deploy.make_app(conf, deploy.conductor_api(conf, transport))


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _Quiet(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        LOG.info('%s %s', self.address_string(), fmt % args)


def serve(app, host, port):
    """A started development server of ``app``; ``server.shutdown()``
    stops it. Port 0 picks a free one (``server.server_port``)."""
    server = simple_server.make_server(host, port, app,
                                       server_class=_Server,
                                       handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name='livemig-api',
                     daemon=True).start()
    return server


def main(argv=None, stop_event=None):
    """Run the development server; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf = build_conf(argv)
        app = make_application(conf)
        server = serve(app, conf.api.host, conf.api.port)
    except (cfg.Error, ValueError, OSError, exception.LivemigError) as err:
        print(f'nova-livemig-api: {loglines.printable(str(err))}',
              file=sys.stderr)
        return 2
    stop = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    from nova_livemig import rpc
    LOG.info('nova-livemig-api on %s:%d, auth %s, transport %s',
             conf.api.host, server.server_port, conf.api.auth_strategy,
             rpc.masked_url(conf.transport_url))
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
