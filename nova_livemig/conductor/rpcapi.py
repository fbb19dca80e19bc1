"""The conductor's RPC client API: how agents and operators' commands
talk to the conductor.

Only JSON primitives go on the wire (``to_primitive()`` of the values in
:mod:`nova_livemig.messages`); the receiving endpoint validates them.
``ctxt`` is a plain dict (request id, user) and may be ``{}``.
"""

from oslo_log import log as logging

from nova_livemig import rpc

LOG = logging.getLogger(__name__)


class ConductorAPI:
    """Client side of the conductor RPC API (agents and the CLI ->
    conductor). Topic ``nova-livemig-conductor``.

    API version history:

    * 1.0 - Initial version: casts ``report_measurements``,
      ``migration_progress``, ``migration_result``; calls ``create_plan``,
      ``list_plans``, ``show_plan``, ``execute_plan``, ``abort_plan``,
      ``migrate_vm``
    * 1.1 - ``list_plans`` takes ``limit`` and ``marker`` (pages of plan
      summaries, newest first); new call ``purge_plans`` (deletes finished
      plans older than ``older_than_days``)
    * 1.2 - the REST API's calls: ``delete_plan``, ``list_history``,
      ``show_snapshot``, ``show_calibration``, ``refit_calibration``,
      ``list_periodic``

    The casts of an agent carry a signature in their context when the
    agent has a key (:mod:`nova_livemig.signing`); the arguments and the
    version do not change, so a conductor that checks none still works.
    """

    VERSION = '1.2'

    def __init__(self, transport, timeout=None, signer=None):
        """:param signer: a :class:`~nova_livemig.signing.Signer` of the
        agent whose casts these are; None sends them unsigned (the CLI,
        whose calls are never signed)"""
        self.client = rpc.get_client(transport, rpc.CONDUCTOR_TOPIC,
                                     self.VERSION, timeout=timeout)
        self.signer = signer

    def _prepare(self, version='1.0'):
        return self.client.prepare(version=version)

    def _cast(self, ctxt, method, **args):
        if self.signer is not None:
            ctxt = self.signer.context(ctxt, method, args, 'conductor')
        self._prepare().cast(ctxt, method, **args)

    # -- from agents --

    def report_measurements(self, ctxt, report):
        """:param report: a :class:`~nova_livemig.messages.HostReport`
        primitive"""
        self._cast(ctxt, 'report_measurements', report=report)

    def migration_progress(self, ctxt, progress):
        """:param progress: a :class:`~nova_livemig.messages.Progress`
        primitive"""
        self._cast(ctxt, 'migration_progress', progress=progress)

    def migration_result(self, ctxt, result):
        """:param result: a :class:`~nova_livemig.messages.Result`
        primitive"""
        self._cast(ctxt, 'migration_result', result=result)

    # -- from the CLI --

    def create_plan(self, ctxt, policy, vms, hosts, dry_run):
        """:returns: the plan dict"""
        return self._prepare().call(ctxt, 'create_plan', policy=policy,
                                    vms=vms, hosts=hosts, dry_run=dry_run)

    def list_plans(self, ctxt, limit=None, marker=None):
        """Plan summaries, newest first.

        :param limit: at most this many (1.1; None: every plan)
        :param marker: the id of the last plan of the previous page (1.1)
        :returns: a list of plan summary dicts (no document, no steps)
        """
        if limit is None and marker is None:
            return self._prepare().call(ctxt, 'list_plans')
        return self._prepare('1.1').call(ctxt, 'list_plans', limit=limit,
                                         marker=marker)

    def purge_plans(self, ctxt, older_than_days=None):
        """Delete the finished plans (completed, failed, aborted, dry-run)
        that finished more than ``older_than_days`` ago, with their steps
        (1.1).

        :param older_than_days: whole days, 0 or more; None: the
            conductor's ``[conductor] plan_retention_days``
        :returns: ``{'plans': n, 'steps': n, 'older_than_days': days}``
        """
        return self._prepare('1.1').call(ctxt, 'purge_plans',
                                         older_than_days=older_than_days)

    def show_plan(self, ctxt, plan_id):
        """:returns: the plan dict with its steps and their progress"""
        return self._prepare().call(ctxt, 'show_plan', plan_id=plan_id)

    def execute_plan(self, ctxt, plan_id):
        return self._prepare().call(ctxt, 'execute_plan', plan_id=plan_id)

    def abort_plan(self, ctxt, plan_id):
        return self._prepare().call(ctxt, 'abort_plan', plan_id=plan_id)

    def migrate_vm(self, ctxt, vm, destination):
        """:returns: the plan dict of a one-step plan"""
        return self._prepare().call(ctxt, 'migrate_vm', vm=vm,
                                    destination=destination)

    # -- from the REST API (1.2) --

    def delete_plan(self, ctxt, plan_id):
        """Delete a plan that is not executing, with its steps (1.2).

        :returns: None
        """
        return self._prepare('1.2').call(ctxt, 'delete_plan',
                                         plan_id=plan_id)

    def list_history(self, ctxt, limit=None, since=None):
        """Migration records, newest first (1.2).

        :param limit: at most this many
        :param since: only those finished at or after this epoch time
        :returns: a list of record dicts (``doc/history.md``)
        """
        return self._prepare('1.2').call(ctxt, 'list_history', limit=limit,
                                         since=since)

    def show_snapshot(self, ctxt):
        """:returns: the live model's snapshot (format v1) (1.2)"""
        return self._prepare('1.2').call(ctxt, 'show_snapshot')

    def list_periodic(self, ctxt):
        """:returns: the scheduled policies with their last and next runs
        (1.2)"""
        return self._prepare('1.2').call(ctxt, 'list_periodic')

    def show_calibration(self, ctxt):
        """:returns: the calibration the conductor plans with (1.2)"""
        return self._prepare('1.2').call(ctxt, 'show_calibration')

    def refit_calibration(self, ctxt):
        """Refit the cost model from the history now (1.2).

        :returns: the new calibration
        """
        return self._prepare('1.2').call(ctxt, 'refit_calibration')
