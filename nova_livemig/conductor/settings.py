"""The settings of the plan runner: :class:`Settings`, a plain value, and
:func:`settings_from`, which reads it from the ``[conductor]`` and
``[planner]`` options. Pure: the runner, the dispatcher and the tests pass
the value around; only :func:`settings_from` sees the configuration.

>>> Settings(max_attempts=2).max_attempts, Settings().tick_s
(2, 0.5)
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Settings:
    """Knobs of the runner (``[conductor]`` and ``[planner]`` options)."""
    max_downtime_ms: float = 500.0
    max_outgoing_per_host: int = 2
    max_incoming_per_host: int = 2
    deadline_factor: float = 3.0
    deadline_margin_s: float = 30.0
    max_attempts: int = 3
    job_poll_interval_s: float = 10.0
    tick_s: float = 0.5
    #: after a (re)start, a host that has not reported for this long is
    #: gone; before that, steps to it wait
    warmup_s: float = 0.0


def settings_from(conf):
    """:class:`Settings` from ``[conductor]`` and ``[planner]``."""
    c, p = conf.conductor, conf.planner
    return Settings(max_downtime_ms=p.max_downtime_ms,
                    max_outgoing_per_host=p.max_outgoing_per_host,
                    max_incoming_per_host=p.max_incoming_per_host,
                    deadline_factor=c.deadline_factor,
                    deadline_margin_s=c.deadline_margin_s,
                    max_attempts=c.max_attempts,
                    job_poll_interval_s=c.job_poll_interval_s,
                    tick_s=c.tick_s,
                    warmup_s=min(c.report_max_age_s,
                                 c.job_poll_interval_s))
