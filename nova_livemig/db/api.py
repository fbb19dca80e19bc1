"""The database API: every query of the conductor, returning plain dicts.

One short session per call, so any thread may call it. State changes that
race (a result arriving while a runner times the step out) go through
:meth:`Database.update_step` with ``expect=`` states: compare and set.
"""

import contextlib
import os
import re
import sys
import time
import urllib.parse
import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

from nova_livemig import exception
from nova_livemig.db import migration
from nova_livemig.db import models

_PLAN_COLUMNS = [c.name for c in models.Plan.__table__.columns]
_STEP_COLUMNS = [c.name for c in models.Step.__table__.columns]
#: what ``plan list`` shows of a plan: every column but its document
_SUMMARY_COLUMNS = [c for c in models.Plan.__table__.columns
                    if c.name != 'document']
#: ids per DELETE statement when purging
_PURGE_BATCH = 500


def _plan_dict(row):
    return {name: getattr(row, name) for name in _PLAN_COLUMNS}


def _step_dict(row):
    return {name: getattr(row, name) for name in _STEP_COLUMNS}


def new_id():
    return str(uuid.uuid4())


#: query parameters of a database URL that may hold a secret
_SECRET_PARAM = re.compile(r'pass|secret|token|key', re.IGNORECASE)
_SECRET_QUERY = re.compile(r'([?&][^=&]*(?:pass|secret|token|key)[^=&]*=)'
                           r'[^&]*', re.IGNORECASE)
#: ``user:password@`` in a URL that SQLAlchemy cannot parse
_USERINFO = re.compile(r'(://[^:/@]*):[^@]*@')


def masked_url(url):
    """``[database] connection`` fit for an error or a log: the password,
    and query parameters that may hold a secret, replaced by ``***``.

    >>> masked_url('mysql+pymysql://livemig:s3cret@db/livemig')
    'mysql+pymysql://livemig:***@db/livemig'
    >>> masked_url('postgresql://livemig@db/livemig?password=s3cret')
    'postgresql://livemig@db/livemig?password=***'
    >>> masked_url('mysql+pymysql//livemig:s3cret@db')
    '<unparsable URL>'
    """
    try:
        parsed = sa.engine.make_url(url)
    except Exception:  # noqa: BLE001 - any parse error
        return '<unparsable URL>'
    return _SECRET_QUERY.sub(r'\1***',
                             parsed.render_as_string(hide_password=True))


def _scrubbed(text, url):
    """``text`` (an error about ``url``) without the URL's secrets."""
    text = _USERINFO.sub(r'\1:***@', text)
    try:
        parsed = sa.engine.make_url(url)
    except Exception:  # noqa: BLE001 - nothing more is known then
        return text
    secrets = [parsed.password] + [
        v for k, v in parsed.query.items() if _SECRET_PARAM.search(k)]
    for secret in secrets:
        for value in (secret if isinstance(secret, tuple) else (secret,)):
            if value:
                for shown in (str(value), urllib.parse.quote(str(value))):
                    text = text.replace(shown, '***')
    return text


def _sqlite_file(url):
    """The file of an SQLite URL, or None (memory, URI filenames, other
    databases)."""
    if not url.drivername.startswith('sqlite'):
        return None
    if url.database in (None, '', ':memory:') or 'uri' in url.query:
        return None
    return url.database


def _create_private(path):
    """Create an SQLite file readable by its owner only (mode 0600), which
    SQLite would create with the umask's mode (world-readable under the
    usual 022); its journal and WAL files take the file's mode. An
    existing file is left as it is; a missing directory (never created: a
    typo makes no directory tree) or a refusal is left for SQLite to
    report when the database is opened."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return
    os.close(fd)


class Database:
    """:param url: an SQLAlchemy URL (``[database] connection``)"""

    def __init__(self, url):
        try:
            kwargs = {}
            if url.startswith('sqlite'):
                kwargs['connect_args'] = {'timeout': 30,
                                          'check_same_thread': False}
            else:
                # a server restart or its idle timeout (MariaDB's
                # wait_timeout) closes pooled connections: test each one
                # taken from the pool, and renew them hourly
                kwargs.update(pool_pre_ping=True, pool_recycle=3600)
            self.engine = sa.create_engine(url, **kwargs)
        except (sa_exc.ArgumentError, ImportError) as err:
            # neither the value nor the error may show the password
            hint = ('; pip install "nova-livemig[mysql]" or '
                    '"nova-livemig[postgresql]"'
                    if isinstance(err, ImportError) else '')
            raise exception.InvalidInput(
                '[database] connection', masked_url(url),
                'an SQLAlchemy URL with an installed driver '
                f'({_scrubbed(str(err), url)}{hint})') from None
        path = _sqlite_file(self.engine.url)
        if path is not None:
            _create_private(path)
        if url.startswith('sqlite'):
            sa.event.listen(self.engine, 'connect', _sqlite_pragmas)
        self._session = orm.sessionmaker(self.engine, expire_on_commit=False)

    def sync(self):
        """Apply the schema migrations; returns the revision."""
        with self._opened():
            return migration.sync(self.engine)

    def check(self):
        with self._opened():
            migration.check(self.engine)

    @contextlib.contextmanager
    def _opened(self):
        try:
            yield
        except sa_exc.OperationalError as err:
            url = self.engine.url.render_as_string(hide_password=False)
            raise exception.InvalidInput(
                '[database] connection', masked_url(url),
                'a database that can be opened '
                f'({_scrubbed(str(err.orig), url)})') from None

    # Plans ---------------------------------------------------------------

    def create_plan(self, policy, request, document, steps, state,
                    origin='api'):
        """Insert a plan and its steps in one transaction.

        :param steps: dicts of :class:`~.models.Step` columns (no ids)
        :returns: the plan dict with its steps
        """
        now = time.time()
        plan_id = new_id()
        with self._session.begin() as session:
            plan = models.Plan(id=plan_id, policy=policy, state=state,
                               origin=origin, request=request,
                               document=document, created_at=now,
                               updated_at=now)
            session.add(plan)
            for seq, fields in enumerate(steps):
                session.add(models.Step(
                    id=new_id(), plan_id=plan_id, seq=seq, attempt=1,
                    state='pending', **fields))
        return self.get_plan(plan_id)

    def get_plan(self, plan_id):
        """:raises NotFound: when no plan has that id"""
        with self._session() as session:
            plan = session.get(models.Plan, plan_id)
            if plan is None:
                raise exception.NotFound('plan', plan_id)
            out = _plan_dict(plan)
            out['steps'] = [_step_dict(s) for s in plan.steps]
        return out

    def list_plans(self, limit=None, marker=None):
        """Plan summaries, newest first, with step counts per state; every
        column but the plan's document.

        :param limit: at most this many plans (None: all)
        :param marker: the id of the last plan of the previous page; the
            page starts with the plan listed after it
        :raises NotFound: when no plan has the id ``marker``
        """
        plan = models.Plan
        order = (plan.created_at.desc(), plan.id.desc())
        with self._session() as session:
            query = sa.select(*_SUMMARY_COLUMNS).order_by(*order)
            if marker is not None:
                after = session.execute(
                    sa.select(plan.created_at, plan.id).where(
                        plan.id == marker)).first()
                if after is None:
                    raise exception.NotFound('plan', marker)
                query = query.where(sa.or_(
                    plan.created_at < after.created_at,
                    sa.and_(plan.created_at == after.created_at,
                            plan.id < after.id)))
            if limit is not None:
                query = query.limit(limit)
            rows = [row._asdict() for row in session.execute(query)]
            counts = {}
            if rows:
                ids = [row['id'] for row in rows]
                for plan_id, state, n in session.execute(
                        sa.select(models.Step.plan_id, models.Step.state,
                                  sa.func.count()).where(
                            models.Step.plan_id.in_(ids)).group_by(
                            models.Step.plan_id, models.Step.state)):
                    counts.setdefault(plan_id, {})[state] = n
            return [dict(row, step_counts=counts.get(row['id'], {}))
                    for row in rows]

    def purge_plans(self, before):
        """Delete the finished plans (:data:`.models.PLAN_PURGEABLE`) that
        finished before epoch ``before``, with their steps; a plan without
        ``finished_at`` (a dry run) counts from its creation. Plans that
        are planned, executing or aborting are never deleted.

        :returns: ``(plans, steps)`` deleted
        """
        plan = models.Plan
        before = min(before, sys.float_info.max)  # MySQL has no infinity
        old = sa.and_(plan.state.in_(models.PLAN_PURGEABLE), sa.or_(
            plan.finished_at < before,
            sa.and_(plan.finished_at.is_(None), plan.created_at < before)))
        plans = steps = 0
        while True:
            with self._session.begin() as session:
                ids = list(session.scalars(
                    sa.select(plan.id).where(old).limit(_PURGE_BATCH)))
                if not ids:
                    return plans, steps
                steps += session.execute(sa.delete(models.Step).where(
                    models.Step.plan_id.in_(ids))).rowcount
                plans += session.execute(sa.delete(plan).where(
                    plan.id.in_(ids), old)).rowcount

    def delete_plan(self, plan_id, states):
        """Delete one plan and its steps, only while it is in ``states``.

        :raises NotFound: when no plan has that id
        :raises InvalidInput: naming ``plan state`` when it is in none
        """
        plan = models.Plan
        with self._session.begin() as session:
            state = session.scalar(sa.select(plan.state).where(
                plan.id == plan_id))
            if state is None:
                raise exception.NotFound('plan', plan_id)
            if state not in states:
                raise exception.InvalidInput(
                    'plan state', state, 'one of ' + ', '.join(states)
                    + ' (abort an executing plan first)')
            session.execute(sa.delete(models.Step).where(
                models.Step.plan_id == plan_id))
            session.execute(sa.delete(plan).where(plan.id == plan_id,
                                                  plan.state.in_(states)))

    def plan_ids(self, states):
        with self._session() as session:
            return list(session.scalars(
                sa.select(models.Plan.id).where(
                    models.Plan.state.in_(states)).order_by(
                    models.Plan.created_at)))

    def set_plan_state(self, plan_id, state, expect=None, error=None):
        """Set a plan's state; with ``expect``, only from those states.

        :returns: True when the row changed
        """
        now = time.time()
        values = {'state': state, 'updated_at': now}
        if state == 'executing':
            values['started_at'] = now
        if state in models.PLAN_DONE:
            values['finished_at'] = now
        if error is not None:
            values['error'] = error
        stmt = sa.update(models.Plan).where(models.Plan.id == plan_id)
        if expect is not None:
            stmt = stmt.where(models.Plan.state.in_(expect))
        with self._session.begin() as session:
            return session.execute(stmt.values(**values)).rowcount == 1

    # Steps ---------------------------------------------------------------

    def get_step(self, step_id):
        with self._session() as session:
            step = session.get(models.Step, step_id)
            return None if step is None else _step_dict(step)

    def steps(self, plan_id, vm=None):
        """The steps of a plan in seq order; with ``vm``, of that VM only."""
        query = sa.select(models.Step).where(models.Step.plan_id == plan_id)
        if vm is not None:
            query = query.where(models.Step.vm == vm)
        with self._session() as session:
            return [_step_dict(s) for s in session.scalars(
                query.order_by(models.Step.seq))]

    def steps_by_id(self, step_ids):
        """The step dicts of ``step_ids`` (unknown ids left out)."""
        out = []
        ids = list(step_ids)
        with self._session() as session:
            for first in range(0, len(ids), _PURGE_BATCH):
                out += [_step_dict(s) for s in session.scalars(
                    sa.select(models.Step).where(models.Step.id.in_(
                        ids[first:first + _PURGE_BATCH])))]
        return out

    def step_changes(self, plan_id, after_seq):
        """What the plan runner reads on every pass: ``({step id:
        last_news_at} of the running steps, [step dicts of the steps added
        after seq after_seq])`` (two short columns of the running steps,
        not whole rows)."""
        step = models.Step
        with self._session() as session:
            running = {row.id: row.last_news_at for row in session.execute(
                sa.select(step.id, step.last_news_at).where(
                    step.plan_id == plan_id, step.state == 'running'))}
            added = [_step_dict(s) for s in session.scalars(
                sa.select(step).where(step.plan_id == plan_id,
                                      step.seq > after_seq).order_by(
                    step.seq))]
        return running, added

    def count_unfinished(self, plan_id):
        """How many steps of the plan are pending or running."""
        step = models.Step
        with self._session() as session:
            return session.scalar(sa.select(sa.func.count()).where(
                step.plan_id == plan_id,
                step.state.in_(('pending', 'running'))))

    def plan_state(self, plan_id):
        """A plan's state, or None when no plan has that id."""
        head = self.plan_head(plan_id)
        return None if head is None else head['state']

    def plan_head(self, plan_id):
        """``{'state', 'started_at'}`` of a plan, or None when no plan has
        that id (no document, no steps)."""
        plan = models.Plan
        with self._session() as session:
            row = session.execute(sa.select(plan.state, plan.started_at).where(
                plan.id == plan_id)).first()
        return None if row is None else row._asdict()

    def update_step(self, step_id, expect=None, **values):
        """Change a step; with ``expect``, only from those states.

        :returns: True when the row changed
        """
        stmt = sa.update(models.Step).where(models.Step.id == step_id)
        if expect is not None:
            stmt = stmt.where(models.Step.state.in_(expect))
        with self._session.begin() as session:
            return session.execute(stmt.values(**values)).rowcount == 1

    def update_steps(self, changes, expect=None):
        """:meth:`update_step` of many steps in one transaction, with one
        statement per set of columns (built once, run per step).

        :param changes: ``{step id: {column: value}}``
        :returns: the ids of the steps that changed, in ``changes``' order
        """
        changed = []
        if not changes:
            return changed
        table = models.Step.__table__
        statements = {}
        with self.engine.begin() as conn:
            for step_id, values in changes.items():
                columns = tuple(sorted(values))
                stmt = statements.get(columns)
                if stmt is None:
                    stmt = sa.update(table).where(
                        table.c.id == sa.bindparam('b_id')).values(
                        {c: sa.bindparam(f'b_{c}') for c in columns})
                    if expect is not None:
                        stmt = stmt.where(table.c.state.in_(expect))
                    statements[columns] = stmt
                params = {f'b_{c}': v for c, v in values.items()}
                params['b_id'] = step_id
                if conn.execute(stmt, params).rowcount == 1:
                    changed.append(step_id)
        return changed

    def replace_step(self, step_id, expect, values, new_fields):
        """Close one step and add the step that takes over its VM, in one
        transaction; returns the new step dict, or None when the old step
        was not in ``expect``."""
        with self._session.begin() as session:
            changed = session.execute(
                sa.update(models.Step).where(
                    models.Step.id == step_id,
                    models.Step.state.in_(expect)).values(
                    **values)).rowcount
            if changed != 1:
                return None
            old = session.get(models.Step, step_id)
            seq = session.scalar(sa.select(sa.func.max(models.Step.seq)).where(
                models.Step.plan_id == old.plan_id)) + 1
            new = models.Step(id=new_id(), plan_id=old.plan_id, seq=seq,
                              attempt=old.attempt + 1, replaces=old.id,
                              vm=old.vm, state='pending', **new_fields)
            session.add(new)
            session.flush()
            return _step_dict(new)

    # Migration records ---------------------------------------------------

    def add_migration_record(self, record):
        """Keep the history record of a finished step, once per step.

        :param record: the JSON form of a
            :class:`~nova_livemig.history.record.Record`
            (:func:`~nova_livemig.history.record.to_primitive`) with its
            ``step_id`` and ``finished_at``
        :returns: True when stored, False when the step has one already
        :raises InvalidInput: when ``step_id`` or ``finished_at`` is missing
        """
        for key in ('step_id', 'finished_at'):
            if record.get(key) is None:
                raise exception.InvalidInput(
                    f'record.{key}', None,
                    'a value (the conductor\'s records name their step '
                    'and when it finished)')
        row = models.MigrationRecord(
            id=new_id(), step_id=record['step_id'], vm=record['vm'],
            source=record['source'], destination=record['destination'],
            algorithm=record['algorithm'],
            finished_at=float(record['finished_at']), record=record)
        try:
            with self._session.begin() as session:
                if session.scalar(sa.select(models.MigrationRecord.id).where(
                        models.MigrationRecord.step_id
                        == record['step_id'])) is not None:
                    return False
                session.add(row)
        except sa_exc.IntegrityError:
            return False  # added meanwhile by another conductor
        return True

    def list_migration_records(self, since=None, limit=None,
                               newest_first=False, offset=0):
        """History records in the order their steps finished.

        :param since: only those finished at or after this epoch time
        :param limit: at most this many (None: all)
        :param newest_first: the newest first (and ``limit`` keeps the
            newest)
        :param offset: skip this many first (pages of ``limit``)
        :returns: their JSON forms (dicts), oldest first unless
            ``newest_first``
        """
        rec = models.MigrationRecord
        order = ((rec.finished_at.desc(), rec.id.desc()) if newest_first
                 else (rec.finished_at, rec.id))
        query = sa.select(rec.record).order_by(*order)
        if since is not None:
            query = query.where(rec.finished_at >= since)
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self._session() as session:
            return list(session.scalars(query))

    def count_migration_records(self, after=None):
        """How many history records finished after epoch ``after``
        (all of them when None)."""
        query = sa.select(sa.func.count()).select_from(
            models.MigrationRecord)
        if after is not None:
            query = query.where(models.MigrationRecord.finished_at > after)
        with self._session() as session:
            return session.scalar(query)

    # Leases and periodic runs --------------------------------------------

    def acquire_lease(self, name, holder, ttl_s, now=None):
        """Take or renew a lease; True when ``holder`` has it now."""
        now = time.time() if now is None else now
        try:
            with self._session.begin() as session:
                changed = session.execute(
                    sa.update(models.Lease).where(
                        models.Lease.name == name,
                        sa.or_(models.Lease.holder == holder,
                               models.Lease.expires_at < now)).values(
                        holder=holder, expires_at=now + ttl_s)).rowcount
                if changed:
                    return True
                if session.get(models.Lease, name) is not None:
                    return False
                session.add(models.Lease(name=name, holder=holder,
                                         expires_at=now + ttl_s))
            return True
        except sa_exc.IntegrityError:
            return False

    def release_lease(self, name, holder):
        with self._session.begin() as session:
            session.execute(sa.delete(models.Lease).where(
                models.Lease.name == name, models.Lease.holder == holder))

    def last_run(self, policy):
        """``(cron, last_run_at)`` of a scheduled policy, or None."""
        with self._session() as session:
            row = session.get(models.PeriodicRun, policy)
            return None if row is None else (row.cron, row.last_run_at)

    def record_run(self, policy, cron, at, plan_id=None):
        with self._session.begin() as session:
            row = session.get(models.PeriodicRun, policy)
            if row is None:
                session.add(models.PeriodicRun(
                    policy=policy, cron=cron, last_run_at=at,
                    last_plan_id=plan_id))
            else:
                row.cron, row.last_run_at = cron, at
                row.last_plan_id = plan_id


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute('PRAGMA journal_mode=WAL')
    cur.execute('PRAGMA foreign_keys=ON')
    cur.close()


def from_conf(conf):
    """The :class:`Database` of ``[database] connection``, schema synced
    (``auto_sync``) or checked."""
    db = Database(conf.database.connection)
    if conf.database.auto_sync:
        db.sync()
    else:
        db.check()
    return db
