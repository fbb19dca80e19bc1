"""Persistence of the conductor: plans, steps and the periodic lease.

:mod:`.models` declares the tables, :mod:`.api` is the only module that
opens sessions, :mod:`.migration` applies the alembic scripts shipped in
``migrations/``.
"""
