"""Scheduled policies: ``POLICY | CRON [| MODE]`` lines of ``[periodic]
schedule``, run by the one conductor that holds the ``periodic`` lease.

Each line fires at the times of its cron expression (UTC, croniter). A
firing plans the policy on the live model; in ``execute`` mode the plan is
executed, in ``dry-run`` mode (or with ``[periodic] dry_run``) it is only
recorded, for an operator to read. The last firing of each policy is kept
in the database, so a restarted conductor, or another one taking the lease
over, neither repeats a firing nor fires all the missed ones: it fires once
if one or more firings were missed. A firing is skipped while the previous
plan of the same policy still executes.

>>> parse_schedule(['consolidate | 0 3 * * * | dry-run'])
[Entry(policy='consolidate', cron='0 3 * * *', mode='dry-run')]
>>> parse_schedule(['consolidate | every night'])
Traceback (most recent call last):
...
nova_livemig.exception.InvalidInput: [periodic] schedule[0]: got \
'every night'; allowed: a five-field cron expression such as "0 3 * * *"
"""

import dataclasses
import time

import croniter
from oslo_log import log as logging

from nova_livemig import exception
from nova_livemig.conductor import background

LOG = logging.getLogger(__name__)

LEASE = 'periodic'
MODES = ('execute', 'dry-run', 'disabled')


@dataclasses.dataclass(frozen=True)
class Entry:
    policy: str
    cron: str
    mode: str = 'execute'


def parse_schedule(lines, known_policies=None):
    """:param lines: the ``[periodic] schedule`` values
    :param known_policies: policy names allowed, or None for any
    :returns: a list of :class:`Entry`
    :raises InvalidInput: naming the line, the value and what is allowed
    """
    entries = []
    for i, line in enumerate(lines):
        field = f'[periodic] schedule[{i}]'
        parts = [p.strip() for p in line.split('|')]
        if len(parts) not in (2, 3) or not all(parts):
            raise exception.InvalidInput(field, line,
                                         'POLICY | CRON or POLICY | CRON | '
                                         'MODE')
        policy, cron = parts[0], parts[1]
        mode = parts[2] if len(parts) == 3 else 'execute'
        if known_policies is not None and policy not in known_policies:
            raise exception.InvalidInput(
                field, policy, 'one of ' + ', '.join(sorted(known_policies)))
        if len(cron.split()) != 5 or not croniter.croniter.is_valid(cron):
            raise exception.InvalidInput(
                field, cron,
                'a five-field cron expression such as "0 3 * * *"')
        if mode not in MODES:
            raise exception.InvalidInput(field, mode,
                                         'one of ' + ', '.join(MODES))
        if any(e.policy == policy for e in entries):
            raise exception.InvalidInput(field, policy,
                                         'one line per policy')
        entries.append(Entry(policy, cron, mode))
    return entries


def next_after(cron, after):
    """The first firing of ``cron`` strictly after epoch ``after`` (UTC).

    >>> next_after('0 3 * * *', 0.0)  # 1970-01-01 03:00 UTC
    10800.0
    """
    return float(croniter.croniter(cron, after).get_next(float))


def due(entry, last_run_at, now):
    """True when ``entry`` should fire at ``now``, given its last firing."""
    return entry.mode != 'disabled' and next_after(entry.cron,
                                                   last_run_at) <= now


class Runner:
    """Fires the scheduled policies while this conductor holds the lease.

    :param db: a :class:`nova_livemig.db.api.Database`
    :param conductor: a :class:`nova_livemig.conductor.service.Conductor` (its
        ``create_plan`` and ``execute_plan`` are used)
    :param entries: :class:`Entry` values
    :param holder: this conductor's name in the lease
    """

    def __init__(self, db, conductor, entries, holder, lease_s,
                 dry_run=False, clock=time.time, interval_s=None):
        self.db = db
        self.conductor = conductor
        self.entries = entries
        self.holder = holder
        self.lease_s = lease_s
        self.dry_run = dry_run
        self.clock = clock
        self.interval_s = interval_s or max(lease_s / 3.0, 1.0)
        self._loop = None

    @classmethod
    def from_conf(cls, conf, conductor):
        from nova_livemig import plugins
        entries = parse_schedule(conf.periodic.schedule,
                                 plugins.names(plugins.POLICIES))
        return cls(conductor.db, conductor, entries, conductor.host,
                   conf.periodic.lease_s, conf.periodic.dry_run)

    def run_once(self):
        """Take or renew the lease, then fire what is due.

        :returns: the ids of the plans created
        """
        now = self.clock()
        if not self.db.acquire_lease(LEASE, self.holder, self.lease_s,
                                     now=now):
            return []
        created = []
        for entry in self.entries:
            last = self.db.last_run(entry.policy)
            if last is None or last[0] != entry.cron:
                # first sight of this schedule: start counting from now
                self.db.record_run(entry.policy, entry.cron, now)
                continue
            if not due(entry, last[1], now):
                continue
            origin = f'periodic:{entry.policy}'
            if any(p['origin'] == origin and p['state'] in (
                    'executing', 'aborting') for p in self.db.list_plans()):
                LOG.info('skipping %s: its previous plan still runs',
                         entry.policy)
                self.db.record_run(entry.policy, entry.cron, now)
                continue
            dry_run = self.dry_run or entry.mode == 'dry-run'
            plan_id = None
            try:
                view = self.conductor.create_plan(
                    entry.policy, dry_run=dry_run, origin=origin)
                plan_id = view['id']
                if not dry_run and view['steps']:
                    self.conductor.execute_plan(plan_id)
                created.append(plan_id)
            except exception.LivemigError as err:
                LOG.warning('scheduled %s did not plan: %s', entry.policy,
                            err)
            self.db.record_run(entry.policy, entry.cron, now, plan_id)
        return created

    def start(self):
        self._loop = background.Loop('livemig-periodic', self.run_once,
                                     self.interval_s, 'periodic pass')
        self._loop.start()

    def stop(self):
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
        self.db.release_lease(LEASE, self.holder)
