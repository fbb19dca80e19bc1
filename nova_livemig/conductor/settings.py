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
    #: a step sent must start at its agent within this long, else the
    #: agent refuses it (a cast that waited in the broker); the conductor
    #: gives up a step its agent does not know only after this (plus
    #: ``clock_skew_s``)
    start_window_s: float = 20.0
    #: how far the agents' clocks may be off the conductor's
    clock_skew_s: float = 5.0
    #: a step still pending this long after its planned start (counted
    #: from when this runner began running the plan) expires: its VM
    #: stays where it is
    pending_max_wait_s: float = 1800.0
    #: the first resend of an abort that did not end a step comes after
    #: this long, then twice as long each time (at most 8 times as long)
    abort_retry_s: float = 10.0
    #: threads that hand steps to the executor off the runner thread; 0
    #: sends them in the pass
    send_workers: int = 0
    #: a VM in no report for this long has vanished (deleted): its
    #: steps end (a VM in flight between two reports is missing a moment)
    vanished_after_s: float = 60.0

    def given_up_after_s(self):
        """How long after it was sent a step its agent does not know is
        given up: by then its agent refuses it."""
        return self.start_window_s + self.clock_skew_s


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
                                 c.job_poll_interval_s),
                    start_window_s=c.step_start_window_s,
                    clock_skew_s=c.max_clock_skew_s,
                    pending_max_wait_s=c.pending_max_wait_s,
                    abort_retry_s=c.job_poll_interval_s,
                    send_workers=c.send_workers,
                    vanished_after_s=float(c.report_max_age_s))
