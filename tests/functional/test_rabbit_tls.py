"""RabbitMQ over TLS, as ``doc/control-plane.md`` configures it: the test
broker's TLS listener (a throwaway CA signed its certificate), clients
with ``[oslo_messaging_rabbit] ssl = true`` and ``ssl_ca_file``. A real
RPC round trip crosses it, an agent process configured that way answers
over it, and a client trusting another CA is refused."""

import subprocess
import sys
import time

import oslo_messaging
import pytest

from nova_livemig import conf as conf_mod
from nova_livemig import messages
from nova_livemig import rpc
from nova_livemig.agent import rpcapi
from tests import fixtures
from tests.unit import fakehosts

pytestmark = pytest.mark.rabbitmq

TOPIC = 'nova-livemig-tls-test'


@pytest.fixture
def broker(rabbitmq):
    if rabbitmq.tls_port is None:
        fixtures.skip_or_fail('openssl is not installed: the test broker '
                              'has no TLS listener', 'rabbitmq')
    return rabbitmq


def _conf(url, ca_file, **rabbit):
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], project='nova-livemig-test', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('transport_url', url)
    conf.set_override('ssl', True, 'oslo_messaging_rabbit')
    conf.set_override('ssl_ca_file', ca_file, 'oslo_messaging_rabbit')
    for name, value in rabbit.items():
        conf.set_override(name, value, 'oslo_messaging_rabbit')
    return conf


class Echo:
    """The endpoint of the round trip."""

    def ping(self, ctxt, value):
        return {'pong': value}


def test_rpc_round_trip_over_tls(broker):
    transport = rpc.get_transport(_conf(broker.tls_url, broker.tls_ca))
    server = rpc.get_server(transport, TOPIC, 'echo', [Echo()])
    server.start()
    try:
        client = rpc.get_client(transport, TOPIC, '1.0', timeout=30)
        assert client.call({}, 'ping', value='over TLS') == \
            {'pong': 'over TLS'}
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def test_a_client_trusting_another_ca_is_refused(broker):
    # no reconnection loop: the first refused handshake is the answer
    conf = _conf(broker.tls_url, broker.wrong_ca, rabbit_retry_interval=1)
    transport = rpc.get_transport(conf)
    try:
        client = rpc.get_client(transport, TOPIC, '1.0', timeout=10)
        # kombu's OperationalError (or oslo.messaging's delivery failure)
        with pytest.raises(Exception) as info:  # noqa: B017, PT011
            client.prepare(retry=0).cast({}, 'ping', value='refused')
        errors = [info.value, info.value.__cause__, info.value.__context__]
        assert any('CERTIFICATE_VERIFY_FAILED' in str(e) for e in errors), \
            repr(info.value)
    finally:
        transport.cleanup()


def test_an_agent_configured_for_tls_answers_over_it(broker, tmp_path):
    snapshot = fakehosts.write_snapshot(tmp_path)
    conf_file = tmp_path / 'a.conf'
    conf_file.write_text(
        f'[DEFAULT]\ntransport_url = {broker.tls_url}\n'
        f'log_file = {tmp_path / "a.log"}\n'
        '[oslo_messaging_rabbit]\nssl = true\n'
        f'ssl_ca_file = {broker.tls_ca}\n'
        '[agent]\nhost = a\ndriver = fake\nreport_interval_s = 60\n'
        f'[fake_driver]\nstate_dir = {tmp_path / "state"}\n'
        f'snapshot_file = {snapshot}\nnoise = 0.0\n')
    with open(tmp_path / 'a.err', 'w') as err:
        proc = subprocess.Popen(
            [sys.executable, '-m', 'nova_livemig.cmd.agent',
             '--config-file', str(conf_file)],
            cwd=fixtures.ROOT, stdout=subprocess.DEVNULL, stderr=err)
    transport = rpc.get_transport(_conf(broker.tls_url, broker.tls_ca))
    try:
        api = rpcapi.AgentAPI(transport, timeout=5)
        deadline = time.monotonic() + 60
        while True:
            try:
                report = api.measure({}, 'a')
                break
            except oslo_messaging.MessagingTimeout:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    (tmp_path / 'a.err').read_text()[-2000:])
        assert messages.HostReport.from_primitive(report).host['name'] == 'a'
    finally:
        fixtures.stop_processes([proc], grace_s=30)
        transport.cleanup()
