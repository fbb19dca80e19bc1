"""What the agent keeps about the steps it runs or tunes.

One :class:`StepRecord` per step (the step, its last progress, its
result) in the agent's :class:`StepBook`, which keeps finished results
for ``get_job`` (``[agent] job_history`` of them) and guards the records
with its lock; the :class:`Fence` that refuses a step the conductor has
given up on; and what the agent's monitor loops share
(:class:`Stopped`, :data:`NONE_GRACE_LOOKS`).

A step comes with a *fence* in its RPC context: :data:`NOT_AFTER`, the
time (epoch seconds, the conductor's clock) after which it must not
start, and :data:`EPOCH`, the fencing token of the conductor's lease. A
cast that waited in the broker while the agent was down arrives late:
the conductor gave it up at that time (and may have sent the VM
elsewhere), so the agent refuses it, as it refuses a step from a
conductor whose epoch is older than the newest it has seen (one that
lost its lease).

>>> fence = Fence(clock=lambda: 100.0)
>>> fence.refusal({NOT_AFTER: 130.0, EPOCH: 2}) is None
True
>>> fence.refusal({NOT_AFTER: 90.0})
'its start-by time passed 10.0 s ago (the conductor has given it up)'
>>> fence.refusal({EPOCH: 1})
'conductor epoch 1 is older than 2 (its conductor lost the lease)'
"""

import collections
import math
import threading
import time

from nova_livemig import messages

#: the RPC context key of a step's start-by time (epoch seconds)
NOT_AFTER = 'livemig_not_after'
#: the RPC context key of the sending conductor's lease epoch
EPOCH = 'livemig_epoch'

#: looks at a job the driver does not know before the agent gives up on it
#: (libvirt may not show a job in the first instant after it started)
NONE_GRACE_LOOKS = 3


def fence_context(ctxt, fence):
    """``ctxt`` with a step's fence (``{'not_after', 'epoch'}``, as the
    conductor's runner gives it; None: none) added, a copy."""
    out = dict(ctxt or {})
    if fence:
        if fence.get('not_after') is not None:
            out[NOT_AFTER] = float(fence['not_after'])
        if fence.get('epoch') is not None:
            out[EPOCH] = int(fence['epoch'])
    return out


class Fence:
    """Refuses a step the conductor has given up on: see the module
    docstring. Steps without a fence (an older conductor) pass.

    :param clock: epoch seconds
    """

    def __init__(self, clock=time.time):
        self.clock = clock
        self._epoch = None
        self._lock = threading.Lock()

    def refusal(self, ctxt):
        """Why the step of this RPC context must not start, or None.

        A fence that is not a number (or an integer epoch) is refused,
        naming the key: a garbled fence is never taken for none.
        """
        ctxt = ctxt if isinstance(ctxt, dict) else {}
        not_after, epoch = ctxt.get(NOT_AFTER), ctxt.get(EPOCH)
        if not_after is not None:
            if (isinstance(not_after, bool)
                    or not isinstance(not_after, (int, float))
                    or not math.isfinite(not_after)):
                return f'{NOT_AFTER} is not a number of seconds'
            late_s = self.clock() - not_after
            if late_s > 0:
                return (f'its start-by time passed {late_s:.1f} s ago '
                        '(the conductor has given it up)')
        if epoch is not None:
            if isinstance(epoch, bool) or not isinstance(epoch, int):
                return f'{EPOCH} is not an integer'
            with self._lock:
                if self._epoch is not None and epoch < self._epoch:
                    return (f'conductor epoch {epoch} is older than '
                            f'{self._epoch} (its conductor lost the '
                            'lease)')
                self._epoch = epoch
        return None


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
