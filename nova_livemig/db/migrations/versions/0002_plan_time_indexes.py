"""Indexes on plans.created_at (``plan list`` pages in that order) and
plans.finished_at (retention deletes by it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_plans_created_at', 'plans', ['created_at'])
    op.create_index('ix_plans_finished_at', 'plans', ['finished_at'])
