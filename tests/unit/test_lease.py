"""The conductor lease: compare and set on the epoch (fencing token) in the
database, and the active/standby loop driven by a hand-moved clock."""

import random
import threading

import pytest
import sqlalchemy as sa

from nova_livemig import exception
from nova_livemig.conductor import lease
from nova_livemig.db import leases
from nova_livemig.db import models
from tests import fixtures


def test_first_taker_gets_epoch_1_and_others_wait_until_it_expires(db):
    a = leases.acquire(db.engine, 'conductor', 'a', 10, now=100.0)
    assert (a.holder, a.epoch, a.expires_at) == ('a', 1, 110.0)
    assert leases.acquire(db.engine, 'conductor', 'b', 10, now=109.0) is None
    b = leases.acquire(db.engine, 'conductor', 'b', 10, now=110.5)
    assert (b.holder, b.epoch) == ('b', 2)
    assert leases.read(db.engine, 'conductor') == b


def test_a_holder_that_was_taken_over_is_fenced(db):
    a = leases.acquire(db.engine, 'conductor', 'a', 10, now=100.0)
    b = leases.acquire(db.engine, 'conductor', 'b', 10, now=111.0)
    assert leases.renew(db.engine, 'conductor', a, 10, now=112.0) is None
    assert not leases.release(db.engine, 'conductor', a)
    assert leases.read(db.engine, 'conductor') == b


def test_an_expired_lease_nobody_took_renews_with_the_same_epoch(db):
    a = leases.acquire(db.engine, 'conductor', 'a', 10, now=100.0)
    renewed = leases.renew(db.engine, 'conductor', a, 10, now=130.0)
    assert (renewed.epoch, renewed.expires_at) == (1, 140.0)


def test_release_lets_the_next_one_in_at_once_with_a_higher_epoch(db):
    a = leases.acquire(db.engine, 'conductor', 'a', 10, now=100.0)
    assert leases.release(db.engine, 'conductor', a)
    b = leases.acquire(db.engine, 'conductor', 'b', 10, now=101.0)
    assert b.epoch == 2


def test_the_same_holder_restarted_takes_its_lease_back_as_a_new_epoch(db):
    leases.acquire(db.engine, 'conductor', 'a', 10, now=100.0)
    again = leases.acquire(db.engine, 'conductor', 'a', 10, now=101.0)
    assert again.epoch == 2


def test_still_held_stops_a_fenced_holders_write(db):
    plan = db.create_plan('drain', {}, {}, [], 'executing')
    a = leases.acquire(db.engine, 'conductor', 'a', 10, now=100.0)
    leases.acquire(db.engine, 'conductor', 'b', 10, now=120.0)

    def write(epoch):
        with db.engine.begin() as conn:
            return conn.execute(sa.update(models.Plan).where(
                models.Plan.id == plan['id'],
                leases.still_held('conductor', epoch)).values(
                state='failed')).rowcount
    assert write(a.epoch) == 0
    assert db.get_plan(plan['id'])['state'] == 'executing'
    assert write(2) == 1


def test_threads_racing_for_a_free_lease_give_it_to_one(db):
    won, barrier = [], threading.Barrier(8)

    def take(name):
        barrier.wait()
        grant = leases.acquire(db.engine, 'conductor', name, 10, now=100.0)
        if grant is not None:
            won.append(grant)
    threads = [threading.Thread(target=take, args=(f'c{i}',))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [g.epoch for g in won] == [1]


def test_renewing_every_half_lease_is_refused_naming_the_option():
    with pytest.raises(exception.InvalidInput,
                       match=r'lease_renew_interval_s.*lease_duration_s'):
        lease.check_timing(10, 6)


# The loop, with a clock moved by hand ---------------------------------------

class Member:
    """One conductor's :class:`lease.Leadership` and what it was told."""

    def __init__(self, db, name, clock, duration_s=10, renew_s=3):
        self.events = []
        self.leadership = lease.Leadership(
            db.engine, name, duration_s, renew_s,
            lambda epoch: self.events.append(('elected', epoch)),
            lambda epoch: self.events.append(('fenced', epoch)),
            clock=clock, monotonic=clock)

    def believes_active(self, now):
        lead = self.leadership
        return lead.active and now < lead.valid_until


def test_standby_takes_over_after_the_active_stops_renewing(db, clock):
    a, b = Member(db, 'a', clock), Member(db, 'b', clock)
    a.leadership.step()
    b.leadership.step()
    assert (a.events, b.events) == ([('elected', 1)], [])
    clock.now += 10.5  # a hangs: no renewal
    b.leadership.step()
    assert b.events == [('elected', 2)]
    a.leadership.step()  # a wakes up: fenced before anything else
    assert a.events == [('elected', 1), ('fenced', 1)]


def test_active_stays_while_it_renews(db, clock):
    a, b = Member(db, 'a', clock), Member(db, 'b', clock)
    a.leadership.step()
    for _ in range(10):
        clock.now += 3
        a.leadership.step()
        b.leadership.step()
    assert (a.events, b.events) == ([('elected', 1)], [])


def test_active_fences_itself_when_the_database_is_gone(db, clock):
    a = Member(db, 'a', clock)
    a.leadership.step()
    good = a.leadership.engine
    a.leadership.engine = sa.create_engine('sqlite:////nonexistent/dir/x')
    clock.now += 5
    a.leadership.step()  # renewal fails: still inside its lease
    assert a.leadership.active
    clock.now += 5
    a.leadership.step()
    assert not a.leadership.active and a.events[-1] == ('fenced', 1)
    a.leadership.engine = good
    a.leadership.step()  # nobody else took it: a new epoch
    assert a.events[-1] == ('elected', 2)


def test_stop_releases_so_the_standby_needs_no_wait(db, clock):
    a, b = Member(db, 'a', clock), Member(db, 'b', clock)
    assert a.leadership.start()
    a.leadership.stop()
    assert a.events == [('elected', 1), ('fenced', 1)]
    b.leadership.step()
    assert b.events == [('elected', 2)]


@pytest.mark.parametrize('seed', range(5))
def test_never_two_believe_they_are_active(db, seed):
    """Three conductors stepping at random, some pausing for longer than
    the lease: at no instant do two of them believe they are active, and
    every election has a higher epoch than the one before."""
    rng = random.Random(seed)
    clock = fixtures.Clock()
    members = [Member(db, f'c{i}', clock) for i in range(3)]
    for _ in range(400):
        clock.now += rng.choice((0.5, 1.0, 2.0, 4.0, 11.0))
        for m in rng.sample(members, rng.randint(1, 3)):
            m.leadership.step()
        believers = [m for m in members if m.believes_active(clock.now)]
        assert len(believers) <= 1
    elected = sorted((e[1], i) for i, m in enumerate(members)
                     for e in m.events if e[0] == 'elected')
    epochs = [e for e, _ in elected]
    assert len(epochs) > 3 and epochs == sorted(set(epochs))
