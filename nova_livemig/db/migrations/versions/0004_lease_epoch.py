"""Fenced leases: ``leases.epoch``, a number that grows by one each time a
lease changes hands. The conductor lease (:mod:`nova_livemig.conductor.lease`)
hands it out as the fencing token: whoever holds a higher epoch took over,
and a holder whose epoch is no longer the row's has lost the lease.

On MySQL and MariaDB, every time column becomes a DOUBLE: their FLOAT
has 24 bits of mantissa and rounded epoch times to 128 s.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('leases') as batch:
        batch.add_column(sa.Column('epoch', sa.BigInteger, nullable=False,
                                   server_default='0'))
    if op.get_bind().dialect.name in ('mysql', 'mariadb'):
        _double_times()


#: every time column before this revision, and whether it may be NULL
_TIMES = {
    'plans': [('created_at', False), ('updated_at', False),
              ('started_at', True), ('finished_at', True)],
    'steps': [('planned_start_s', False), ('planned_end_s', False),
              ('deadline_s', True), ('started_at', True),
              ('finished_at', True), ('last_news_at', True)],
    'leases': [('expires_at', False)],
    'periodic_runs': [('last_run_at', False)],
    'migration_records': [('finished_at', False)],
}


def _double_times():
    """MySQL's FLOAT is single precision (an epoch time to 128 s): every
    time column becomes a DOUBLE there (:data:`models.SECONDS`)."""
    for table, columns in _TIMES.items():
        for column, nullable in columns:
            op.alter_column(table, column, type_=sa.Double(),
                            existing_type=sa.Float(),
                            existing_nullable=nullable)
