"""The agent's RPC client API: how the conductor talks to the agent on
a compute host.

Only JSON primitives go on the wire (``to_primitive()`` of the values in
:mod:`nova_livemig.messages`); the receiving endpoint validates them.
``ctxt`` is a plain dict (request id, user) and may be ``{}``.
"""

from oslo_log import log as logging

from nova_livemig import rpc

LOG = logging.getLogger(__name__)


class AgentAPI:
    """Client side of the agent RPC API (conductor -> agent on host H).

    Topic ``nova-livemig-agent``, server H (``[agent] host``).

    API version history:

    * 1.0 - Initial version: ``live_migrate`` (cast), ``abort_migration``
      (cast), ``measure`` (call), ``get_job`` (call)
    * 1.1 - Adds ``tune_migration`` (cast): tune and watch a migration
      someone else (nova-compute) started
    """

    VERSION = '1.1'

    def __init__(self, transport, timeout=None, version_cap=None):
        """:param timeout: seconds a call waits for its reply; None means
        ``rpc_response_timeout``
        :param version_cap: the newest version the agents understand
            (``'1.0'`` while some still run 1.0, during an upgrade); None
            means :attr:`VERSION`
        """
        self.client = rpc.get_client(transport, rpc.AGENT_TOPIC,
                                     self.VERSION, timeout=timeout)
        if version_cap is not None:
            self.client = self.client.prepare(version_cap=version_cap)

    def _prepare(self, host):
        return self.client.prepare(version='1.0', server=host)

    def live_migrate(self, ctxt, host, step):
        """Start a migration on ``host`` (the step's source).

        :param step: a :class:`~nova_livemig.messages.MigrationStep`
            primitive
        """
        self._prepare(host).cast(ctxt, 'live_migrate', step=step)

    def abort_migration(self, ctxt, host, step_id):
        """Abort a running pre-copy step on ``host``."""
        self._prepare(host).cast(ctxt, 'abort_migration', step_id=step_id)

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
            ctxt, 'tune_migration', step=step)
        return True

    def measure(self, ctxt, host):
        """:returns: a :class:`~nova_livemig.messages.HostReport`
        primitive"""
        return self._prepare(host).call(ctxt, 'measure')

    def get_job(self, ctxt, host, step_id):
        """:returns: a :class:`~nova_livemig.messages.JobStatus`
        primitive (state ``unknown`` when the agent has no record)"""
        return self._prepare(host).call(ctxt, 'get_job', step_id=step_id)
