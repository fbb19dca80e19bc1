"""Persistence of the conductor: plans, steps and the periodic lease.

:mod:`.models` declares the tables, :mod:`.api` is the only module that
opens sessions, :mod:`.leases` holds the compare-and-set statements of
the fenced leases, :mod:`.migration` applies the alembic scripts shipped
in ``migrations/`` under a lock.
"""
