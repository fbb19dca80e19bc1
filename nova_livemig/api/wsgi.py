"""The WSGI entry point for uwsgi::

    [uwsgi]
    module = nova_livemig.api.wsgi:application

The configuration files are ``/etc/nova-livemig/nova-livemig.conf`` (the
default of oslo.config) or those ``$NOVA_LIVEMIG_CONFIG_FILES`` lists,
comma-separated. The application is built at the first request, so that
importing this module reads nothing.
"""

import os
import threading

from nova_livemig.cmd import api as api_cmd


def init_application(environ=os.environ):
    """The API application of the configuration files ``environ`` names."""
    files = [f for f in environ.get('NOVA_LIVEMIG_CONFIG_FILES', '').split(
        ',') if f] or None
    return api_cmd.make_application(api_cmd.build_conf([],
                                                       config_files=files))


class _FirstRequest:
    """A WSGI application that builds the real one at its first call."""

    def __init__(self, build):
        self.build = build
        self.app = None
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if self.app is None:
            with self.lock:
                if self.app is None:
                    self.app = self.build()
        return self.app(environ, start_response)


application = _FirstRequest(init_application)
