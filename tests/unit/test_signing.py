"""Signed messages (nova_livemig.signing): what passes, what is refused
and why, and the key files an operator gives."""

import json
import os

from oslo_config import cfg
import pytest

from nova_livemig import conf as conf_mod
from nova_livemig import exception
from nova_livemig import signing
from tests import fixtures

KEY = b'0123456789abcdef' * 4
OTHER = b'fedcba9876543210' * 4
ARGS = {'report': {'host': {'name': 'cmp-1'}, 'vms': [], 'measured_at':
                   1000.5, 'driver': 'fake', 'migration_uri': None}}
ENV = signing.ENVELOPE


def _envelope(key=KEY, args=ARGS, now=1000.0, nonce='ab' * 16,
              method='report_measurements', role='agent', sender='cmp-1',
              to='conductor'):
    return signing.sign(key, method, args, role=role, sender=sender, to=to,
                        now=now, nonce=nonce)


def _verifier(require_signed=True, now=1000.0, keys=None):
    keys = {'cmp-1': KEY} if keys is None else keys
    clock = fixtures.Clock(now)
    return signing.Verifier(keys.get, require_signed=require_signed,
                            max_skew_s=60.0, clock=clock)


def _verify(verifier, env, args=ARGS, method='report_measurements'):
    return verifier.verify({ENV: env}, method, args, role='agent',
                           to='conductor')


def test_a_signed_message_passes_and_names_its_sender():
    assert _verify(_verifier(), _envelope()) == 'cmp-1'


def test_what_went_over_json_still_verifies():
    env = _envelope(args={'x': [1, 2.5, 1e18, 0.1], 'é': None})
    wire = json.loads(json.dumps({'ctxt': {ENV: env},
                                  'args': {'x': (1, 2.5, 1e18, 0.1),
                                           'é': None}}))
    assert _verifier().verify(wire['ctxt'], 'report_measurements',
                              wire['args'], role='agent',
                              to='conductor') == 'cmp-1'


@pytest.mark.parametrize('field, value', [
    ('method', 'migration_result'), ('role', 'conductor'),
    ('sender', 'cmp-2'), ('to', 'cmp-1'), ('ts', 1000.001),
    ('nonce', 'cd' * 16), ('mac', '0' * 64), ('v', 2)])
def test_tampering_with_any_envelope_field_is_refused(field, value):
    env = dict(_envelope(), **{field: value})
    with pytest.raises(signing.Refused):
        _verify(_verifier(keys={'cmp-1': KEY, 'cmp-2': KEY}), env)


@pytest.mark.parametrize('args', [
    {'report': dict(ARGS['report'], measured_at=9e9)},
    {'report': dict(ARGS['report'], host={'name': 'tor'})},
    {'report': ARGS['report'], 'extra': 1}, {}])
def test_tampering_with_the_arguments_is_refused(args):
    with pytest.raises(signing.Refused, match='bad signature'):
        _verify(_verifier(), _envelope(), args=args)


def test_a_message_for_another_method_is_refused():
    with pytest.raises(signing.Refused, match='another use'):
        _verify(_verifier(), _envelope(), method='migration_result')


def test_the_wrong_key_is_refused_and_the_refusal_holds_no_key():
    with pytest.raises(signing.Refused, match='bad signature') as err:
        _verify(_verifier(), _envelope(key=OTHER))
    text = str(err.value)
    assert KEY.decode() not in text and OTHER.decode() not in text
    assert len(text) < 400


def test_a_sender_without_a_key_is_refused():
    with pytest.raises(signing.Refused, match="no key for sender 'cmp-9'"):
        _verify(_verifier(), _envelope(sender='cmp-9'))


def test_a_replay_is_refused():
    verifier = _verifier()
    env = _envelope()
    assert _verify(verifier, env) == 'cmp-1'
    with pytest.raises(signing.Refused, match='replayed'):
        _verify(verifier, dict(env))
    # a new nonce is a new message
    assert _verify(verifier, _envelope(nonce='ef' * 16)) == 'cmp-1'


def test_nonces_are_forgotten_only_when_their_message_expired():
    verifier = _verifier()
    env = _envelope(now=1000.0)
    _verify(verifier, env)
    verifier.clock.now = 1059.0
    with pytest.raises(signing.Refused, match='replayed'):
        _verify(verifier, env)
    verifier.clock.now = 1061.0
    with pytest.raises(signing.Refused, match='expired'):
        _verify(verifier, env)


@pytest.mark.parametrize('ts, ok', [(940.0, True), (1060.0, True),
                                    (939.0, False), (1061.0, False),
                                    (0.0, False), (1e12, False)])
def test_clock_skew(ts, ok):
    env = _envelope(now=ts)
    if ok:
        assert _verify(_verifier(now=1000.0), env) == 'cmp-1'
    else:
        with pytest.raises(signing.Refused, match='expired or future'):
            _verify(_verifier(now=1000.0), env)


def test_unsigned_is_refused_only_when_signatures_are_required():
    with pytest.raises(signing.Refused, match='unsigned'):
        _verifier().verify({}, 'report_measurements', ARGS, role='agent',
                           to='conductor')
    lax = _verifier(require_signed=False)
    assert lax.verify({}, 'report_measurements', ARGS, role='agent',
                      to='conductor') is None
    # a signature that is there is checked all the same
    with pytest.raises(signing.Refused, match='bad signature'):
        _verify(lax, _envelope(key=OTHER))


@pytest.mark.parametrize('env', [
    'garbage', {'mac': 'x'}, dict(_envelope(), sender='x' * 300),
    dict(_envelope(), extra=1)])
def test_a_malformed_envelope_is_refused(env):
    with pytest.raises(signing.Refused, match='malformed'):
        _verify(_verifier(), env)


def test_conductor_messages_use_the_recipients_key():
    keys = {'cmp-1': KEY, 'cmp-2': OTHER}
    signer = signing.Signer(keys.get, 'conductor', signing.CONDUCTOR)
    ctxt = {'request_id': 'r'}
    signed = signer.context(ctxt, 'live_migrate', {'step': {}}, 'cmp-1')
    assert ctxt == {'request_id': 'r'}  # a copy
    agent1 = signing.Verifier({'cmp-1': KEY}.get, clock=fixtures.Clock(
        signed[ENV]['ts']))
    assert agent1.verify(signed, 'live_migrate', {'step': {}},
                         role='conductor', to='cmp-1',
                         host='cmp-1') == signing.CONDUCTOR
    # the agent of cmp-2 does not take what was meant for cmp-1
    agent2 = signing.Verifier({'cmp-2': OTHER}.get, clock=fixtures.Clock(
        signed[ENV]['ts']))
    with pytest.raises(signing.Refused):
        agent2.verify(signed, 'live_migrate', {'step': {}},
                      role='conductor', to='cmp-2', host='cmp-2')
    # an agent's own message reflected back is no conductor's
    own = signing.Signer(keys.get, 'agent', 'cmp-1').context(
        {}, 'live_migrate', {'step': {}}, 'conductor')
    with pytest.raises(signing.Refused, match='another use'):
        agent1.verify(own, 'live_migrate', {'step': {}}, role='conductor',
                      to='cmp-1', host='cmp-1')


def test_no_key_for_the_recipient_sends_unsigned():
    signer = signing.Signer({}.get, 'conductor', signing.CONDUCTOR)
    assert signer.context({}, 'measure', {}, 'cmp-1') == {}


def test_a_full_replay_window_refuses_instead_of_forgetting():
    verifier = signing.Verifier({'cmp-1': KEY}.get,
                                clock=fixtures.Clock(1000.0), nonce_limit=2)
    _verify(verifier, _envelope(nonce='01' * 16))
    _verify(verifier, _envelope(nonce='02' * 16))
    with pytest.raises(signing.Refused, match='too many'):
        _verify(verifier, _envelope(nonce='03' * 16))


# Key files -------------------------------------------------------------

def _key_file(path, mode=0o600, key=KEY):
    path.write_bytes(key + b'\n')
    os.chmod(path, mode)
    return str(path)


def test_key_file_is_read_stripped(tmp_path):
    assert signing.read_key(_key_file(tmp_path / 'k'), 'opt') == KEY


@pytest.mark.parametrize('mode', [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused_naming_the_option(tmp_path,
                                                                 mode):
    path = _key_file(tmp_path / 'k', mode)
    with pytest.raises(exception.InvalidInput,
                       match=r'\[message_security\] key_file.*0600'):
        signing.read_key(path, '[message_security] key_file')


def test_short_or_missing_keys_are_refused(tmp_path):
    with pytest.raises(exception.InvalidInput, match='at least 32'):
        signing.read_key(_key_file(tmp_path / 'k', key=b'short'), 'opt')
    with pytest.raises(exception.InvalidInput, match='readable key file'):
        signing.read_key(str(tmp_path / 'missing'), 'opt')


def test_key_dir_reads_host_files_and_later_ones(tmp_path):
    _key_file(tmp_path / 'cmp-1.key')
    (tmp_path / 'README').write_text('not a key')
    keys = signing.KeyDir(str(tmp_path))
    assert keys('cmp-1') == KEY and keys('cmp-2') is None
    _key_file(tmp_path / 'cmp-2.key', key=OTHER)
    assert keys('cmp-2') == OTHER
    # a sender name is never a path
    _key_file(tmp_path / '.hidden.key')
    assert keys('../cmp-1') is None and keys('.hidden') is None


def test_key_dir_refuses_a_readable_file_at_start(tmp_path):
    _key_file(tmp_path / 'cmp-1.key', 0o644)
    with pytest.raises(exception.InvalidInput,
                       match=r'\[message_security\] agent_keys_dir'):
        signing.KeyDir(str(tmp_path))


def _conf(**opts):
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf, messaging=False)
    conf([], default_config_files=[], default_config_dirs=[])
    conf.set_override('host', 'cmp-1', 'agent')
    for name, value in opts.items():
        conf.set_override(name, value, 'message_security')
    return conf


def test_nothing_is_signed_without_keys():
    conf = _conf()
    assert signing.for_agent(conf) is None
    assert signing.for_conductor(conf) is None
    assert signing.for_conductor(None) is None  # a transport without conf
    assert conf.message_security.require_signed is True
    assert conf.message_security.max_clock_skew_s == 60.0


def test_agent_and_conductor_from_config_talk(tmp_path):
    keys = tmp_path / 'keys'
    keys.mkdir()
    _key_file(keys / 'cmp-1.key')
    agent_signer, agent_verifier = signing.for_agent(
        _conf(key_file=str(keys / 'cmp-1.key')))
    cond_signer, cond_verifier = signing.for_conductor(
        _conf(agent_keys_dir=str(keys), require_signed=False))
    assert cond_verifier.require_signed is False
    args = {'result': {'step_id': 's'}}
    ctxt = agent_signer.context({}, 'migration_result', args, 'conductor')
    assert cond_verifier.verify(ctxt, 'migration_result', args,
                                role='agent', to='conductor') == 'cmp-1'
    ctxt = cond_signer.context({}, 'get_job', {'step_id': 's'}, 'cmp-1')
    assert agent_verifier.verify(ctxt, 'get_job', {'step_id': 's'},
                                 role='conductor', to='cmp-1',
                                 host='cmp-1') == signing.CONDUCTOR


def test_agent_refuses_a_world_readable_key_file(tmp_path):
    conf = _conf(key_file=_key_file(tmp_path / 'k', 0o644))
    with pytest.raises(exception.InvalidInput,
                       match=r'\[message_security\] key_file'):
        signing.for_agent(conf)


def test_write_key_makes_an_owner_only_file(tmp_path):
    path = tmp_path / 'new.key'
    key = signing.write_key(str(path))
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert signing.read_key(str(path), 'opt') == key
