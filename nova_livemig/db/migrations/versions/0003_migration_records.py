"""Migration history: the ``migration_records`` table (one history record
per finished migration) and ``steps.before`` (what the planner knew of
the VM when it planned the step).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('steps', sa.Column('before', sa.JSON, nullable=True))
    op.create_table(
        'migration_records',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('step_id', sa.String(36), nullable=False),
        sa.Column('vm', sa.String(255), nullable=False),
        sa.Column('source', sa.String(255), nullable=False),
        sa.Column('destination', sa.String(255), nullable=False),
        sa.Column('algorithm', sa.String(32), nullable=False),
        sa.Column('finished_at', sa.Float, nullable=False),
        sa.Column('record', sa.JSON, nullable=False),
        sa.UniqueConstraint('step_id', name='uq_migration_records_step_id'))
    op.create_index('ix_migration_records_finished_at', 'migration_records',
                    ['finished_at'])
