"""Initial schema: plans, steps, leases, periodic runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'plans',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('policy', sa.String(64), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('origin', sa.String(64), nullable=False),
        sa.Column('request', sa.JSON, nullable=False),
        sa.Column('document', sa.JSON, nullable=False),
        sa.Column('error', sa.Text, nullable=True),
        sa.Column('created_at', sa.Float, nullable=False),
        sa.Column('updated_at', sa.Float, nullable=False),
        sa.Column('started_at', sa.Float, nullable=True),
        sa.Column('finished_at', sa.Float, nullable=True))
    op.create_table(
        'steps',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('plan_id', sa.String(36), sa.ForeignKey('plans.id'),
                  nullable=False),
        sa.Column('seq', sa.Integer, nullable=False),
        sa.Column('attempt', sa.Integer, nullable=False),
        sa.Column('replaces', sa.String(36), nullable=True),
        sa.Column('vm', sa.String(255), nullable=False),
        sa.Column('source', sa.String(255), nullable=False),
        sa.Column('destination', sa.String(255), nullable=False),
        sa.Column('algorithm', sa.String(32), nullable=False),
        sa.Column('predicted', sa.JSON, nullable=False),
        sa.Column('path', sa.JSON, nullable=False),
        sa.Column('planned_start_s', sa.Float, nullable=False),
        sa.Column('planned_end_s', sa.Float, nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('host', sa.String(255), nullable=True),
        sa.Column('deadline_s', sa.Float, nullable=True),
        sa.Column('started_at', sa.Float, nullable=True),
        sa.Column('finished_at', sa.Float, nullable=True),
        sa.Column('last_news_at', sa.Float, nullable=True),
        sa.Column('progress', sa.JSON, nullable=True),
        sa.Column('result', sa.JSON, nullable=True),
        sa.Column('error', sa.Text, nullable=True))
    op.create_index('ix_steps_plan_id_seq', 'steps', ['plan_id', 'seq'])
    op.create_index('ix_steps_state', 'steps', ['state'])
    op.create_table(
        'leases',
        sa.Column('name', sa.String(64), primary_key=True),
        sa.Column('holder', sa.String(255), nullable=False),
        sa.Column('expires_at', sa.Float, nullable=False))
    op.create_table(
        'periodic_runs',
        sa.Column('policy', sa.String(64), primary_key=True),
        sa.Column('cron', sa.String(255), nullable=False),
        sa.Column('last_run_at', sa.Float, nullable=False),
        sa.Column('last_plan_id', sa.String(36), nullable=True))
