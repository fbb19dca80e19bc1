"""SQLAlchemy models of plans, their steps, leases and migration records.

The schema is owned by the alembic scripts in ``migrations/versions``; a
unit test checks that these models and the scripts agree.
"""

import sqlalchemy as sa
from sqlalchemy import orm

#: Plan states. ``planned`` plans wait for ``execute``; ``dry-run`` plans
#: are only recorded.
PLAN_STATES = ('planned', 'dry-run', 'executing', 'aborting', 'completed',
               'failed', 'aborted')
PLAN_DONE = ('dry-run', 'completed', 'failed', 'aborted')
#: Plan states whose plans retention may delete: the finished ones.
PLAN_PURGEABLE = PLAN_DONE
#: Step states; each says where the VM is. ``completed``: on the
#: destination; ``failed``/``aborted``: the migration ran and stopped, the
#: VM is on ``host`` (the source); ``skipped``: never started (plan
#: aborted, destination gone, VM already moved). A failed or skipped step
#: may be followed by a step that ``replaces`` it (a new attempt).
STEP_STATES = ('pending', 'running', 'completed', 'failed', 'aborted',
               'skipped')
STEP_DONE = ('completed', 'failed', 'aborted', 'skipped')
#: the type of every time column (epoch seconds, durations): a double.
#: MySQL's and MariaDB's FLOAT has 24 bits of mantissa, which round an
#: epoch time to 128 s; elsewhere FLOAT is already a double.
SECONDS = sa.Float().with_variant(sa.Double(), 'mysql', 'mariadb')


class Base(orm.DeclarativeBase):
    pass


class Plan(Base):
    __tablename__ = 'plans'
    __table_args__ = (
        sa.Index('ix_plans_created_at', 'created_at'),
        sa.Index('ix_plans_finished_at', 'finished_at'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    policy = sa.Column(sa.String(64), nullable=False)
    state = sa.Column(sa.String(16), nullable=False)
    origin = sa.Column(sa.String(64), nullable=False, default='api')
    request = sa.Column(sa.JSON, nullable=False)
    document = sa.Column(sa.JSON, nullable=False)
    error = sa.Column(sa.Text, nullable=True)
    created_at = sa.Column(SECONDS, nullable=False)
    updated_at = sa.Column(SECONDS, nullable=False)
    started_at = sa.Column(SECONDS, nullable=True)
    finished_at = sa.Column(SECONDS, nullable=True)

    steps = orm.relationship('Step', back_populates='plan',
                             order_by='Step.seq',
                             cascade='all, delete-orphan')


class Step(Base):
    __tablename__ = 'steps'
    __table_args__ = (
        sa.Index('ix_steps_plan_id_seq', 'plan_id', 'seq'),
        sa.Index('ix_steps_state', 'state'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    plan_id = sa.Column(sa.String(36), sa.ForeignKey('plans.id'),
                        nullable=False)
    seq = sa.Column(sa.Integer, nullable=False)
    attempt = sa.Column(sa.Integer, nullable=False, default=1)
    replaces = sa.Column(sa.String(36), nullable=True)
    vm = sa.Column(sa.String(255), nullable=False)
    source = sa.Column(sa.String(255), nullable=False)
    destination = sa.Column(sa.String(255), nullable=False)
    algorithm = sa.Column(sa.String(32), nullable=False)
    predicted = sa.Column(sa.JSON, nullable=False)
    path = sa.Column(sa.JSON, nullable=False, default=list)
    planned_start_s = sa.Column(SECONDS, nullable=False, default=0.0)
    planned_end_s = sa.Column(SECONDS, nullable=False, default=0.0)
    state = sa.Column(sa.String(16), nullable=False)
    host = sa.Column(sa.String(255), nullable=True)
    deadline_s = sa.Column(SECONDS, nullable=True)
    started_at = sa.Column(SECONDS, nullable=True)
    finished_at = sa.Column(SECONDS, nullable=True)
    last_news_at = sa.Column(SECONDS, nullable=True)
    progress = sa.Column(sa.JSON, nullable=True)
    result = sa.Column(sa.JSON, nullable=True)
    error = sa.Column(sa.Text, nullable=True)
    #: what the planner knew of the VM when it planned the step: the
    #: ``before`` of a history record (:mod:`nova_livemig.history.record`),
    #: or None (steps of older versions)
    before = sa.Column(sa.JSON, nullable=True)

    plan = orm.relationship('Plan', back_populates='steps')


class Lease(Base):
    """A named lease: one holder until ``expires_at`` (epoch s)."""
    __tablename__ = 'leases'

    name = sa.Column(sa.String(64), primary_key=True)
    holder = sa.Column(sa.String(255), nullable=False)
    expires_at = sa.Column(SECONDS, nullable=False)
    #: grows by one each time the lease changes hands: the fencing token
    #: (:mod:`nova_livemig.conductor.lease`)
    epoch = sa.Column(sa.BigInteger, nullable=False, default=0,
                      server_default='0')


class PeriodicRun(Base):
    """The last time each scheduled policy fired, so that a restarted or
    new lease holder neither repeats nor skips a run."""
    __tablename__ = 'periodic_runs'

    policy = sa.Column(sa.String(64), primary_key=True)
    cron = sa.Column(sa.String(255), nullable=False)
    last_run_at = sa.Column(SECONDS, nullable=False)
    last_plan_id = sa.Column(sa.String(36), nullable=True)


class MigrationRecord(Base):
    """One finished migration (a step that ran), as a history record
    (:mod:`nova_livemig.history.record`): ``record`` holds its JSON form;
    the other columns repeat what queries need. Kept when the plan is
    deleted: the history outlives plan retention."""
    __tablename__ = 'migration_records'
    __table_args__ = (
        sa.UniqueConstraint('step_id',
                            name='uq_migration_records_step_id'),
        sa.Index('ix_migration_records_finished_at', 'finished_at'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    step_id = sa.Column(sa.String(36), nullable=False)
    vm = sa.Column(sa.String(255), nullable=False)
    source = sa.Column(sa.String(255), nullable=False)
    destination = sa.Column(sa.String(255), nullable=False)
    algorithm = sa.Column(sa.String(32), nullable=False)
    finished_at = sa.Column(SECONDS, nullable=False)
    record = sa.Column(sa.JSON, nullable=False)
