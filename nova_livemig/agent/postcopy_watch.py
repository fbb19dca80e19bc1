"""The agent's watch over one migration in post-copy: pause it when its
link broke, resume it when the link is back, give up past
``[agent] postcopy_recover_timeout_s``.

The decisions are :mod:`nova_livemig.drivers.postcopy_recovery`'s; this
class holds the tracker of one step and makes the driver calls. A driver
that cannot recover a post-copy (``NotImplementedError``) is left alone:
the job then runs as before, and a broken link is the hypervisor's to
report.
"""

from oslo_log import log as logging

from nova_livemig.drivers import migration
from nova_livemig.drivers import postcopy_recovery as recovery

LOG = logging.getLogger(__name__)


class Stranded(Exception):
    """A paused post-copy whose link did not come back in time.

    :ivar error: the step's error (see
        :func:`~nova_livemig.drivers.postcopy_recovery.stranded_error`)
    """

    def __init__(self, error):
        super().__init__(error)
        self.error = error


class PostcopyWatch:
    """The recovery of one step's post-copy.

    :param driver: the agent's compute driver
    :param step: the :class:`~nova_livemig.messages.MigrationStep`
    :param opts: the ``[agent]`` options (``postcopy_stall_s``,
        ``postcopy_recover_timeout_s``)
    """

    def __init__(self, driver, step, opts):
        self.driver = driver
        self.step = step
        self.stall_s = opts.postcopy_stall_s
        self.timeout_s = opts.postcopy_recover_timeout_s
        self.rec = recovery.Recovery()
        self.supported = True

    def look(self, job, now):
        """Follow one look at the job (``now`` on the monitor's clock).

        :raises Stranded: when the link stayed broken too long
        """
        if not self.supported or job.phase != migration.POSTCOPY:
            return
        self.rec = recovery.observe(self.rec, job.processed_bytes,
                                    job.postcopy_paused, now)
        action = recovery.next_action(self.rec, now, self.stall_s,
                                      self.timeout_s)
        try:
            if action == recovery.PAUSE:
                # refused while the job is not yet in post-copy (the VM
                # is then still on the source): asked again next look
                if self.driver.pause_postcopy(self.step.vm):
                    LOG.warning('step %s: %s moved no byte for %.1f s in '
                                'post-copy; paused until its link is back',
                                self.step.step_id, self.step.vm,
                                now - self.rec.stalled_since)
                    self.rec = recovery.pause_requested(self.rec)
            elif action == recovery.RESUME:
                started = self.driver.resume_postcopy(self.step.vm)
                self.rec = recovery.resume_tried(self.rec, now, started)
            elif action == recovery.GIVE_UP:
                raise Stranded(recovery.stranded_error(
                    self.step.vm, self.step.source, self.step.destination,
                    now - self.rec.stalled_since))
        except NotImplementedError as err:
            LOG.warning('step %s: %s; a broken link will not be '
                        'recovered', self.step.step_id, err)
            self.supported = False

    def stats(self, now):
        """The recovery figures for the Result's statistics: nothing
        unless the job ran in post-copy under a driver that recovers."""
        if not self.supported or self.rec.last_bytes is None:
            return {}
        return recovery.stats_of(self.rec, now)
