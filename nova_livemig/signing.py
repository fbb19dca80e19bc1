"""Signed RPC messages: who sent a message, and that nobody changed it.

Pure: no oslo.messaging here. Every agent host H has a secret key, shared
only with the conductors (``[message_security]``). A message between the
conductor and the agent of H carries an *envelope* in its RPC context
(``ctxt['livemig_sig']``)::

    {"v": 1, "method": "report_measurements", "role": "agent",
     "sender": "cmp-1", "to": "conductor", "ts": 1764800000.5,
     "nonce": "9f...32 hex", "mac": "64 hex"}

``mac`` is HMAC-SHA256, with H's key, of :func:`canonical` JSON of the
other fields and the call's keyword arguments: a change to the method, the
sender, the recipient, the time, the nonce or any argument breaks it. The
agent of H signs its casts to the conductor (role ``agent``, sender H);
the conductor signs what it sends to H (role ``conductor``, ``to`` H) with
the same key, so an agent's key moves nothing but its own host's VMs.

The receiver (:class:`Verifier`) refuses a message whose MAC does not
match, whose ``ts`` is more than ``max_skew_s`` from its clock, or whose
nonce it has seen (nonces are remembered while their message could still
pass the clock check). Without a signature a message passes only when
``require_signed`` is off (a rollout).

>>> keys = {'cmp-1': b'k' * 32}
>>> env = sign(keys['cmp-1'], 'report_measurements', {'report': {}},
...            role='agent', sender='cmp-1', to='conductor', now=100.0,
...            nonce='00' * 16)
>>> v = Verifier(keys.get, clock=lambda: 100.0)
>>> v.verify({ENVELOPE: env}, 'report_measurements', {'report': {}},
...          role='agent', to='conductor')
'cmp-1'
>>> v.verify({ENVELOPE: env}, 'report_measurements', {'report': {}},
...          role='agent', to='conductor')
Traceback (most recent call last):
...
nova_livemig.signing.Refused: replayed message (nonce seen before)
"""

import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
import time

from nova_livemig import exception

#: the key of the envelope in the RPC context
ENVELOPE = 'livemig_sig'
VERSION = 1
ROLES = ('agent', 'conductor')
#: what the conductor signs as (the conductors share every agent's key)
CONDUCTOR = 'conductor'
#: a key shorter than this (bytes) is refused
MIN_KEY_BYTES = 32
#: nonces remembered at most (a full cache refuses, it never forgets early)
MAX_NONCES = 1_000_000
_FIELDS = ('v', 'method', 'role', 'sender', 'to', 'ts', 'nonce', 'mac')
_MAX_NAME = 255


class Refused(Exception):
    """A message failed verification; ``str()`` says why, briefly, and
    never holds key material."""


def canonical(fields, args):
    """The bytes a MAC covers: compact JSON with sorted keys, ASCII only,
    of ``fields`` (the envelope without ``mac``) and ``args``. JSON on the
    wire keeps what this reads (strings, numbers, lists, objects), so the
    receiver computes the same bytes from what it got.

    >>> canonical({'v': 1}, {'b': [1, 2.5], 'a': 'é'})
    b'{"args":{"a":"\\\\u00e9","b":[1,2.5]},"v":1}'
    """
    return json.dumps(dict(fields, args=args), sort_keys=True,
                      separators=(',', ':'), ensure_ascii=True,
                      allow_nan=False).encode('ascii')


def _mac(key, fields, args):
    return hmac.new(key, canonical(fields, args), hashlib.sha256).hexdigest()


def sign(key, method, args, role, sender, to, now=None, nonce=None):
    """The envelope of one message.

    :param key: the secret key (bytes) of the agent host involved
    :param method: the RPC method name
    :param args: the keyword arguments of the call, JSON primitives
    :param role: ``agent`` or ``conductor``: who signs
    :param sender: the agent's host, or :data:`CONDUCTOR`
    :param to: the recipient: ``conductor`` or the agent's host
    :returns: a dict to put in the RPC context under :data:`ENVELOPE`
    """
    fields = {'v': VERSION, 'method': method, 'role': role,
              'sender': sender, 'to': to,
              'ts': time.time() if now is None else float(now),
              'nonce': nonce or secrets.token_hex(16)}
    return dict(fields, mac=_mac(key, fields, args))


class Signer:
    """Signs the messages of one side.

    :param key_of: ``key_of(host)`` -> the key (bytes) of that agent host,
        or None (then the message goes unsigned)
    :param role: ``agent`` or ``conductor``
    :param sender: the agent's host, or :data:`CONDUCTOR`
    """

    def __init__(self, key_of, role, sender):
        self.key_of = key_of
        self.role = role
        self.sender = sender

    def context(self, ctxt, method, args, to):
        """``ctxt`` with the envelope of a message to ``to`` added (a
        copy; ``ctxt`` unchanged when there is no key for it)."""
        host = self.sender if self.role == 'agent' else to
        key = self.key_of(host)
        if key is None:
            return ctxt
        return dict(ctxt or {}, **{ENVELOPE: sign(
            key, method, args, self.role, self.sender, to)})


class _Nonces:
    """Nonces seen, each until the time its message expires."""

    def __init__(self, limit=MAX_NONCES):
        self.limit = limit
        self._until = {}
        self._lock = threading.Lock()

    def add(self, nonce, until, now):
        """False when ``nonce`` is known (a replay); raises Refused when
        the cache is full of live nonces."""
        with self._lock:
            if len(self._until) >= self.limit:
                self._until = {n: u for n, u in self._until.items()
                               if u >= now}
                if len(self._until) >= self.limit:
                    raise Refused('too many messages in the replay window')
            if self._until.get(nonce, float('-inf')) >= now:
                return False
            self._until[nonce] = until
            return True


class Verifier:
    """Checks the envelopes a receiver gets.

    :param key_of: ``key_of(host)`` -> the key of that agent host, or None
    :param require_signed: refuse a message without an envelope
    :param max_skew_s: how far a message's ``ts`` may be from this clock
    :param clock: epoch seconds (tests pass their own)
    """

    def __init__(self, key_of, require_signed=True, max_skew_s=60.0,
                 clock=time.time, nonce_limit=MAX_NONCES):
        self.key_of = key_of
        self.require_signed = require_signed
        self.max_skew_s = max_skew_s
        self.clock = clock
        self._nonces = _Nonces(nonce_limit)

    def verify(self, ctxt, method, args, role, to, host=None):
        """Check the message ``method(**args)`` received with ``ctxt``.

        :param role: the role the sender must have
        :param to: this receiver (``conductor`` or the agent's host)
        :param host: for role ``conductor``, the agent host whose key
            signs (this agent's)
        :returns: the sender (an agent's host, or ``conductor``), or None
            for an unsigned message let through (``require_signed`` off)
        :raises Refused: saying why, briefly
        """
        env = (ctxt or {}).get(ENVELOPE) if isinstance(ctxt, dict) else None
        if env is None:
            if self.require_signed:
                raise Refused('unsigned message (require_signed is on)')
            return None
        if not isinstance(env, dict) or set(env) != set(_FIELDS):
            raise Refused('malformed signature envelope')
        if env['v'] != VERSION:
            raise Refused('unknown signature version')
        sender = env['sender']
        if not isinstance(sender, str) or not 0 < len(sender) <= _MAX_NAME:
            raise Refused('malformed sender')
        if env['role'] != role or env['to'] != to or env['method'] != method:
            raise Refused(f'signed for another use (role, recipient or '
                          f'method differ; sender {sender!r})')
        if role == 'agent':
            key = self.key_of(sender)
        else:
            key = self.key_of(host) if sender == CONDUCTOR else None
        if key is None:
            raise Refused(f'no key for sender {sender!r}')
        fields = {k: env[k] for k in _FIELDS if k != 'mac'}
        try:
            expected = _mac(key, fields, args)
        except (TypeError, ValueError) as err:
            raise Refused('arguments not canonical JSON') from err
        mac = env['mac']
        if not isinstance(mac, str) or not hmac.compare_digest(
                expected, mac):
            raise Refused(f'bad signature (sender {sender!r})')
        ts, nonce = env['ts'], env['nonce']
        now = self.clock()
        if (not isinstance(ts, (int, float)) or isinstance(ts, bool)
                or abs(now - ts) > self.max_skew_s):
            raise Refused(f'expired or future timestamp (sender {sender!r}'
                          f', more than {self.max_skew_s:g} s off)')
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
            raise Refused('malformed nonce')
        if not self._nonces.add(nonce, ts + self.max_skew_s, now):
            raise Refused('replayed message (nonce seen before)')
        return sender


# Key files ------------------------------------------------------------------

def read_key(path, option):
    """The key in ``path`` (its text, surrounding whitespace stripped).

    :param option: the option naming the file, for the error
    :raises InvalidInput: when the file is missing, empty, too short, or
        readable by anyone but its owner (group or other mode bits set)
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise exception.InvalidInput(option, path, 'a key file')
        if st.st_mode & 0o077:
            raise exception.InvalidInput(
                option, path, f'a key file only its owner can read (mode '
                f'0600; it is {stat.S_IMODE(st.st_mode):04o})')
        with open(path, 'rb') as f:
            key = f.read().strip()
    except OSError as err:
        raise exception.InvalidInput(option, path,
                                     f'a readable key file ({err.strerror})'
                                     ) from err
    if len(key) < MIN_KEY_BYTES:
        raise exception.InvalidInput(
            option, path, f'a key of at least {MIN_KEY_BYTES} characters '
            f'(e.g. the output of "openssl rand -hex 32")')
    return key


def read_key_dir(path, option):
    """``{host: key}`` from the ``<host>.key`` files of directory ``path``
    (each checked by :func:`read_key`; other files are ignored)."""
    try:
        names = sorted(os.listdir(path))
    except OSError as err:
        raise exception.InvalidInput(option, path,
                                     f'a readable directory of <host>.key '
                                     f'files ({err.strerror})') from err
    return {name[:-len('.key')]: read_key(os.path.join(path, name), option)
            for name in names
            if name.endswith('.key') and len(name) > len('.key')}


def write_key(path):
    """Write a new random key to ``path`` (mode 0600); returns it."""
    key = secrets.token_hex(32).encode('ascii')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(key + b'\n')
    return key


class KeyDir:
    """The agents' keys of ``[message_security] agent_keys_dir``: every
    ``<host>.key`` is checked at start; a host whose file appears later
    is read when first needed (a host name that is no plain file name
    never is).

    :raises InvalidInput: at start, for a bad file or directory
    """

    OPTION = '[message_security] agent_keys_dir'

    def __init__(self, path):
        self.path = path
        self._keys = read_key_dir(path, self.OPTION)
        self._lock = threading.Lock()

    def __call__(self, host):
        key = self._keys.get(host)
        if key is not None or not _plain_name(host):
            return key
        path = os.path.join(self.path, f'{host}.key')
        try:
            key = read_key(path, self.OPTION)
        except exception.InvalidInput:
            return None
        with self._lock:
            self._keys[host] = key
        return key


def _plain_name(name):
    return (isinstance(name, str) and 0 < len(name) <= _MAX_NAME
            and not name.startswith('.')
            and all(c.isalnum() or c in '-_.' for c in name))


def for_agent(conf):
    """``(Signer, Verifier)`` of the agent of ``conf.agent.host``, or
    None when ``[message_security] key_file`` is unset.

    :raises InvalidInput: for a bad key file, naming the option
    """
    opts = conf.message_security
    if not opts.key_file:
        return None
    key = read_key(opts.key_file, '[message_security] key_file')
    host = conf.agent.host

    def key_of(name):
        return key if name == host else None
    return (Signer(key_of, 'agent', host),
            Verifier(key_of, opts.require_signed, opts.max_clock_skew_s))


def for_conductor(conf):
    """``(Signer, Verifier)`` of a conductor, or None when
    ``[message_security] agent_keys_dir`` is unset (or ``conf`` has no
    such group: a bare oslo.messaging config of a test).

    :raises InvalidInput: for a bad key file or directory
    """
    try:
        opts = conf.message_security
    except AttributeError:  # oslo.config's NoSuchOptError
        return None
    if not opts.agent_keys_dir:
        return None
    keys = KeyDir(opts.agent_keys_dir)
    return (Signer(keys, 'conductor', CONDUCTOR),
            Verifier(keys, opts.require_signed, opts.max_clock_skew_s))
