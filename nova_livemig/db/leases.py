"""Fenced leases in the database: compare and set on ``leases.epoch``.

A lease row names its holder, the epoch time it expires at and an
``epoch``, the fencing token: a number that grows by one every time the
lease is granted anew (:func:`acquire`), so two holders never share one.
:func:`renew` and :func:`release` change the row only while it still
carries the caller's holder *and* epoch; once someone took over, the old
holder's statements match no row and it learns it was fenced.

Times are epoch seconds from the caller's clock: the conductors sharing a
lease need clocks kept in step (NTP), as for any heartbeat in OpenStack.
Every function runs one short transaction on ``engine``.

:func:`acquire` grants the lease when no row exists, when the row has
expired, or when the row names the same holder (the holder's previous
run, killed before it could release: each conductor has its own
``[conductor] host``).
"""

import dataclasses

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from nova_livemig.db import models

_LEASE = models.Lease.__table__


@dataclasses.dataclass(frozen=True)
class Grant:
    """A lease held: its fencing token and when it expires."""

    holder: str
    epoch: int
    expires_at: float


def read(engine, name):
    """The lease's row as a :class:`Grant` (expired or not), or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(
            _LEASE.c.holder, _LEASE.c.epoch, _LEASE.c.expires_at).where(
            _LEASE.c.name == name)).first()
    return None if row is None else Grant(row.holder, int(row.epoch),
                                          float(row.expires_at))


def acquire(engine, name, holder, duration_s, now):
    """Take the lease ``name`` for ``holder`` until ``now + duration_s``,
    with a new epoch.

    :returns: the :class:`Grant`, or None while someone else holds it
    """
    expires_at = now + duration_s
    taken = sa.or_(_LEASE.c.expires_at < now, _LEASE.c.holder == holder)
    try:
        with engine.begin() as conn:
            changed = conn.execute(
                sa.update(_LEASE).where(_LEASE.c.name == name, taken).values(
                    holder=holder, epoch=_LEASE.c.epoch + 1,
                    expires_at=expires_at)).rowcount
            if changed == 1:
                epoch = conn.scalar(sa.select(_LEASE.c.epoch).where(
                    _LEASE.c.name == name, _LEASE.c.holder == holder))
                return Grant(holder, int(epoch), expires_at)
            exists = conn.scalar(sa.select(sa.func.count()).select_from(
                _LEASE).where(_LEASE.c.name == name))
            if exists:
                return None
            conn.execute(sa.insert(_LEASE).values(
                name=name, holder=holder, epoch=1, expires_at=expires_at))
        return Grant(holder, 1, expires_at)
    except (sa_exc.IntegrityError, sa_exc.OperationalError) as err:
        if _lost_race(err):
            return None  # inserted meanwhile by another holder
        raise


#: the errors of a row inserted at the same time by someone else: a
#: duplicate key, or the deadlock MySQL reports for it (1213), or
#: PostgreSQL's (40P01)
_DEADLOCKS = (1213, '40P01')


def _lost_race(err):
    if isinstance(err, sa_exc.IntegrityError):
        return True
    orig = err.orig
    code = getattr(orig, 'pgcode', None) or (
        orig.args[0] if getattr(orig, 'args', None) else None)
    return code in _DEADLOCKS


def renew(engine, name, grant, duration_s, now):
    """Extend ``grant`` to ``now + duration_s`` if it is still the row's
    (same holder and epoch: nobody took over meanwhile, even after it
    expired).

    :returns: the renewed :class:`Grant`, or None when fenced
    """
    expires_at = now + duration_s
    with engine.begin() as conn:
        changed = conn.execute(sa.update(_LEASE).where(
            _LEASE.c.name == name, _LEASE.c.holder == grant.holder,
            _LEASE.c.epoch == grant.epoch).values(
            expires_at=expires_at)).rowcount
    if changed != 1:
        return None
    return dataclasses.replace(grant, expires_at=expires_at)


def release(engine, name, grant):
    """Give ``grant`` up: the row expires now (and keeps its epoch, so the
    next holder's is higher). No effect once someone else took over.

    :returns: True when the lease was still ``grant``'s
    """
    with engine.begin() as conn:
        return conn.execute(sa.update(_LEASE).where(
            _LEASE.c.name == name, _LEASE.c.holder == grant.holder,
            _LEASE.c.epoch == grant.epoch).values(
            expires_at=0.0)).rowcount == 1


def still_held(name, epoch):
    """A SQL condition true while the lease ``name`` carries ``epoch``:
    add it to the ``WHERE`` of a write so that a fenced holder's write
    changes nothing (``sa.update(...).where(..., still_held(n, e))``)."""
    return sa.exists().where(_LEASE.c.name == name,
                             _LEASE.c.epoch == epoch)
