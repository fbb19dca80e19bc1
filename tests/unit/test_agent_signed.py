"""The agent on an untrusted bus: it takes steps only signed by a
conductor for its own host, and signs what it sends."""

import logging
import os
import threading

import oslo_messaging
import pytest

from nova_livemig import exception
from nova_livemig import messages
from nova_livemig import plugins
from nova_livemig import rpc
from nova_livemig import signing
from nova_livemig.agent import manager as agent_mod
from nova_livemig.agent import rpcapi
from nova_livemig.cmd import agent as agent_cmd
from tests import fixtures
from tests.unit import fakehosts

KEY_A = b'a' * 64
KEY_B = b'b' * 64


class StubAgent:
    """Records what the endpoint hands it."""

    host = 'a'

    def __init__(self):
        self.calls = []

    def live_migrate(self, step):
        self.calls.append(('live_migrate', step.step_id))

    def tune_migration(self, step):
        self.calls.append(('tune_migration', step.step_id))

    def abort_migration(self, step_id):
        self.calls.append(('abort_migration', step_id))

    def get_job(self, step_id):
        self.calls.append(('get_job', step_id))
        return {'state': 'unknown'}

    def measure(self):
        self.calls.append(('measure',))
        return messages.JobStatus('s', 'v', 'unknown', None, None)


STEP = fakehosts.step().to_primitive()
CALLS = [('live_migrate', {'step': STEP}), ('tune_migration', {'step': STEP}),
         ('abort_migration', {'step_id': 'p1-0'}),
         ('get_job', {'step_id': 'p1-0'}), ('measure', {})]


def _endpoint(require_signed=True):
    stub = StubAgent()
    verifier = signing.Verifier({'a': KEY_A}.get,
                                require_signed=require_signed)
    return agent_mod.AgentEndpoint(stub, verifier), stub


def _conductor_ctxt(method, args, key=KEY_A, to='a'):
    return signing.Signer(lambda h: key, 'conductor',
                          signing.CONDUCTOR).context({}, method, args, to)


def _invoke(endpoint, ctxt, method, args):
    """Call as the RPC server does: a call's refusal is an expected
    exception, the error the caller gets."""
    try:
        getattr(endpoint, method)(ctxt, **args)
    except oslo_messaging.ExpectedException as err:
        return err.exc_info[1]
    return None


@pytest.mark.parametrize('method, args', CALLS)
def test_a_conductor_signed_message_is_acted_on(method, args):
    endpoint, stub = _endpoint()
    assert _invoke(endpoint, _conductor_ctxt(method, args), method,
                   args) is None
    assert [c[0] for c in stub.calls] == [method]


@pytest.mark.parametrize('method, args', CALLS)
@pytest.mark.parametrize('forge', [
    lambda m, a: {},                                     # unsigned
    lambda m, a: _conductor_ctxt(m, a, key=KEY_B),       # a wrong key
    lambda m, a: _conductor_ctxt(m, a, key=KEY_B, to='b'),  # b's message
    lambda m, a: signing.Signer(lambda h: KEY_A, 'agent', 'a').context(
        {}, m, a, 'conductor'),                          # not a conductor
    lambda m, a: _conductor_ctxt('other', a),            # another method
])
def test_forged_messages_are_refused_and_nothing_happens(method, args,
                                                         forge, caplog):
    endpoint, stub = _endpoint()
    err = _invoke(endpoint, forge(method, args), method, args)
    assert stub.calls == []
    lines = [r.getMessage() for r in caplog.records
             if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0].startswith(f'refusing {method}')
    assert len(lines[0]) < 400 and 'a' * 64 not in lines[0]
    if method in ('get_job', 'measure'):
        assert isinstance(err, exception.InvalidInput)
        assert err.field == 'message signature'


def test_a_replayed_step_is_refused():
    endpoint, stub = _endpoint()
    ctxt = _conductor_ctxt('live_migrate', {'step': STEP})
    endpoint.live_migrate(ctxt, STEP)
    endpoint.live_migrate(ctxt, STEP)
    assert stub.calls == [('live_migrate', 'p1-0')]


def test_unsigned_is_taken_during_a_rollout_but_forged_is_not():
    endpoint, stub = _endpoint(require_signed=False)
    endpoint.live_migrate({}, STEP)
    endpoint.live_migrate(_conductor_ctxt('live_migrate', {'step': STEP},
                                          key=KEY_B), STEP)
    assert stub.calls == [('live_migrate', 'p1-0')]


def test_a_huge_garbled_step_id_is_logged_briefly(caplog):
    endpoint, stub = _endpoint(require_signed=False)
    err = _invoke(endpoint, {}, 'get_job', {'step_id': ['x' * 10_000_000]})
    assert isinstance(err, exception.InvalidInput) and len(str(err)) < 1000
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)
    assert stub.calls == []


@pytest.mark.parametrize('step_id', ['x' * 1_000_000, 'p1\x1b[2J',
                                     '\ud800', '', 7])
def test_a_step_id_that_is_not_a_name_reaches_no_agent(caplog, step_id):
    endpoint, stub = _endpoint(require_signed=False)
    err = _invoke(endpoint, {}, 'get_job', {'step_id': step_id})
    assert isinstance(err, exception.InvalidInput)
    assert err.field == 'step_id' and len(str(err)) < 1000
    endpoint.abort_migration({}, step_id)
    assert stub.calls == []
    assert all(len(r.getMessage()) < 1000 and r.getMessage().isprintable()
               for r in caplog.records)


# In-process: the conductor's AgentAPI and a real agent --------------------

class Recorder:
    """A conductor endpoint that checks the agents' signatures."""

    def __init__(self, verifier):
        self.verifier = verifier
        self.got = []

    def _take(self, ctxt, method, arg, value):
        signer = self.verifier.verify(ctxt, method, {arg: value},
                                      role='agent', to='conductor')
        self.got.append((method, signer, value))

    def report_measurements(self, ctxt, report):
        self._take(ctxt, 'report_measurements', 'report', report)

    def migration_progress(self, ctxt, progress):
        self._take(ctxt, 'migration_progress', 'progress', progress)

    def migration_result(self, ctxt, result):
        self._take(ctxt, 'migration_result', 'result', result)


@pytest.fixture
def signed_bus(tmp_path):
    keys = tmp_path / 'keys'
    keys.mkdir()
    for host, key in (('a', KEY_A), ('b', KEY_B)):
        (keys / f'{host}.key').write_bytes(key)
        os.chmod(keys / f'{host}.key', 0o600)
    overrides = {'agent__monitor_interval_s': 0.01,
                 'agent__progress_interval_s': 0.05,
                 'agent__report_interval_s': 0.1,
                 'fake_driver__time_scale': 0.3}
    cconf = fakehosts.make_conf(tmp_path, 'cond', **overrides,
                                message_security__agent_keys_dir=str(keys))
    transport = rpc.get_transport(cconf)
    recorder = Recorder(signing.for_conductor(cconf)[1])
    server = rpc.get_server(transport, rpc.CONDUCTOR_TOPIC, 'conductor',
                            [recorder])
    server.start()
    agents = []
    for host in ('a', 'b'):
        conf = fakehosts.make_conf(
            tmp_path, host, **overrides,
            message_security__key_file=str(keys / f'{host}.key'))
        driver = plugins.load(plugins.DRIVERS, 'fake', invoke_args=(conf,))
        agents.append(agent_mod.Agent(conf, driver, transport))
        agents[-1].start()
    yield transport, recorder
    for agent in agents:
        agent.stop()
    server.stop()
    server.wait()
    transport.cleanup()


def _vms(api, host):
    return sorted(v['id'] for v in api.measure({}, host)['vms'])


def test_signed_steps_run_and_forged_ones_do_not(signed_bus, caplog):
    transport, recorder = signed_bus
    api = rpcapi.AgentAPI(transport, timeout=10)  # the conductor's keys
    assert api.signer is not None
    forger = rpcapi.AgentAPI(transport, timeout=10, signer=signing.Signer(
        lambda h: b'f' * 64, 'conductor', signing.CONDUCTOR))
    unsigned = rpcapi.AgentAPI(transport, timeout=10, signer=signing.Signer(
        lambda h: None, 'conductor', signing.CONDUCTOR))
    forger.live_migrate({}, 'a', fakehosts.step(
        step_id='forged', vm='vm2').to_primitive())
    unsigned.live_migrate({}, 'a', fakehosts.step(
        step_id='unsigned', vm='vm3').to_primitive())

    def refusals():
        return [r.getMessage() for r in caplog.records
                if r.getMessage().startswith('refusing live_migrate')]
    fixtures.wait_until(lambda: len(refusals()) == 2, what='two refusals')
    with pytest.raises(Exception, match='message signature'):  # noqa: B017
        unsigned.get_job({}, 'a', 'forged')
    # the conductor's own step runs, and the agents' casts are signed
    api.live_migrate({}, 'a', fakehosts.step(step_id='real', vm='vm1')
                     .to_primitive())
    fixtures.wait_until(lambda: any(
        m == 'migration_result' and v['step_id'] == 'real'
        for m, _, v in recorder.got), what='the result of the real step')
    assert {(m, s) for m, s, v in recorder.got if m != 'report_measurements'
            } >= {('migration_result', 'a')}
    assert {s for m, s, v in recorder.got
            if m == 'report_measurements'} == {'a', 'b'}
    for step_id in ('forged', 'unsigned'):
        assert api.get_job({}, 'a', step_id)['state'] == 'unknown'
    assert _vms(api, 'a') == ['vm2', 'vm3', 'vm4']
    assert 'vm1' in _vms(api, 'b')


def test_agent_refuses_to_start_with_a_readable_key(tmp_path, capsys):
    key = tmp_path / 'a.key'
    key.write_bytes(KEY_A)
    os.chmod(key, 0o644)
    conf_file = fixtures.write_conf(tmp_path / 'agent.conf', {
        'agent': {'host': 'a', 'driver': 'fake'},
        'message_security': {'key_file': str(key)}})
    status = agent_cmd.main(['--config-file', str(conf_file)],
                            stop_event=threading.Event())
    err = capsys.readouterr().err
    assert status == 2
    assert '[message_security] key_file' in err and '0644' in err
    assert KEY_A.decode() not in err
