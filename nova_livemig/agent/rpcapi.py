"""The agent's RPC client API: how the conductor talks to the agent on
a compute host.

Only JSON primitives go on the wire (``to_primitive()`` of the values in
:mod:`nova_livemig.messages`); the receiving endpoint validates them.
``ctxt`` is a plain dict (request id, user) and may be ``{}``.
"""

from oslo_log import log as logging

from nova_livemig import rpc
from nova_livemig import signing

LOG = logging.getLogger(__name__)


class AgentAPI:
    """Client side of the agent RPC API (conductor -> agent on host H).

    Topic ``nova-livemig-agent``, server H (``[agent] host``).

    API version history:

    * 1.0 - Initial version: ``live_migrate`` (cast), ``abort_migration``
      (cast), ``measure`` (call), ``get_job`` (call)
    * 1.1 - Adds ``tune_migration`` (cast): tune and watch a migration
      someone else (nova-compute) started

    Every message carries a signature in its context, made with the key
    of the agent it goes to, when the conductor has the agents' keys
    (``[message_security] agent_keys_dir``, :mod:`nova_livemig.signing`);
    the arguments and the version do not change.
    """

    VERSION = '1.1'

    def __init__(self, transport, timeout=None, version_cap=None,
                 signer=None):
        """:param timeout: seconds a call waits for its reply; None means
        ``rpc_response_timeout``
        :param version_cap: the newest version the agents understand
            (``'1.0'`` while some still run 1.0, during an upgrade); None
            means :attr:`VERSION`
        :param signer: a conductor's :class:`~nova_livemig.signing.Signer`;
            None: the one ``[message_security]`` of the transport's config
            gives (unsigned when it names no keys)
        :raises InvalidInput: for a bad key file or directory
        """
        self.client = rpc.get_client(transport, rpc.AGENT_TOPIC,
                                     self.VERSION, timeout=timeout)
        if version_cap is not None:
            self.client = self.client.prepare(version_cap=version_cap)
        if signer is None:
            security = signing.for_conductor(
                getattr(transport, 'conf', None))
            signer = security[0] if security else None
        self.signer = signer

    def _prepare(self, host):
        return self.client.prepare(version='1.0', server=host)

    def _ctxt(self, ctxt, host, method, **args):
        if self.signer is None:
            return ctxt
        signed = self.signer.context(ctxt, method, args, host)
        if signed is ctxt:
            LOG.warning('no key for the agent of %s: %s sent unsigned (add '
                        '%s.key to [message_security] agent_keys_dir)',
                        host, method, host)
        return signed

    def live_migrate(self, ctxt, host, step):
        """Start a migration on ``host`` (the step's source).

        :param step: a :class:`~nova_livemig.messages.MigrationStep`
            primitive
        """
        self._prepare(host).cast(
            self._ctxt(ctxt, host, 'live_migrate', step=step),
            'live_migrate', step=step)

    def abort_migration(self, ctxt, host, step_id):
        """Abort a running pre-copy step on ``host``."""
        self._prepare(host).cast(
            self._ctxt(ctxt, host, 'abort_migration', step_id=step_id),
            'abort_migration', step_id=step_id)

    def tune_migration(self, ctxt, host, step):
        """Ask the agent of ``host`` (the step's source) to apply the
        step's bandwidth and downtime limit to the migration of
        ``step['vm']`` that someone else started there (nova-compute), and
        to report its progress and result; the agent starts, aborts and
        switches nothing.

        :param step: a :class:`~nova_livemig.messages.MigrationStep`
            primitive
        :returns: False, sending nothing, when the version cap is below
            1.1 (the agents do not know the method yet); True when cast
        """
        if not self.client.can_send_version('1.1'):
            LOG.info('step %s: not asking the agent of %s to tune the '
                     'migration of %s: the agents speak an RPC version '
                     'below 1.1', step.get('step_id'), host, step.get('vm'))
            return False
        self.client.prepare(version='1.1', server=host).cast(
            self._ctxt(ctxt, host, 'tune_migration', step=step),
            'tune_migration', step=step)
        return True

    def measure(self, ctxt, host):
        """:returns: a :class:`~nova_livemig.messages.HostReport`
        primitive"""
        return self._prepare(host).call(self._ctxt(ctxt, host, 'measure'),
                                        'measure')

    def get_job(self, ctxt, host, step_id):
        """:returns: a :class:`~nova_livemig.messages.JobStatus`
        primitive (state ``unknown`` when the agent has no record)"""
        return self._prepare(host).call(
            self._ctxt(ctxt, host, 'get_job', step_id=step_id), 'get_job',
            step_id=step_id)
