"""The conductor's service object: plans on the live model, records them,
executes them. No RPC here (the endpoint is
:mod:`nova_livemig.conductor.manager`).

:class:`Conductor` wires the live model (:mod:`.livemodel`), the database
(:mod:`nova_livemig.db.api`), the plan runner (:mod:`.runner`), the
scheduled policies (:mod:`.periodic`) and the retention of finished plans
(``[conductor] plan_retention_days``). Of the conductors sharing a
database only one is active: :meth:`Conductor.start` joins the race for
the conductor lease (:mod:`.lease`) and the runner, the scheduled
policies, the refit and the retention run only while this conductor holds
it, as do the ``on_elected`` hooks (the RPC server); a standby waits for
the lease to expire. At its start the live model
learns the VMs' resident memory from the newest migration records
(:meth:`Conductor.learn_history`); with ``[planner] calibration_file``
set, the cost model is refitted from the history (:mod:`.refit`).
:func:`load_executor` loads the executor, refusing a configuration it
cannot work with.
"""

import dataclasses
import socket
import threading
import time

from oslo_log import log as logging

from nova_livemig import algorithms
from nova_livemig import exception
from nova_livemig import graph as graph_mod
from nova_livemig import plan as plan_mod
from nova_livemig import plugins
from nova_livemig import policies
from nova_livemig.conductor import lease as lease_mod
from nova_livemig.conductor import livemodel
from nova_livemig.conductor import notifications
from nova_livemig.conductor import periodic
from nova_livemig.conductor import planner
from nova_livemig.conductor import refit
from nova_livemig.conductor import runner
from nova_livemig.conductor import settings
from nova_livemig.conductor import views
from nova_livemig.conf import cost_model
from nova_livemig.conf import planner as planner_conf
from nova_livemig.history import record
from nova_livemig.policies import ranking

LOG = logging.getLogger(__name__)

DAY_S = 86400.0
#: the newest migration records the live model learns from at a start
HISTORY_LEARN_LIMIT = 50000


def load_executor(conf, transport=None):
    """The executor ``[conductor] executor`` names.

    :raises InvalidInput: when the executor refuses its configuration (the
        ``nova`` executor without the ``[nova]`` keystone options), naming
        the options it needs; no value of a secret option is shown
    :raises PluginLoadError: an unknown or broken executor plugin
    """
    name = conf.conductor.executor
    try:
        return plugins.load(plugins.EXECUTORS, name,
                            invoke_args=(conf, transport))
    except exception.PluginLoadError as err:
        cause = err.__cause__
        if not isinstance(cause, exception.InvalidInput):
            raise
        raise exception.InvalidInput(
            cause.field, cause.value,
            f'{cause.allowed}; needed by [conductor] executor = {name} '
            '(executor = agent migrates behind Nova\'s back: only where '
            'no Nova manages the VMs)') from cause


class Conductor:
    """The conductor's state and operations, without RPC.

    :param conf: a :class:`~oslo_config.cfg.ConfigOpts` with every option
        group registered
    :param db: a :class:`nova_livemig.db.api.Database`, schema in place
    :param executor: an :class:`nova_livemig.executors.Executor`
    :param notify: ``notify(event_type, payload)``, or None
    """

    def __init__(self, conf, db, executor, notify=None, clock=time.time):
        self.conf = conf
        self.db = db
        self.clock = clock
        self.host = conf.conductor.host or socket.gethostname()
        self.notify = notify or (lambda event, payload: None)
        self.options = planner_conf.options_from(conf)
        if not self.options.algorithms:
            raise exception.InvalidInput(
                '[planner] algorithms', [],
                'at least one algorithm left after allow_postcopy and '
                'allow_throttle')
        # every algorithm the options may come to allow (a refit gives
        # evidence): the options say which are chosen from
        self.algorithms = algorithms.load_algorithms(
            [a for a in conf.planner.algorithms
             if a in self.options.algorithms
             or a in dict(self.options.left_out)])
        self.live = livemodel.LiveModel(
            conf.conductor.report_max_age_s,
            livemodel.load_topology(conf.conductor.topology_file),
            conf.conductor.default_link_gbit_s, clock=clock)
        #: the fencing token of the last lease held (None before): kept
        #: once fenced, so that a late step still carries a stale epoch
        self.epoch = None
        self.engine = runner.Engine(
            db, self.live, executor, settings.settings_from(conf),
            self.options, self.algorithms, notify=self.notify, clock=clock,
            epoch=lambda: self.epoch)
        #: ``hook(epoch)`` s called after the loops start on election, and
        #: before they stop when fenced (the RPC server)
        self.on_elected = []
        self.on_fenced = []
        self.lease = lease_mod.Leadership(
            db.engine, self.host, conf.conductor.lease_duration_s,
            conf.conductor.lease_renew_interval_s, self._elected,
            self._fenced, clock=clock)
        self.engine.may_run = self.lease.holds
        self.learn_history()
        self.periodic = None
        if conf.periodic.enabled:
            # a bad schedule line is a configuration error: found here
            self.periodic = periodic.Runner.from_conf(conf, self)
        self._published_at = float('-inf')
        self._stop = threading.Event()
        self._retention = None
        self.refitter = None
        if conf.planner.calibration_file:
            self.refitter = refit.Refitter(
                db, conf.planner.calibration_file,
                cost_model.params_from(conf),
                algorithms.load_algorithms(list(record.ALGORITHMS)),
                self.use_calibration, conf.conductor.refit_interval_s,
                conf.conductor.refit_after_records,
                conf.conductor.refit_max_records, clock=clock)

    def use_calibration(self, calibration):
        """Plan with ``calibration`` from now on (a refit, a replaced
        ``[planner] calibration_file``); refused, with the former
        options kept, when it leaves no algorithm to choose."""
        options = planner_conf.options_from(self.conf, calibration)
        if not options.algorithms:
            LOG.error('not using the calibration: no algorithm of '
                      '[planner] algorithms has evidence in it')
            return
        self.options = options
        self.engine.options = options

    def learn_history(self, limit=HISTORY_LEARN_LIMIT):
        """Give the live model the newest ``limit`` migration records
        (resident memory of the VMs); a record that does not read is
        skipped, a database error logged: history never stops the
        conductor.

        :returns: the number of records learnt from
        """
        try:
            rows = self.db.list_migration_records(limit=limit,
                                                  newest_first=True)
        except Exception:  # noqa: BLE001 - see the docstring
            LOG.exception('cannot read the migration history')
            return 0
        records = []
        for row in reversed(rows):
            try:
                records.append(record.from_primitive(row, 'migration_records'))
            except exception.InvalidSnapshot as err:
                LOG.warning('skipping a stored migration record: %s', err)
        self.live.learn(*records)
        return len(records)

    def start(self):
        """Join the race for the conductor lease; the loops start once it
        is held (at once when it is free).

        :returns: True when this conductor is the active one now
        """
        return self.lease.start()

    def stop(self):
        """Stop as the active conductor (releasing the lease) or as a
        standby."""
        self.lease.stop()

    @property
    def active(self):
        return self.lease.active

    def _elected(self, epoch):
        self.epoch = epoch
        self._start_loops()
        for hook in self.on_elected:
            hook(epoch)

    def _fenced(self, epoch):
        try:
            for hook in self.on_fenced:
                hook(epoch)
        finally:
            self._stop_loops()

    def _start_loops(self):
        self.engine.start()
        if self.refitter is not None:
            self.refitter.start()
        if self.periodic is not None:
            self.periodic.start()
        if self.conf.conductor.plan_retention_days > 0:
            self._stop.clear()
            self._retention = threading.Thread(
                target=self._retention_loop, name='livemig-retention',
                daemon=True)
            self._retention.start()

    def _stop_loops(self):
        self._stop.set()
        if self._retention is not None:
            self._retention.join(timeout=10)
            self._retention = None
        if self.periodic is not None:
            self.periodic.stop()
        if self.refitter is not None:
            self.refitter.stop()
        self.engine.stop()

    def _retention_loop(self):
        interval_s = self.conf.conductor.plan_purge_interval_s
        while not self._stop.is_set():
            try:
                self.purge_plans()
            except Exception:  # noqa: BLE001 - keep the thread alive
                LOG.exception('deleting old plans failed')
            self._stop.wait(interval_s)

    # From agents -------------------------------------------------------------

    def report(self, report):
        """Take an agent's report; republish the snapshot (at most once a
        second: reports of a large cluster arrive all the time).

        :param report: a :class:`messages.HostReport`
        """
        try:
            changed = self.live.update(report)
        except exception.InvalidInput as err:
            LOG.warning('dropping a report the model rejects: %s', err)
            return
        path = self.conf.conductor.publish_path
        now = self.clock()
        if changed and path and now - self._published_at >= 1.0:
            self._published_at = now
            try:
                self.live.publish(path)
            except (OSError, exception.LivemigError) as err:
                LOG.warning('cannot publish the snapshot to %s: %s', path,
                            err)
        self.engine.wake()

    # Plans -------------------------------------------------------------------

    def create_plan(self, policy, vms=(), hosts=(), dry_run=False,
                    origin='api'):
        """Plan on the live model and record the plan.

        :returns: the plan view (:func:`views.plan_view`)
        :raises InvalidInput: unknown policy, VM or host; no reports
        """
        snapshot = self.live.snapshot()
        request = policies.PlanRequest(vms=tuple(vms), hosts=tuple(hosts))
        document, steps = planner.make_plan(
            snapshot, policy, request, self.options, self.algorithms)
        state = 'dry-run' if dry_run else 'planned'
        plan = self.db.create_plan(
            policy, dataclasses.asdict(request) | {'dry_run': dry_run},
            document, steps, state, origin=origin)
        self.notify(notifications.PLAN_CREATE_END,
                    notifications.plan_create_end_payload(
                        plan['id'], policy, document['moves'],
                        document['totals'], dry_run))
        return views.plan_view(plan, self.clock())

    def list_plans(self, limit=None, marker=None):
        """Plan summaries, newest first; ``limit`` and ``marker`` page
        them (:meth:`nova_livemig.db.api.Database.list_plans`)."""
        return [views.plan_summary(p)
                for p in self.db.list_plans(limit, marker)]

    def purge_plans(self, older_than_days=None):
        """Delete the finished plans that finished more than
        ``older_than_days`` ago, with their steps.

        :param older_than_days: whole days, 0 or more; None:
            ``[conductor] plan_retention_days``
        :returns: ``{'plans': n, 'steps': n, 'older_than_days': days}``
        :raises InvalidInput: no days given and no retention configured
        """
        if older_than_days is None:
            older_than_days = self.conf.conductor.plan_retention_days
            if not older_than_days:
                raise exception.InvalidInput(
                    'older_than_days', None,
                    'a number of days (--older-than-days), or a '
                    '[conductor] plan_retention_days above 0')
        days = older_than_days
        plans, steps = self.db.purge_plans(self.clock() - days * DAY_S)
        if plans:
            LOG.info('deleted %d plans (%d steps) finished more than %d '
                     'days ago', plans, steps, days)
        return {'plans': plans, 'steps': steps, 'older_than_days': days}

    def show_plan(self, plan_id):
        return views.plan_view(self.db.get_plan(plan_id), self.clock())

    def execute_plan(self, plan_id):
        self.engine.execute(plan_id)
        return self.show_plan(plan_id)

    def abort_plan(self, plan_id):
        self.engine.abort(plan_id)
        return self.show_plan(plan_id)

    def migrate_vm(self, vm, destination=None):
        """Move one VM (smart placement unless ``destination`` is given):
        a one-step plan, executed at once."""
        if destination is None:
            view = self.create_plan('single', vms=(vm,),
                                    origin='migrate')
        else:
            view = self._migrate_to(vm, destination)
        if not view['steps']:
            reasons = [u['reason'] for u in view['document']['unplaced']]
            raise exception.InvalidInput(
                'vm', vm, 'a VM some host can take ('
                + ('; '.join(reasons) or 'no move planned') + ')')
        return self.execute_plan(view['id'])

    def _migrate_to(self, vm_id, destination):
        snapshot = self.live.snapshot()
        vm = snapshot.vm(vm_id)
        if destination not in snapshot.hosts:
            raise exception.InvalidInput(
                'destination', destination,
                'a host of the live model: ' + ', '.join(snapshot.hosts))
        ranker = ranking.Ranker(graph_mod.LinkGraph(snapshot),
                                  self.options, self.algorithms)
        move = ranker.move(vm, vm.host, destination)
        if destination == vm.host or move is None:
            raise exception.InvalidInput(
                'destination', destination,
                f'a host other than {vm.host}, connected to it')
        try:
            plan_mod.apply(snapshot, [move])
        except exception.InvalidPlan as err:
            raise exception.InvalidInput('destination', destination,
                                         f'a host that can take it ({err})'
                                         ) from err
        result = plan_mod.Plan(policy='single', moves=(move,),
                               summary={'requested': [vm_id],
                                        'destination': destination})
        steps = [planner.step_fields(move, 0.0, move.predicted.total_s,
                                     snapshot, self.options.max_downtime_ms)]
        document = result.to_primitive()
        plan = self.db.create_plan(
            'single', {'vms': [vm_id], 'hosts': [destination],
                       'dry_run': False},
            document, steps, 'planned', origin='migrate')
        self.notify(notifications.PLAN_CREATE_END,
                    notifications.plan_create_end_payload(
                        plan['id'], 'single', document['moves'],
                        document['totals'], False))
        return views.plan_view(plan, self.clock())
