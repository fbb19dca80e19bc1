"""The agent's part in migrations that nova-compute started.

Under the ``nova`` executor nova-compute starts the migration; the agent
of the source is then asked to *tune* it (``tune_migration``, RPC 1.1):
it waits up to :data:`TUNE_GRACE_S` for the job to show, attaches to it
through the driver, sets the step's bandwidth cap and downtime limit
(:func:`nova_livemig.algorithms.downtime.step_downtime_limit_ms`), and
reports progress and the result as for its own migrations. It never
starts, aborts or switches that job: Nova does, and Nova's answer stays
the authority on the step.
"""

from oslo_log import log as logging

from nova_livemig import exception
from nova_livemig.agent import steps
from nova_livemig.algorithms import downtime
from nova_livemig.conf import cost_model
from nova_livemig.drivers import migration

LOG = logging.getLogger(__name__)

#: seconds the agent looks for a migration it is asked to tune before it
#: gives up on it; nova-compute starts the job only after the scheduler,
#: the destination's checks and its pre-live-migration (ports, volumes)
TUNE_GRACE_S = 60.0


class TuningMixin:
    """The tuning methods of :class:`~nova_livemig.agent.manager.Agent`.

    They use the agent's ``host``, ``conf``, ``opts``, ``driver``,
    ``clock``, its step book ``_book`` and stop event ``_stopping``, and
    its ``_spawn``, ``_progress`` and ``_report_end``.
    """

    #: see :data:`TUNE_GRACE_S` (tests shorten it)
    tune_grace_s = TUNE_GRACE_S

    def tune_migration(self, step):
        """Tune and watch, in a thread, the migration of ``step.vm`` that
        someone else started on this host.

        :param step: a :class:`~nova_livemig.messages.MigrationStep`
        :returns: False when refused (not this host's step, or the step id
            is known already); True when the watch started
        """
        if step.source != self.host:
            LOG.error('tune_migration of step %s rejected: %s', step.step_id,
                      exception.InvalidInput(
                          'MigrationStep.source', step.source,
                          f'this agent\'s host ({self.host})'))
            return False
        if self._book.add(step, tuned=True) is not None:
            LOG.warning('step %s (%s) is known already; not tuning it again',
                        step.step_id, step.vm)
            return False
        return self._spawn(self._tune, step, 'livemig-tune')

    def _tune(self, step):
        try:
            if not self._attach(step):
                self._book.forget(step.step_id)
                return
            self._apply_tuning(step)
            job = self._watch(step)
        except steps.Stopped:
            LOG.warning('step %s: agent stopping; no longer watching %s',
                        step.step_id, step.vm)
            return
        except Exception:
            LOG.exception('step %s: watching the migration of %s failed; '
                          'nova reports how it ends', step.step_id, step.vm)
            self._book.forget(step.step_id)
            return
        if job is None:
            LOG.warning('step %s: the driver lost the migration job of %s; '
                        'nova reports how it ends', step.step_id, step.vm)
            self._book.forget(step.step_id)
            return
        self._report_end(step, job)

    def _attach(self, step):
        """Wait up to :attr:`tune_grace_s` for a migration job of the VM;
        False (logged) when none shows or the driver cannot follow one."""
        deadline = self.clock() + self.tune_grace_s
        while True:
            if self._stopping.is_set():
                raise steps.Stopped()
            try:
                if self.driver.attach_job(step.vm):
                    LOG.info('step %s: following the migration of %s to %s '
                             'that nova-compute started', step.step_id,
                             step.vm, step.destination)
                    return True
            except NotImplementedError as err:
                LOG.warning('step %s: not tuning %s: %s', step.step_id,
                            step.vm, err)
                return False
            if self.clock() >= deadline:
                LOG.warning('step %s: no migration of %s runs on %s %.0f s '
                            'after the request to tune it (not started yet, '
                            'or over already); not tuning it, nova reports '
                            'how it ends', step.step_id, step.vm, self.host,
                            self.tune_grace_s)
                return False
            self._stopping.wait(self.opts.monitor_interval_s)

    def _apply_tuning(self, step):
        """Set the step's bandwidth cap (0: leave nova's) and downtime
        limit on the job; a refusal is logged, the watch goes on."""
        bandwidth = step.bandwidth_mib_s or None
        limit_ms = downtime.step_downtime_limit_ms(
            step, cost_model.params_from(self.conf))
        try:
            self.driver.tune_job(step.vm, bandwidth_mib_s=bandwidth,
                                 max_downtime_ms=limit_ms)
        except Exception as err:  # noqa: BLE001 - nova's job goes on
            LOG.warning('step %s: could not tune the migration of %s: %s',
                        step.step_id, step.vm, err)
            return False
        LOG.debug('step %s: %s tuned: bandwidth %s MiB/s, downtime limit '
                  '%d ms', step.step_id, step.vm,
                  'unchanged' if bandwidth is None else f'{bandwidth:g}',
                  limit_ms)
        return True

    def _watch(self, step):
        """Look at an attached job until it ends and report its progress;
        returns the last JobInfo, or None when the driver lost the job.

        At each progress report in pre-copy the tuning is applied again:
        nova-compute sets its own downtime, in steps (``[libvirt]
        live_migration_downtime*``), the first when its monitor first
        sees the job, which may come after ours."""
        last_progress = None
        unseen = 0
        while True:
            if self._stopping.is_set():
                raise steps.Stopped()
            job = self.driver.job_info(step.vm)
            if job.finished:
                return job
            if job.state == migration.JOB_NONE:
                unseen += 1
                if unseen > steps.NONE_GRACE_LOOKS:
                    return None
            else:
                unseen = 0
                now = self.clock()
                if migration.should_report_progress(
                        last_progress, now, self.opts.progress_interval_s):
                    if (last_progress is not None
                            and job.phase == migration.PRECOPY):
                        self._apply_tuning(step)
                    last_progress = now
                    self._progress(step, job)
            self._stopping.wait(self.opts.monitor_interval_s)
