"""Versioned notifications the conductor emits.

Payload builders are pure functions of plain values; :func:`emit` sends
one through an oslo.messaging notifier (see
:func:`nova_livemig.rpc.get_notifier`, publisher ``nova-livemig.<host>``).
A sample of every event is in ``doc/notifications/<event_type>.json``
and a unit test checks the builders still produce them.

Every payload carries ``nova_livemig_version``, the payload format
version: a new field bumps the minor, a removed or changed one the major.

>>> migration_error_payload('p1', {'step_id': 'p1-0', 'vm': 'vm1',
...     'state': 'failed', 'host': 'a', 'stats': {}, 'error': 'boom'}
...     )['error']
'boom'
"""

PAYLOAD_VERSION = '1.0'

PLAN_CREATE_END = 'livemig.plan.create.end'
MIGRATION_START = 'livemig.migration.start'
MIGRATION_PROGRESS = 'livemig.migration.progress'
MIGRATION_END = 'livemig.migration.end'
MIGRATION_ERROR = 'livemig.migration.error'
EVENT_TYPES = (PLAN_CREATE_END, MIGRATION_START, MIGRATION_PROGRESS,
               MIGRATION_END, MIGRATION_ERROR)
#: the event types sent at ERROR priority; the others are INFO
ERROR_EVENTS = (MIGRATION_ERROR,)


def _payload(**fields):
    return dict(fields, nova_livemig_version=PAYLOAD_VERSION)


def plan_create_end_payload(plan_id, policy, moves, totals, dry_run):
    """A plan was made.

    :param moves: the plan's moves (``plan.Move.to_primitive()``)
    :param totals: the plan's totals (``plan.Plan.to_primitive()['totals']``)
    """
    return _payload(
        plan_id=plan_id, policy=policy, dry_run=bool(dry_run),
        moves=[{'vm': m['vm'], 'source': m['source'],
                'destination': m['destination'],
                'algorithm': m['algorithm'],
                'predicted_total_s': m['predicted']['total_s'],
                'predicted_downtime_ms': m['predicted']['downtime_ms']}
               for m in moves],
        totals=dict(totals))


def migration_start_payload(step):
    """A step was sent to its source agent.

    :param step: a :class:`~nova_livemig.messages.MigrationStep` primitive
    """
    return _payload(
        plan_id=step['plan_id'], step_id=step['step_id'], vm=step['vm'],
        source=step['source'], destination=step['destination'],
        algorithm=step['algorithm'],
        max_downtime_ms=step['max_downtime_ms'],
        deadline_s=step['deadline_s'],
        predicted_total_s=step['predicted']['total_s'],
        predicted_downtime_ms=step['predicted']['downtime_ms'])


def migration_progress_payload(plan_id, progress):
    """An agent reported progress.

    :param progress: a :class:`~nova_livemig.messages.Progress` primitive
    """
    total = progress['total_bytes']
    done = total - progress['remaining_bytes']
    percent = round(100.0 * done / total, 1) if total > 0 else 0.0
    return _payload(plan_id=plan_id, percent=max(min(percent, 100.0), 0.0),
                    **progress)


def migration_end_payload(plan_id, result):
    """A step completed (or was aborted).

    :param result: a :class:`~nova_livemig.messages.Result` primitive
    """
    return _payload(plan_id=plan_id, step_id=result['step_id'],
                    vm=result['vm'], state=result['state'],
                    host=result['host'], stats=dict(result['stats']),
                    error=result['error'])


def migration_error_payload(plan_id, result):
    """A step failed: the VM stays on ``host`` (its source)."""
    return migration_end_payload(plan_id, result)


def emit(notifier, ctxt, event_type, payload):
    """Send one notification (INFO, or ERROR for ``migration.error``).

    :param notifier: an :class:`oslo_messaging.Notifier`
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f'event_type: got {event_type!r}; allowed: '
                         + ', '.join(EVENT_TYPES))
    if event_type in ERROR_EVENTS:
        notifier.error(ctxt, event_type, payload)
    else:
        notifier.info(ctxt, event_type, payload)
