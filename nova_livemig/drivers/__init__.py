"""Compute drivers: how an agent measures its host and moves VMs.

Namespace ``nova_livemig.drivers``, exactly one loaded per agent (by
``[agent] driver``). ``fake`` simulates a compute node; ``libvirt`` drives
QEMU through libvirt. A driver is constructed with the agent's config and
is the only place that talks to the hypervisor; the decisions (when to
switch to post-copy, when to give up) are the pure functions of
:mod:`nova_livemig.drivers.migration`, fed with its :class:`JobInfo`.
"""

import abc


class ComputeDriver(abc.ABC):
    """The compute driver of one agent (one host).

    Methods may be called from several threads at once (the RPC server and
    one monitor thread per migration); a driver guards its own state.

    :param conf: the agent's :class:`~oslo_config.cfg.ConfigOpts`
        (``[agent] host`` names the host)
    """

    #: the plugin name an operator writes in ``[agent] driver``
    name = None

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def measure(self):
        """Measure the host and the VMs on it.

        :returns: ``(host, vms)``: the host entry and the VM entries of
            snapshot v1 (:mod:`nova_livemig.model`), plain dicts
        """

    @abc.abstractmethod
    def migration_uri(self):
        """Where migrations *to* this host go, in the driver's terms
        (``qemu+tcp://host/system``); other agents receive it in a step's
        ``destination_uri``.

        :returns: a string, or None when the driver needs none
        """

    @abc.abstractmethod
    def start_migration(self, step):
        """Start a live migration and return once it runs.

        :param step: a :class:`~nova_livemig.messages.MigrationStep`
        :raises NotFound: when the VM is not on this host
        :raises MigrationFailed: when the migration cannot start (the
            destination refuses, the VM is already migrating)
        """

    @abc.abstractmethod
    def job_info(self, vm):
        """Look at the migration job of a VM.

        :param vm: the VM id
        :returns: a :class:`~nova_livemig.drivers.migration.JobInfo`;
            state ``none`` when the driver knows no job for it
        """

    @abc.abstractmethod
    def switch_to_postcopy(self, vm):
        """Switch a running pre-copy job to post-copy.

        :param vm: the VM id
        :raises MigrationFailed: when the job cannot switch
        """

    @abc.abstractmethod
    def abort(self, vm):
        """Abort a running pre-copy job; the VM stays on the source.

        :param vm: the VM id
        :returns: True when an abort was requested, False when there is
            nothing to abort (no job, finished, or in post-copy)
        """

    @abc.abstractmethod
    def completed_stats(self, vm):
        """Figures of a finished job.

        :param vm: the VM id
        :returns: ``{'total_s', 'downtime_ms', 'bytes', 'iterations',
            'postcopy', 'normal_bytes', 'zero_pages',
            'postcopy_started_s'}`` as in a
            :class:`~nova_livemig.messages.Result` (the last three None
            when the driver cannot tell;
            :func:`~nova_livemig.drivers.migration.stats_of` makes it)
        """

    def attach_job(self, vm):
        """Follow an outgoing migration of ``vm`` that this driver did not
        start (nova-compute's, under the ``nova`` executor).

        When a migration job of ``vm`` runs on this host, whoever started
        it, the driver remembers it: from then on :meth:`job_info` reports
        it, and once it ends, state ``completed`` when the VM has left
        this host and ``failed`` or ``cancelled`` when it is still here;
        :meth:`completed_stats` and :meth:`cleanup` work as for a job the
        driver started. Attaching changes nothing in the job itself.

        :param vm: the VM id
        :returns: True when a running job of ``vm`` was found (or is
            followed already), False when none runs (yet)
        :raises NotImplementedError: when the driver cannot follow a job
            it did not start
        """
        raise NotImplementedError(
            f'the {self.name} driver cannot follow a migration it did not '
            'start')

    def tune_job(self, vm, bandwidth_mib_s=None, max_downtime_ms=None):
        """Set the bandwidth cap and the downtime limit of ``vm``'s running
        migration job (one the driver started or attached); nothing else
        of the job changes.

        :param vm: the VM id
        :param bandwidth_mib_s: the cap in MiB/s (> 0), or None to leave
            the job's bandwidth as it is
        :param max_downtime_ms: the hypervisor's downtime limit in whole
            milliseconds (>= 1; the caller has already taken off what the
            limit does not cover, see
            :func:`nova_livemig.algorithms.downtime.step_downtime_limit_ms`),
            or None to leave it
        :raises MigrationFailed: when no job of ``vm`` runs, or the
            hypervisor refuses a value
        :raises NotImplementedError: when the driver cannot tune a job
        """
        raise NotImplementedError(
            f'the {self.name} driver cannot tune a running migration')

    def pause_postcopy(self, vm):
        """Pause ``vm``'s migration in post-copy, its link broken, so
        that it can be resumed (:meth:`resume_postcopy`) once the link is
        back; :meth:`job_info` then shows it ``postcopy_paused``.

        :param vm: the VM id
        :returns: True when the pause was requested, False when the job
            is not in post-copy (or already paused, or finished)
        :raises NotImplementedError: when the driver cannot recover a
            post-copy
        """
        raise NotImplementedError(
            f'the {self.name} driver cannot pause a post-copy migration')

    def resume_postcopy(self, vm):
        """Resume ``vm``'s paused post-copy if the path to the
        destination is back.

        :param vm: the VM id
        :returns: True when a resume started, False when not yet (the
            destination is unreachable or not paused yet, the failed call
            has not returned): ask again later
        :raises MigrationFailed: when no job of ``vm`` runs
        :raises NotImplementedError: when the driver cannot recover a
            post-copy
        """
        raise NotImplementedError(
            f'the {self.name} driver cannot resume a post-copy migration')

    def cleanup(self, vm):
        """Forget a finished job (after its result was sent).

        :param vm: the VM id
        """
