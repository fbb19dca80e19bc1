"""What Nova does by default, for the baseline schedule.

The moves of a plan are also simulated the way Nova runs them by default,
for comparison: one outgoing migration per compute host
(``max_concurrent_live_migrations = 1``) taken in the plan's order, no
incoming limit, pre-copy always (:data:`ALGORITHM`), no look at the links
(they are shared all the same), and a pre-copy that does not converge
aborted after Nova's completion timeout
(:data:`COMPLETION_TIMEOUT_S_PER_GIB`).
"""

from nova_livemig.scheduling import schedule

#: the algorithm Nova uses unless told otherwise
ALGORITHM = 'precopy'
#: Nova's ``[libvirt] live_migration_completion_timeout``, seconds per GiB
COMPLETION_TIMEOUT_S_PER_GIB = 800.0


def algorithm(planned, algorithms):
    """The algorithm Nova runs a move with: :data:`ALGORITHM` when its cost
    model is loaded, else the planned one.

    :param planned: the algorithm of the plan's move
    :param algorithms: ``{name: Algorithm}``, the cost models loaded
    """
    return ALGORITHM if ALGORITHM in algorithms else planned


def timeout_s(vm):
    """Seconds after which Nova aborts a migration of the VM."""
    return COMPLETION_TIMEOUT_S_PER_GIB * vm.memory_mib / 1024.0


def baseline(done, stuck, algorithms):
    """Sum up the moves as Nova would run them.

    :param done: the :class:`~nova_livemig.scheduling.schedule.ScheduledMove`
        values of the Nova-default simulation
    :param stuck: the moves it never started
    :param algorithms: ``{name: Algorithm}``, the cost models loaded
    :returns: a :class:`~nova_livemig.scheduling.schedule.Baseline`
    """
    algo = (ALGORITHM if ALGORITHM in algorithms
            else 'the planned algorithm (no precopy model loaded)')
    return schedule.Baseline(
        makespan_s=max((m.end_s for m in done), default=0.0),
        failed=sum(1 for m in done if not m.converges),
        stuck=len(stuck),
        description=('one outgoing migration per host, no incoming '
                     f'limit, {algo}, links not considered'))
