"""The conductor's RPC endpoint (``ConductorAPI`` 1.1).

:class:`ConductorEndpoint` has exactly the methods of ``ConductorAPI``
(``doc/control-plane-contract.md``); each validates its message with
:mod:`nova_livemig.messages` or checks its arguments, then hands plain
values to the :class:`~nova_livemig.conductor.service.Conductor`.
A garbled cast is
logged and dropped, a garbled call raises
:class:`~nova_livemig.exception.InvalidInput`: nothing is half-done.
"""


from oslo_log import log as logging
import oslo_messaging

from nova_livemig import exception
from nova_livemig import messages
from nova_livemig import policies
from nova_livemig import validation

LOG = logging.getLogger(__name__)


def _strings(field, value, allow_empty=True):
    if value is None:
        value = []
    if (not isinstance(value, list)
            or not all(isinstance(v, str) and v for v in value)
            or (not allow_empty and not value)):
        raise exception.InvalidInput(field, value,
                                     'a list of non-empty strings')
    return value


#: ``list_plans`` returns at most this many plans in one page
MAX_PAGE = 1000
#: ``purge_plans`` looks back at most this far (a century)
MAX_DAYS = 36500
_LIMIT = validation.integer(minimum=1, maximum=MAX_PAGE).or_null()
_DAYS = validation.integer(minimum=0, maximum=MAX_DAYS).or_null()
#: a plan id (the database keeps 36 characters)
_PLAN_ID = validation.Kind(
    'a plan id (a non-empty string of at most 36 characters)',
    lambda v: (v if isinstance(v, str) and 0 < len(v) <= 36
               else validation.INVALID))


class ConductorEndpoint:
    """The RPC endpoint of ``ConductorAPI`` 1.1 (topic
    ``nova-livemig-conductor``)."""

    target = oslo_messaging.Target(version='1.1')

    def __init__(self, conductor):
        self.conductor = conductor

    # casts: a garbled message is logged and dropped
    def _cast(self, cls, data, handler):
        try:
            msg = cls.from_primitive(data)
        except exception.InvalidInput as err:
            LOG.warning('dropping a garbled %s: %s', cls.__name__, err)
            return
        handler(msg)

    def report_measurements(self, ctxt, report):
        self._cast(messages.HostReport, report, self.conductor.report)

    def migration_progress(self, ctxt, progress):
        self._cast(messages.Progress, progress,
                   self.conductor.engine.on_progress)

    def migration_result(self, ctxt, result):
        self._cast(messages.Result, result, self.conductor.engine.on_result)

    # calls: a bad argument raises InvalidInput (a RemoteError client-side)
    def create_plan(self, ctxt, policy, vms=None, hosts=None, dry_run=False):
        policy = validation.STRING.check('policy', policy)
        policies.load_policy(policy)  # an installed one, or InvalidInput
        if not isinstance(dry_run, bool):
            raise exception.InvalidInput('dry_run', dry_run,
                                         'true or false')
        return self.conductor.create_plan(
            policy, _strings('vms', vms), _strings('hosts', hosts), dry_run)

    def list_plans(self, ctxt, limit=None, marker=None):
        """:param limit: at most this many plans (1.1; None: all)
        :param marker: the last plan id of the previous page (1.1)"""
        return self.conductor.list_plans(
            _LIMIT.check('limit', limit),
            _PLAN_ID.or_null().check('marker', marker))

    def purge_plans(self, ctxt, older_than_days=None):
        """Delete old finished plans (1.1); None: the configured
        retention."""
        return self.conductor.purge_plans(
            _DAYS.check('older_than_days', older_than_days))

    def show_plan(self, ctxt, plan_id):
        return self.conductor.show_plan(_PLAN_ID.check('plan_id', plan_id))

    def execute_plan(self, ctxt, plan_id):
        return self.conductor.execute_plan(_PLAN_ID.check('plan_id', plan_id))

    def abort_plan(self, ctxt, plan_id):
        return self.conductor.abort_plan(_PLAN_ID.check('plan_id', plan_id))

    def migrate_vm(self, ctxt, vm, destination=None):
        return self.conductor.migrate_vm(
            validation.STRING.check('vm', vm),
            validation.STRING.or_null().check('destination', destination))
