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
    """

    VERSION = '1.0'

    def __init__(self, transport, timeout=None):
        self.client = rpc.get_client(transport, rpc.CONDUCTOR_TOPIC,
                                     self.VERSION, timeout=timeout)

    def _prepare(self):
        return self.client.prepare(version='1.0')

    # -- from agents --

    def report_measurements(self, ctxt, report):
        """:param report: a :class:`~nova_livemig.messages.HostReport`
        primitive"""
        self._prepare().cast(ctxt, 'report_measurements', report=report)

    def migration_progress(self, ctxt, progress):
        """:param progress: a :class:`~nova_livemig.messages.Progress`
        primitive"""
        self._prepare().cast(ctxt, 'migration_progress', progress=progress)

    def migration_result(self, ctxt, result):
        """:param result: a :class:`~nova_livemig.messages.Result`
        primitive"""
        self._prepare().cast(ctxt, 'migration_result', result=result)

    # -- from the CLI --

    def create_plan(self, ctxt, policy, vms, hosts, dry_run):
        """:returns: the plan dict"""
        return self._prepare().call(ctxt, 'create_plan', policy=policy,
                                    vms=vms, hosts=hosts, dry_run=dry_run)

    def list_plans(self, ctxt):
        """:returns: a list of plan dicts"""
        return self._prepare().call(ctxt, 'list_plans')

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
