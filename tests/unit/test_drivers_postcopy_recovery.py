"""The pure decisions of a post-copy whose link breaks
(:mod:`nova_livemig.drivers.postcopy_recovery`), as scenarios: a list of
looks ``(now, bytes moved, paused)``, the actions taken."""

import pytest

from nova_livemig.drivers import postcopy_recovery as rc

STALL_S, TIMEOUT_S = 5.0, 60.0


def play(looks, resume_starts=True):
    """Feed ``looks`` to the tracker as the agent does; returns the
    tracker and ``[(now, action)]``. A pause shows from the next look; a
    resume starts when ``resume_starts`` says so."""
    rec, actions, paused = rc.Recovery(), [], False
    for now, moved, link_paused in looks:
        rec = rc.observe(rec, moved, link_paused or paused, now)
        action = rc.next_action(rec, now, STALL_S, TIMEOUT_S)
        if action == rc.PAUSE:
            rec, paused = rc.pause_requested(rec), True
        elif action == rc.RESUME:
            started = resume_starts(now) if callable(resume_starts) \
                else resume_starts
            rec = rc.resume_tried(rec, now, started)
            paused = paused and not started
        if action:
            actions.append((now, action))
    return rec, actions


def test_bytes_that_keep_moving_need_nothing():
    rec, actions = play([(t, 100 * t, False) for t in range(30)])
    assert actions == [] and rec.pauses == 0
    assert rc.stats_of(rec, 30.0) == {'postcopy_pauses': 0,
                                      'postcopy_paused_s': 0.0}


def test_a_short_lull_is_no_stall():
    looks = [(0, 0, False), (1, 10, False), (4, 10, False), (5, 20, False)]
    assert play(looks)[1] == []


def test_a_silent_drop_is_paused_then_resumed_once_the_link_is_back():
    # bytes stop at t=2; the link is back at t=20
    looks = [(t, min(t, 2) * 10 if t < 20 else 10 * t, False)
             for t in range(0, 30)]
    rec, actions = play(looks, resume_starts=lambda now: now >= 20)
    kinds = [a for _, a in actions]
    assert kinds[0] == rc.PAUSE and actions[0][0] == 7  # 2 + STALL_S
    assert set(kinds[1:]) == {rc.RESUME}
    assert rec.pauses == 1 and rec.resumes == 1
    # the guest stalled from t=2 (last bytes) to t=21 (bytes again)
    assert rec.paused_s == pytest.approx(19.0)


def test_qemu_seeing_the_break_itself_needs_no_pause():
    looks = [(0, 0, False), (1, 10, False), (2, 10, True), (3, 10, True),
             (4, 30, False)]
    rec, actions = play(looks)
    assert [a for _, a in actions] == [rc.RESUME]
    assert rec.pauses == 1 and rec.paused_s == pytest.approx(3.0)


def test_failed_resumes_are_one_pause_retried_at_most_every_retry_s():
    looks = [(t / 2, 0 if t else 0, t > 0) for t in range(0, 21)]
    rec, actions = play(looks, resume_starts=False)
    assert rec.pauses == 1
    times = [now for now, a in actions if a == rc.RESUME]
    assert all(b - a >= rc.RESUME_RETRY_S for a, b in zip(times, times[1:]))


def test_a_link_that_never_returns_gives_up_after_the_timeout():
    looks = [(t, 10 if t else 0, t >= 3) for t in range(0, 100)]
    rec, actions = play(looks, resume_starts=False)
    give_up = [now for now, a in actions if a == rc.GIVE_UP]
    # stalled since t=1 (the last look that saw bytes move); given up at
    # the first look more than TIMEOUT_S later
    assert give_up and give_up[0] == pytest.approx(1 + TIMEOUT_S + 1)
    assert rc.stats_of(rec, 61.0)['postcopy_paused_s'] == 60.0


def test_a_pause_that_never_shows_still_gives_up():
    # the driver accepted the pause but the job never shows paused
    looks = [(t, 10 if t else 0, False) for t in range(0, 100)]
    rec, actions = play([(t, m, False) for t, m, _ in looks])
    kinds = [a for _, a in actions]
    assert kinds[0] == rc.PAUSE
    assert rc.GIVE_UP in kinds


def test_the_stranded_error_names_vm_hosts_and_memory():
    error = rc.stranded_error('vm7', 'cmp1', 'cmp2', 42.0)
    for words in ('vm7', 'cmp1 to cmp2', '42.0 s', 'split',
                  'paused on cmp2', 'only on cmp1', '--postcopy-resume',
                  'lost', 'Not re-planned'):
        assert words in error, words
