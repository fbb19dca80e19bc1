"""The downtime limit: what QEMU is told for a step's downtime target.

QEMU compares only the pending RAM with its ``downtime-limit``; the fixed
switchover cost and the device state (sent while the guest is paused)
come on top. To meet a downtime target the agent and the drivers
therefore set QEMU's limit to the target less those, and the cost models
(:mod:`~nova_livemig.algorithms.precopy` and the models built on it)
assume they do. :func:`downtime_limit_ms` is that formula, the one place
it is written; :func:`step_downtime_limit_ms` applies it to a migration
step for the hypervisor.
"""

from nova_livemig import cost


def downtime_limit_ms(max_downtime_ms, rate_bytes_s, params):
    """The ``downtime-limit`` to give QEMU so that the guest's real pause
    meets ``max_downtime_ms``: the target less
    :func:`nova_livemig.cost.switchover_s` (never below zero).

    :param max_downtime_ms: the downtime target
    :param rate_bytes_s: payload rate on the wire; 0 when unknown (the
        device state is then not counted, only the fixed switchover)
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :returns: milliseconds

    With the defaults, a 500 ms target over a path carrying 0.05 MiB per
    ms: 500 less the 4 ms switchover, 1 ms of device state and 40 ms for
    the 2 MiB of stream queued when the guest stops; with no rate known,
    less the switchover only; a target below the switchover leaves
    nothing:

    >>> p = cost.CostParams()
    >>> round(downtime_limit_ms(500, 0.05 * cost.MIB / 0.001, p), 6)
    455.0
    >>> downtime_limit_ms(500, 0, p), downtime_limit_ms(3, 0, p)
    (496.0, 0.0)
    """
    if rate_bytes_s > 0:
        pause_ms = (cost.switchover_s(params, rate_bytes_s)
                    + cost.backlog_s(params, rate_bytes_s)) * 1000
    else:
        pause_ms = params.switchover_ms
    limit = max_downtime_ms - pause_ms
    return limit if limit > 0 else 0.0


def step_rate_mib_s(step):
    """The payload rate a step's migration is expected to run at: its
    bandwidth cap, else the predicted bytes over the predicted time.

    :param step: a :class:`~nova_livemig.messages.MigrationStep`
    :returns: MiB/s; 0.0 when neither is known
    """
    if step.bandwidth_mib_s:
        return step.bandwidth_mib_s
    predicted = step.predicted or {}
    total_s = float(predicted.get('total_s') or 0.0)
    if total_s > 0:
        return predicted.get('bytes', 0) / cost.MIB / total_s
    return 0.0


def step_downtime_limit_ms(step, params):
    """QEMU's downtime limit for a step, as the agent and the drivers set
    it: :func:`downtime_limit_ms` of the step's target at
    :func:`step_rate_mib_s`, in whole milliseconds (cut down, after
    rounding to the nanosecond so that float noise in an exact value
    does not cost a millisecond), at least 1 (libvirt rejects 0).

    :param step: a :class:`~nova_livemig.messages.MigrationStep`
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :returns: whole milliseconds >= 1

    A 300 ms target capped at 200 MiB/s with the defaults: less the 4 ms
    switchover, 0.25 ms of device state and 10 ms of queued stream;
    without a cap, 6 GiB predicted in 2 s; a 4 ms target leaves nothing,
    so 1 ms:

    >>> import types
    >>> def step(target, cap):
    ...     return types.SimpleNamespace(
    ...         max_downtime_ms=target, bandwidth_mib_s=cap,
    ...         predicted={'total_s': 2.0, 'bytes': 6 * 1024 * cost.MIB})
    >>> p = cost.CostParams()
    >>> [step_downtime_limit_ms(step(*a), p)
    ...  for a in ((300, 200), (300, 0), (4, 200))]
    [285, 295, 1]

    Exactly 128 ms (233 less 5 ms of switchover and 100 ms of device
    state), though the floating-point sum comes out a hair below:

    >>> q = cost.CostParams(switchover_ms=5.0, device_state_mib=0.05,
    ...                     pause_backlog_mib=0.0)
    >>> downtime_limit_ms(233, 0.5 * cost.MIB, q) < 128
    True
    >>> step_downtime_limit_ms(step(233, 0.5), q)
    128
    """
    rate_bytes_s = step_rate_mib_s(step) * cost.MIB
    limit = downtime_limit_ms(step.max_downtime_ms, rate_bytes_s, params)
    return max(int(round(limit, 6)), 1)
