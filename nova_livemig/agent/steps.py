"""What the agent keeps about the steps it runs or tunes.

One :class:`StepRecord` per step (the step, its last progress, its
result) in the agent's :class:`StepBook`, which keeps finished results
for ``get_job`` (``[agent] job_history`` of them) and guards the records
with its lock; and what the agent's monitor loops share
(:class:`Stopped`, :data:`NONE_GRACE_LOOKS`).
"""

import collections
import threading

from nova_livemig import messages

#: looks at a job the driver does not know before the agent gives up on it
#: (libvirt may not show a job in the first instant after it started)
NONE_GRACE_LOOKS = 3


class Stopped(Exception):
    """The agent stops; the monitor leaves the job to the hypervisor."""


class StepRecord:
    """What the agent knows about one step (guarded by its book's lock).

    :param step: the :class:`~nova_livemig.messages.MigrationStep`
    :param tuned: a migration someone else started: the agent only
        tunes it
    """

    def __init__(self, step, tuned=False):
        self.step = step
        #: a migration someone else started: the agent only tunes it
        self.tuned = tuned
        self.progress = None
        self.result = None

    def status(self):
        """The :class:`~nova_livemig.messages.JobStatus` primitive."""
        state = 'running' if self.result is None else self.result['state']
        return messages.JobStatus(step_id=self.step.step_id, vm=self.step.vm,
                                  state=state, progress=self.progress,
                                  result=self.result).to_primitive()


class StepBook:
    """The agent's records of steps by step id, oldest first."""

    def __init__(self):
        self._steps = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, step, tuned=False):
        """Record a step unless its id is known already.

        :param step: a :class:`~nova_livemig.messages.MigrationStep`
        :param tuned: see :class:`StepRecord`
        :returns: None when the step was recorded; the known record (left
            as it is) when its id is known already
        """
        with self._lock:
            known = self._steps.get(step.step_id)
            if known is None:
                self._steps[step.step_id] = StepRecord(step, tuned=tuned)
            return known

    def get(self, step_id):
        """The record of a step, or None."""
        with self._lock:
            return self._steps.get(step_id)

    def status(self, step_id):
        """The JobStatus primitive of a step, or None when unknown."""
        with self._lock:
            known = self._steps.get(step_id)
            return known.status() if known is not None else None

    def set_progress(self, step_id, progress):
        """Keep the last progress primitive of a recorded step."""
        with self._lock:
            self._steps[step_id].progress = progress

    def set_result(self, step_id, result, keep):
        """Keep the result primitive of a recorded step, and forget the
        oldest finished steps beyond ``keep``."""
        with self._lock:
            self._steps[step_id].result = result
            finished = [k for k, s in self._steps.items()
                        if s.result is not None]
            for key in finished[:max(len(finished) - keep, 0)]:
                del self._steps[key]

    def forget(self, step_id):
        """Forget a step (it may be started or tuned again)."""
        with self._lock:
            self._steps.pop(step_id, None)
