"""The conductor's RPC endpoint (``ConductorAPI`` 1.2).

:class:`ConductorEndpoint` has exactly the methods of ``ConductorAPI``
(``doc/control-plane-contract.md``); each validates its message with
:mod:`nova_livemig.messages` or checks its arguments, then hands plain
values to the :class:`~nova_livemig.conductor.service.Conductor`.
A garbled cast is
logged and dropped, a garbled call raises
:class:`~nova_livemig.exception.InvalidInput`: nothing is half-done.

With the agents' keys (``[message_security] agent_keys_dir``) a cast is
taken only when signed by the agent of the host it concerns
(:mod:`nova_livemig.signing`): a report by the agent of the host it
names, progress and a result by the agent of their step's source. A
refused cast leaves one WARNING line, of bounded length, and changes
nothing. Errors a call raises on purpose (``LivemigError``) are expected
exceptions: the caller gets them, the log gets no traceback, and what
they echo of the arguments is cut short (:mod:`nova_livemig.loglines`).
"""

import functools

from oslo_log import log as logging
import oslo_messaging

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import messages
from nova_livemig import policies
from nova_livemig import signing
from nova_livemig import validation

LOG = logging.getLogger(__name__)


#: ``create_plan`` takes at most this many VMs, and as many hosts
MAX_ITEMS = 10000
#: characters of a VM id, a host or a policy name an RPC call may give
MAX_NAME = 255
_NAME = validation.Kind(
    f'a non-empty string of at most {MAX_NAME} characters',
    lambda v: (v if isinstance(v, str) and 0 < len(v) <= MAX_NAME
               else validation.INVALID))


def _strings(field, value, allow_empty=True):
    if value is None:
        value = []
    if (not isinstance(value, list) or len(value) > MAX_ITEMS
            or not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME
                       for v in value)
            or (not allow_empty and not value)):
        raise exception.InvalidInput(
            field, loglines.Clipped(value),
            f'a list of at most {MAX_ITEMS} non-empty strings of at most '
            f'{MAX_NAME} characters')
    return value


def _bounded(method):
    """Raise a ``LivemigError`` of ``method`` with what it echoes of the
    caller's input cut short; the caller still gets its type."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except exception.LivemigError as err:
            raise loglines.clipped(err) from None
    return wrapper


def _call(method):
    """An RPC call: its ``LivemigError`` is an expected exception (sent to
    the caller, logged without a traceback), its message bounded."""
    return oslo_messaging.expected_exceptions(exception.LivemigError)(
        _bounded(method))


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
    """The RPC endpoint of ``ConductorAPI`` 1.2 (topic
    ``nova-livemig-conductor``)."""

    target = oslo_messaging.Target(version='1.2')

    def __init__(self, conductor, verifier=None):
        """:param verifier: a :class:`~nova_livemig.signing.Verifier` of
        the agents' signatures; None takes every cast unchecked (no keys
        configured)"""
        self.conductor = conductor
        self.verifier = verifier

    # casts: a garbled, unsigned or forged message is logged and dropped
    # (each logs after its except block: oslo.log would append the
    # exception being handled to the line a second time)
    def _cast(self, ctxt, method, arg, cls, data, handler):
        refused = None
        try:
            signer = (None if self.verifier is None else
                      self.verifier.verify(ctxt, method, {arg: data},
                                           role='agent', to='conductor'))
        except signing.Refused as err:
            refused = err
        if refused is not None:
            LOG.warning('refusing %s: %s', method, refused)  # bounded
            return
        try:
            msg = cls.from_primitive(data)
        except exception.InvalidInput as err:
            refused = loglines.clipped(err)
        if refused is not None:
            LOG.warning('dropping a garbled %s: %s', cls.__name__, refused)
            return
        try:
            handler(msg, signer)
        except exception.LivemigError as err:
            refused = loglines.clipped(err)
        if refused is not None:
            LOG.warning('refusing %s%s: %s', method,
                        '' if signer is None else
                        f' signed by {loglines.shorten(signer)}', refused)

    def report_measurements(self, ctxt, report):
        self._cast(ctxt, 'report_measurements', 'report', messages.HostReport,
                   report, self._report)

    def _report(self, report, signer):
        name = report.host.get('name')
        if signer is not None and name != signer:
            raise exception.InvalidInput(
                'HostReport.host.name', loglines.Clipped(name),
                'the host of the agent that signed it')
        self.conductor.report(report)

    def migration_progress(self, ctxt, progress):
        self._cast(ctxt, 'migration_progress', 'progress', messages.Progress,
                   progress, self._progress)

    def _progress(self, progress, signer):
        if signer is not None:
            step = self.conductor.db.get_step(progress.step_id)
            if step is None or step['source'] != signer:
                raise exception.InvalidInput(
                    'Progress.step_id', loglines.Clipped(progress.step_id),
                    'a step whose source is the agent that signed it')
        self.conductor.engine.on_progress(progress)

    def migration_result(self, ctxt, result):
        self._cast(ctxt, 'migration_result', 'result', messages.Result,
                   result, self._result)

    def _result(self, result, signer):
        self.conductor.engine.on_result(result, signer=signer)

    # calls: a bad argument raises InvalidInput (a RemoteError client-side)
    @_call
    def create_plan(self, ctxt, policy, vms=None, hosts=None, dry_run=False):
        """:param vms: at most :data:`MAX_ITEMS` VM ids
        :param hosts: at most :data:`MAX_ITEMS` host names"""
        policy = _NAME.check('policy', policy)
        policies.load_policy(policy)  # an installed one, or InvalidInput
        if not isinstance(dry_run, bool):
            raise exception.InvalidInput('dry_run', dry_run,
                                         'true or false')
        return self.conductor.create_plan(
            policy, _strings('vms', vms), _strings('hosts', hosts), dry_run)

    @_call
    def list_plans(self, ctxt, limit=None, marker=None):
        """:param limit: at most this many plans (1.1; None: all)
        :param marker: the last plan id of the previous page (1.1)"""
        return self.conductor.list_plans(
            _LIMIT.check('limit', limit),
            _PLAN_ID.or_null().check('marker', marker))

    @_call
    def purge_plans(self, ctxt, older_than_days=None):
        """Delete old finished plans (1.1); None: the configured
        retention."""
        return self.conductor.purge_plans(
            _DAYS.check('older_than_days', older_than_days))

    @_call
    def show_plan(self, ctxt, plan_id):
        return self.conductor.show_plan(_PLAN_ID.check('plan_id', plan_id))

    @_call
    def execute_plan(self, ctxt, plan_id):
        return self.conductor.execute_plan(_PLAN_ID.check('plan_id', plan_id))

    @_call
    def abort_plan(self, ctxt, plan_id):
        return self.conductor.abort_plan(_PLAN_ID.check('plan_id', plan_id))

    @_call
    def migrate_vm(self, ctxt, vm, destination=None):
        return self.conductor.migrate_vm(
            _NAME.check('vm', vm),
            _NAME.or_null().check('destination', destination))

    # calls of the REST API (1.2)
    @_call
    def delete_plan(self, ctxt, plan_id):
        """Delete a plan and its steps; refused while it executes."""
        plan_id = _PLAN_ID.check('plan_id', plan_id)
        self.conductor.db.delete_plan(plan_id, DELETABLE)

    @_call
    def list_history(self, ctxt, limit=None, since=None):
        """Migration records, newest first (at most :data:`MAX_PAGE`)."""
        limit = _LIMIT.check('limit', limit) or MAX_PAGE
        since = _EPOCH.check('since', since)
        return self.conductor.db.list_migration_records(
            since=since, limit=limit, newest_first=True)

    @_call
    def show_snapshot(self, ctxt):
        """The live model's snapshot; InvalidInput before any report."""
        return self.conductor.live.snapshot().to_primitive()

    @_call
    def list_periodic(self, ctxt):
        """The ``[periodic] schedule`` entries with their runs."""
        from nova_livemig import plugins
        from nova_livemig.conductor import periodic
        conf = self.conductor.conf
        entries = periodic.parse_schedule(conf.periodic.schedule,
                                          plugins.names(plugins.POLICIES))
        now = self.conductor.clock()
        out = []
        for entry in entries:
            last = self.conductor.db.last_run(entry.policy)
            last_at = None if last is None else last[1]
            out.append({
                'policy': entry.policy, 'cron': entry.cron,
                'mode': ('dry-run' if conf.periodic.dry_run
                         and entry.mode == 'execute' else entry.mode),
                'enabled': bool(conf.periodic.enabled),
                'last_run_at': last_at,
                'next_run_at': (None if entry.mode == 'disabled' else
                                periodic.next_after(entry.cron,
                                                    last_at or now))})
        return out

    @_call
    def show_calibration(self, ctxt):
        """The calibration file the conductor plans with."""
        from nova_livemig.calibration import document
        path = self.conductor.conf.planner.calibration_file
        if not path:
            # no file: the conductor plans with the [cost_model] constants
            raise exception.NotFound('calibration', 'current', known=())
        try:
            cal = document.load(path, '[planner] calibration_file')
        except exception.InvalidInput as err:
            raise exception.NotFound('calibration', 'current',
                                     known=()) from err
        return document.to_primitive(cal)

    @_call
    def refit_calibration(self, ctxt):
        """Refit from the history now; the new calibration."""
        from nova_livemig.calibration import document
        refitter = self.conductor.refitter
        if refitter is None:
            raise exception.InvalidInput(
                '[planner] calibration_file', None,
                'a calibration file set on the conductor (refits write it)')
        cal = refitter.refit()
        if cal is None:
            raise exception.InvalidInput(
                'history', 'no migration records',
                'at least one migration record to fit')
        return document.to_primitive(cal)


#: the plan states ``delete_plan`` deletes (not executing or aborting)
DELETABLE = ('planned', 'dry-run', 'completed', 'failed', 'aborted')
_EPOCH = validation.number(minimum=0).or_null()
