"""Options of the ``[message_security]`` group: signed RPC messages.

See :mod:`nova_livemig.signing` and "Securing the bus" in
``doc/control-plane.md``. Without a key configured nothing is signed or
checked (the bus is then only as safe as the broker's users).
"""

from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('message_security', title='Signed messages',
                     help='Every message between the conductor and an '
                          'agent carries an HMAC-SHA256 signature with a '
                          'key per agent host, shared by that agent and '
                          'the conductors only.')

OPTS = [
    cfg.StrOpt('key_file', default=None,
               help='Agent: the file holding this host\'s key (at least '
                    '32 characters, e.g. ``openssl rand -hex 32``), mode '
                    '0600: an agent refuses to start with a file its '
                    'group or others can read. The agent signs its '
                    'reports, progress and results with it and accepts '
                    'steps only signed by a conductor with it. Unset: '
                    'the agent signs and checks nothing.\n\n'
                    'Related options:\n\n* ``agent_keys_dir`` of the '
                    'conductors must hold the same key as '
                    '``<[agent] host>.key``.\n'),
    cfg.StrOpt('agent_keys_dir', default=None,
               help='Conductor: a directory holding one file per agent '
                    'host, ``<host>.key``, each the key of that host\'s '
                    'agent, mode 0600 (the conductor refuses to start '
                    'otherwise). The conductor accepts a report, '
                    'progress or result only signed by the agent of the '
                    'host it concerns, and signs every step it sends to '
                    'an agent with that agent\'s key. A file added later '
                    'is read when its host first sends. Unset: the '
                    'conductor signs and checks nothing.\n'),
    cfg.BoolOpt('require_signed', default=True,
                help='Refuse unsigned messages (once a key is configured; '
                     'a forged, replayed or expired signature is always '
                     'refused). Turn it off only while rolling keys out: '
                     'give every agent and conductor its keys with '
                     '``require_signed = false``, restart them all, then '
                     'remove the line and restart again.\n'),
    cfg.FloatOpt('max_clock_skew_s', default=60.0, min=1.0, max=3600.0,
                 help='Seconds a signed message\'s timestamp may be off '
                      'this host\'s clock, either way; older messages are '
                      'refused as expired. Nonces are remembered this '
                      'long, so a message is never accepted twice. It '
                      'also bounds how far in the future an agent\'s '
                      'report may say it was measured. Keep the hosts\' '
                      'clocks synchronised (NTP).\n'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
