"""Post-copy that survives a broken link: the agent's decisions, pure.

Once a job is in post-copy the guest runs on the destination and its
memory is split: pages not yet sent are only on the source. When the
link breaks, QEMU cannot fetch them and the guest stalls; an abort would
lose it. QEMU (``postcopy-recover``) and libvirt >= 8.5
(``VIR_MIGRATE_POSTCOPY_RESUME``) can pause such a migration on both
sides and resume it once the path is back. The monitor loop feeds every
look at the job to :func:`observe` and does what :func:`next_action`
says:

* ``pause``: post-copy moved no byte for ``stall_s``: the link is broken
  but nothing has noticed (a silent drop leaves TCP retransmitting for
  minutes); ask the driver to pause the post-copy so that it can be
  resumed.
* ``resume``: the job is paused (by the agent or because QEMU saw the
  socket fail); ask the driver to resume it (it probes the path first and
  says whether it started), at most every :data:`RESUME_RETRY_S`.
* ``give-up``: paused for longer than ``timeout_s``: the step ends
  stranded (:func:`stranded_error`), never as a success nor as a plain
  failure: the VM is paused on the destination and only a resume once the
  link is back saves it.

The guest's stall is counted from the last look that saw bytes move to
the first look after a resume that sees them move again (or the end).

>>> t = Recovery()
>>> t = observe(t, moved_bytes=100, paused=False, now=0.0)
>>> t = observe(t, moved_bytes=100, paused=False, now=6.0)
>>> next_action(t, now=6.0, stall_s=5.0, timeout_s=60.0)
'pause'
>>> t = observe(t, moved_bytes=100, paused=True, now=7.0)
>>> t.pauses, next_action(t, now=7.0, stall_s=5.0, timeout_s=60.0)
(1, 'resume')
>>> t = resumed(t, now=7.0)
>>> t = observe(t, moved_bytes=200, paused=False, now=9.0)
>>> t.pauses, t.paused_s
(1, 9.0)
"""

import dataclasses

#: seconds between two attempts to resume a paused post-copy
RESUME_RETRY_S = 2.0

PAUSE = 'pause'
RESUME = 'resume'
GIVE_UP = 'give-up'


@dataclasses.dataclass(frozen=True)
class Recovery:
    """What the monitor knows of a post-copy job's link.

    :ivar last_bytes: bytes moved at the last look
    :ivar moved_at: when bytes were last seen moving (monitor clock)
    :ivar stalled_since: when the current stall began (the last look
        that saw bytes move before it), None while bytes move
    :ivar paused: the job is paused (the driver says so)
    :ivar stall_paused: the current stall included a pause (failed
        resumes within it count no new pause)
    :ivar pause_requested: the agent asked for a pause during this stall
    :ivar pauses: how many times the job was paused
    :ivar paused_s: seconds the guest stalled in finished stalls
    :ivar resume_tried_at: when a resume was last attempted, or None
    :ivar resumes: resumes that started
    """
    last_bytes: int | None = None
    moved_at: float | None = None
    stalled_since: float | None = None
    paused: bool = False
    stall_paused: bool = False
    pause_requested: bool = False
    pauses: int = 0
    paused_s: float = 0.0
    resume_tried_at: float | None = None
    resumes: int = 0


def observe(rec, moved_bytes, paused, now):
    """The tracker after one look at a post-copy job.

    :param rec: the :class:`Recovery` so far
    :param moved_bytes: bytes the job moved so far (any monotonic count)
    :param paused: the driver shows the post-copy paused
    :param now: the monitor's clock, seconds
    :returns: a new :class:`Recovery`
    """
    moved = rec.last_bytes is None or moved_bytes > rec.last_bytes
    changes = {'last_bytes': max(moved_bytes, rec.last_bytes or 0),
               'paused': paused}
    if paused:
        since = rec.stalled_since
        if since is None:
            since = rec.moved_at if rec.moved_at is not None else now
        changes['stalled_since'] = since
        if not rec.stall_paused:
            changes.update(stall_paused=True, pauses=rec.pauses + 1)
    elif moved:
        if rec.stall_paused:
            changes['paused_s'] = rec.paused_s + (now - rec.stalled_since)
        changes.update(moved_at=now, stalled_since=None,
                       stall_paused=False, pause_requested=False)
    elif rec.stalled_since is None:
        changes['stalled_since'] = rec.moved_at
    return dataclasses.replace(rec, **changes)


def next_action(rec, now, stall_s, timeout_s):
    """What the monitor does next: :data:`PAUSE`, :data:`RESUME`,
    :data:`GIVE_UP` or None.

    :param stall_s: seconds without a byte moved that make a post-copy
        link broken
    :param timeout_s: seconds a paused post-copy may wait for its link
    """
    if rec.paused:
        if now - rec.stalled_since > timeout_s:
            return GIVE_UP
        if (rec.resume_tried_at is None
                or now - rec.resume_tried_at >= RESUME_RETRY_S):
            return RESUME
        return None
    if (rec.stalled_since is not None and not rec.pause_requested
            and now - rec.stalled_since >= stall_s):
        return PAUSE
    if (rec.pause_requested and rec.stalled_since is not None
            and now - rec.stalled_since > timeout_s + stall_s):
        return GIVE_UP  # the pause never took: the link is still gone
    return None


def pause_requested(rec):
    """The tracker once the agent asked the driver to pause."""
    return dataclasses.replace(rec, pause_requested=True)


def resume_tried(rec, now, started):
    """The tracker after an attempt to resume at ``now``.

    :param started: the driver started a resume
    """
    rec = dataclasses.replace(rec, resume_tried_at=now)
    return resumed(rec, now) if started else rec


def resumed(rec, now):
    """The tracker once a resume started: the job is no longer paused
    (the stall lasts until bytes move again)."""
    return dataclasses.replace(rec, paused=False, resumes=rec.resumes + 1,
                               resume_tried_at=now)


def stall_total_s(rec, now):
    """Seconds the guest stalled so far, the running stall included."""
    running = (now - rec.stalled_since
               if rec.stalled_since is not None and rec.stall_paused
               else 0.0)
    return rec.paused_s + running


def stats_of(rec, now):
    """The Result statistics of a post-copy job's recoveries.

    >>> stats_of(Recovery(pauses=1, paused_s=12.3456), now=0.0)
    {'postcopy_pauses': 1, 'postcopy_paused_s': 12.346}
    """
    return {'postcopy_pauses': rec.pauses,
            'postcopy_paused_s': round(stall_total_s(rec, now), 3)}


def stranded_error(vm, source, destination, waited_s):
    """The error of a step whose post-copy link never came back.

    >>> print(stranded_error('vm1', 'a', 'b', 30.0))  # doctest: +ELLIPSIS
    post-copy of vm1 from a to b paused for 30.0 s: the link never came \
back. ...
    """
    return (f'post-copy of {vm} from {source} to {destination} paused for '
            f'{waited_s:.1f} s: the link never came back. Its memory is '
            f'split: the VM is paused on {destination} (its CPU and the '
            f'pages already moved) and the pages not yet moved are only on '
            f'{source}. Restore the link between {source} and '
            f'{destination} and resume the migration from {source} (virsh '
            f'migrate --postcopy --postcopy-resume), or the VM is lost. '
            f'Not re-planned.')
