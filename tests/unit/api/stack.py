"""The API in-process on the real RPC path: a conductor service (a real
endpoint on SQLite, an executor that records what it is asked) serving
on an oslo.messaging ``fake://`` transport, the API application calling
it over that transport, keystonemiddleware in front with its test fixture
standing in for Keystone (tokens ``admin-token`` and ``reader-token``)."""

import time

from keystonemiddleware import fixture as ks_fixture

from nova_livemig import rpc
from nova_livemig.api import deploy
from nova_livemig.cmd import conductor as conductor_cmd
from nova_livemig.db import api as db_api
from tests.unit import conductor_fixtures as cf
from tests.unit import test_conductor_endpoint as tce

ADMIN_TOKEN = 'admin-token'
READER_TOKEN = 'reader-token'
#: a token of a user with the member role only
MEMBER_TOKEN = 'member-token'
#: where a client without a token is sent (the 401's header)
KEYSTONE_URI = 'http://keystone.test/identity'
PROJECT_ID = '6f70656e737461636b20697320636f6f6c'


def make_conf(tmp_path, overrides=()):
    """The conductor tests' configuration
    (:func:`tests.unit.test_conductor_endpoint.make_conf`), with
    ``{(group, name): value}`` overrides."""
    conf = tce.make_conf(tmp_path)
    for (group, name), value in dict(overrides).items():
        conf.set_override(name, value, group)
    return conf


def report(name, vms, at):
    return {'host': cf.host(name), 'vms': vms, 'measured_at': at,
            'driver': 'fake', 'migration_uri': None}


class Stack:
    """A running conductor and the API application in front of it.

    :ivar app: the WSGI application
    :ivar executor: the conductor's recording executor
    """

    def __init__(self, tmp_path, overrides=None, auth='keystone',
                 run_engine=True):
        """:param run_engine: start the conductor's threads (its plan
            runner); without, an executed plan stays ``executing`` with its
            steps pending, which the API samples need to be the same at
            every run"""
        overrides = dict(overrides or {})
        overrides[('api', 'auth_strategy')] = auth
        self.conf = make_conf(tmp_path, overrides)
        self.auth = None
        if auth == 'keystone':
            from keystonemiddleware import auth_token
            for group, opts in auth_token.list_opts():
                self.conf.register_opts(opts, group=group)
            self.conf.set_override('www_authenticate_uri', KEYSTONE_URI,
                                   'keystone_authtoken')
            self.auth = ks_fixture.AuthTokenFixture()
            self.auth.setUp()
            for token, roles in ((ADMIN_TOKEN, ['admin', 'member',
                                                'reader']),
                                 (READER_TOKEN, ['reader']),
                                 (MEMBER_TOKEN, ['member'])):
                self.auth.add_token_data(
                    token_id=token, user_id=token.split('-')[0],
                    project_id=PROJECT_ID, role_list=roles)
        db = db_api.from_conf(self.conf)
        self.transport = rpc.get_transport(self.conf)
        self.executor = cf.RecordingExecutor()
        self.service = conductor_cmd.Service(self.conf, db, self.transport,
                                             executor=self.executor)
        if run_engine:
            self.service.start()
        else:
            self.service.server.start()
        self.app = deploy.make_app(
            self.conf, deploy.conductor_api(self.conf, self.transport))

    def report(self, placement):
        """Every host of ``{host: [vm ids]}`` reports its VMs now."""
        now = time.time()  # the service's clock is the real one
        conductor = self.service.conductor
        for name, vms in placement.items():
            conductor.report(_message(report(
                name, [dict(cf.vm(v), host=name) for v in vms], now)))

    def stop(self):
        self.service.stop()
        rpc.cleanup(self.transport)
        if self.auth is not None:
            self.auth.cleanUp()


def _message(data):
    from nova_livemig import messages
    return messages.HostReport.from_primitive(data)
