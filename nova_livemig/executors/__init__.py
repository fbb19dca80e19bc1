"""Executors: what carries out one migration step.

Namespace ``nova_livemig.executors``, loaded with
:func:`nova_livemig.plugins.load` by the name in ``[conductor] executor``
(``agent``: nova-livemig agents over RPC). The conductor hands an executor
plain values: a MigrationStep primitive (see
``doc/control-plane-contract.md``), and receives JobStatus primitives.
Results normally arrive by themselves (the agents cast
``migration_result``); :meth:`Executor.job` is how the conductor asks when
they do not (a lost message, a restarted conductor).
"""

import abc


class Executor(abc.ABC):
    """Base class of the plugins in ``nova_livemig.executors``.

    :param conf: the conductor's :class:`oslo_config.cfg.ConfigOpts`
    :param transport: the RPC transport, or None for executors that do not
        use one
    """

    #: the plugin name, as written in ``[conductor] executor``
    name = None
    #: True when only :meth:`job` says how a step ends (the ``nova``
    #: executor: Nova finishes its own bookkeeping after the migration);
    #: progress and results from agents then inform but never end a step
    job_is_authority = False
    #: keys of a result's ``stats`` that the executor does not measure
    #: (it sends 0 because the message needs a number): left out of the
    #: step's history record
    unmeasured_stats = ()

    def __init__(self, conf, transport=None):
        self.conf = conf
        self.transport = transport

    @abc.abstractmethod
    def start(self, step, fence=None):
        """Start one migration; returns at once.

        :param step: a MigrationStep primitive (dict)
        :param fence: ``{'not_after': epoch s, 'epoch': int or None}``:
            the step must not start after ``not_after`` (the conductor
            gives it up then), nor under a conductor epoch older than
            the newest the agent saw; executors that can, pass it on
        :raises StepRefused: when the step was refused before anything
            started (the conductor re-plans it elsewhere)
        :raises Exception: when it could not be sent; the conductor then
            asks :meth:`job` before deciding anything
        """

    @abc.abstractmethod
    def abort(self, step):
        """Ask for a running migration to be aborted; returns at once.

        :param step: the MigrationStep primitive of the running step
        """

    @abc.abstractmethod
    def job(self, step):
        """The state of a step where it runs.

        :param step: the MigrationStep primitive
        :returns: a JobStatus primitive (dict); state ``unknown`` when the
            executor never heard of the step
        :raises Exception: when the answer could not be had (timeout)
        """


class NoopExecutor(Executor):
    """Completes every step at once, moving nothing; for tests."""

    name = 'noop'

    def __init__(self, conf=None, transport=None):
        super().__init__(conf, transport)
        self.started = []

    def start(self, step, fence=None):
        self.started.append(step)

    def abort(self, step):
        pass

    def job(self, step):
        return {'step_id': step['step_id'], 'vm': step['vm'],
                'state': 'unknown', 'progress': None, 'result': None}
