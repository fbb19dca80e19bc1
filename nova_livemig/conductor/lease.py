"""The conductor lease: one active conductor, the others on standby.

Every conductor runs a :class:`Leadership`. A standby polls the
``conductor`` lease (:mod:`nova_livemig.db.leases`) and takes it once it
has expired; it then calls ``on_elected(epoch)``, which starts the
runner, the periodic and refit loops and the RPC server. The active one
renews the lease every ``[conductor] lease_renew_interval_s``; the moment
a renewal finds someone else's epoch, or the lease runs out (by this
process's monotonic clock) without a renewal getting through, it is
fenced: ``on_fenced(epoch)`` stops all of that before anything else
happens, and it goes back to standby.

The epoch grows at every takeover: it is the fencing token that writes
and messages may carry (:func:`nova_livemig.db.leases.still_held`).

:meth:`Leadership.step` is one pass of the loop, with no thread: the
tests drive it with their own clocks.
"""

import threading
import time

from oslo_log import log as logging

from nova_livemig import exception
from nova_livemig.db import leases

LOG = logging.getLogger(__name__)

#: the name of the lease the active conductor holds
NAME = 'conductor'


def check_timing(duration_s, renew_interval_s):
    """:raises InvalidInput: when a renewal could not get through twice
    within the lease time"""
    if renew_interval_s * 2 > duration_s:
        raise exception.InvalidInput(
            '[conductor] lease_renew_interval_s', renew_interval_s,
            f'at most half of [conductor] lease_duration_s ({duration_s})')


class Leadership:
    """Holds the conductor lease or waits for it.

    :param engine: the SQLAlchemy engine of the database
    :param holder: this conductor's name (``[conductor] host``)
    :param duration_s: how long a grant or renewal holds
    :param renew_interval_s: seconds between two renewals, and between
        two polls of a standby
    :param on_elected: ``on_elected(epoch)``, called once the lease is
        taken, before it is renewed
    :param on_fenced: ``on_fenced(epoch)``, called once it is lost (or
        released by :meth:`stop`)
    :param clock: wall clock (epoch s) written into the lease
    :param monotonic: this process's clock for its own deadline
    """

    def __init__(self, engine, holder, duration_s, renew_interval_s,
                 on_elected, on_fenced, clock=time.time,
                 monotonic=time.monotonic, name=NAME):
        check_timing(duration_s, renew_interval_s)
        self.engine = engine
        self.holder = holder
        self.name = name
        self.duration_s = duration_s
        self.renew_interval_s = renew_interval_s
        self.on_elected = on_elected
        self.on_fenced = on_fenced
        self.clock = clock
        self.monotonic = monotonic
        self.grant = None
        #: this process's monotonic time at which its grant runs out
        self.valid_until = None
        self._stop = threading.Event()
        self._thread = None

    @property
    def active(self):
        return self.grant is not None

    def holds(self):
        """True while active and inside the lease by this process's clock:
        the loops ask before each pass (after a pause of the process, the
        lease may have run out before the renewal thread could notice)."""
        valid_until = self.valid_until
        return (self.grant is not None and valid_until is not None
                and self.monotonic() < valid_until)

    @property
    def epoch(self):
        """The fencing token while active, else None."""
        return None if self.grant is None else self.grant.epoch

    def step(self):
        """One pass: take, renew or give up the lease.

        :returns: seconds until the next pass is due
        """
        started = self.monotonic()
        if self.grant is None:
            return self._try_acquire(started)
        if started >= self.valid_until:
            self._fence('the lease ran out before a renewal got through')
            return 0.0
        try:
            grant = leases.renew(self.engine, self.name, self.grant,
                                 self.duration_s, self.clock())
        except Exception as err:  # noqa: BLE001 - the database is down
            LOG.warning('cannot renew the conductor lease (epoch %d): %s',
                        self.grant.epoch, err)
            return max(min(self.renew_interval_s / 4.0,
                           self.valid_until - self.monotonic()), 0.0)
        if grant is None:
            self._fence('another conductor took the lease over')
            return 0.0
        self.grant = grant
        self.valid_until = started + self.duration_s
        return self.renew_interval_s

    def _try_acquire(self, started):
        try:
            grant = leases.acquire(self.engine, self.name, self.holder,
                                   self.duration_s, self.clock())
        except Exception as err:  # noqa: BLE001 - the database is down
            LOG.warning('cannot read the conductor lease: %s', err)
            return self.renew_interval_s
        if grant is None:
            return self.renew_interval_s
        self.grant = grant
        self.valid_until = started + self.duration_s
        LOG.info('conductor %s is active (lease epoch %d)', self.holder,
                 grant.epoch)
        try:
            self.on_elected(grant.epoch)
        except Exception:
            LOG.exception('starting as the active conductor failed')
            self._fence('its start failed', release=True)
            raise
        return self.renew_interval_s

    def _fence(self, why, release=False):
        grant, self.grant = self.grant, None
        LOG.warning('conductor %s stops as active (lease epoch %d): %s',
                    self.holder, grant.epoch, why)
        try:
            self.on_fenced(grant.epoch)
        finally:
            if release:
                try:
                    leases.release(self.engine, self.name, grant)
                except Exception as err:  # noqa: BLE001 - it expires
                    LOG.warning('cannot release the conductor lease: %s',
                                err)

    def start(self):
        """Take the lease now if it is free, then keep at it in a thread.

        :returns: True when this conductor is active
        """
        self._stop.clear()
        wait_s = self.step()
        self._thread = threading.Thread(target=self._loop, args=(wait_s,),
                                        name='livemig-lease', daemon=True)
        self._thread.start()
        return self.active

    def _loop(self, wait_s):
        while not self._stop.wait(wait_s):
            try:
                wait_s = self.step()
            except Exception:  # noqa: BLE001 - keep the thread alive
                LOG.exception('conductor lease pass failed')
                wait_s = self.renew_interval_s

    def stop(self):
        """Stop the loop; an active conductor stops and releases the lease
        so that a standby takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self.grant is not None:
            self._fence('it is stopping', release=True)
