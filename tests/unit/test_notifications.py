"""The notification payload builders still produce the documented samples
in doc/notifications/, and emit() picks the priority."""

import json
import pathlib

import pytest

from nova_livemig.conductor import notifications

DOC = pathlib.Path(__file__).resolve().parents[2] / 'doc' / 'notifications'

STEP = {'plan_id': 'plan-7f3a', 'step_id': 'plan-7f3a-0', 'vm': 'vm-web-1',
        'source': 'cmp-r1-01', 'destination': 'cmp-r2-02',
        'algorithm': 'precopy', 'max_downtime_ms': 500.0,
        'bandwidth_mib_s': 0.0, 'deadline_s': 48.6,
        'postcopy_after_s': None,
        'predicted': {'algorithm': 'precopy', 'total_s': 6.2,
                      'downtime_ms': 41.5, 'bytes': 7113539584,
                      'converges': True, 'iterations': 4, 'slowdown': 0.0,
                      'risks': []},
        'destination_uri': 'fake://cmp-r2-02'}
PROGRESS = {'step_id': 'plan-7f3a-0', 'vm': 'vm-web-1', 'elapsed_s': 3.1,
            'processed_bytes': 3556769792, 'remaining_bytes': 1502238720,
            'total_bytes': 4294967296, 'dirty_rate_mib_s': 48.0,
            'iteration': 2, 'phase': 'precopy'}
COMPLETED = {'step_id': 'plan-7f3a-0', 'vm': 'vm-web-1', 'state': 'completed',
             'host': 'cmp-r2-02',
             'stats': {'total_s': 6.48, 'downtime_ms': 39.9,
                       'bytes': 7113539584, 'iterations': 4,
                       'postcopy': False},
             'error': None}
FAILED = {'step_id': 'plan-7f3a-1', 'vm': 'vm-db-2', 'state': 'failed',
          'host': 'cmp-r1-01',
          'stats': {'total_s': 2.0, 'downtime_ms': 0.0, 'bytes': 1073741824,
                    'iterations': 1, 'postcopy': False},
          'error': 'destination cmp-r2-03 is down'}
MOVE = {'vm': 'vm-web-1', 'source': 'cmp-r1-01', 'destination': 'cmp-r2-02',
        'algorithm': 'precopy', 'predicted': STEP['predicted'],
        'path': [['cmp-r1-01', 'tor1']], 'bandwidth_gbit_s': 10.0}
TOTALS = {'moves': 1, 'unplaced': 0, 'bytes': 7113539584,
          'sum_total_s': 6.2, 'max_downtime_ms': 41.5}

BUILT = {
    notifications.PLAN_CREATE_END:
        lambda: notifications.plan_create_end_payload(
            'plan-7f3a', 'drain', [MOVE], TOTALS, False),
    notifications.MIGRATION_START:
        lambda: notifications.migration_start_payload(STEP),
    notifications.MIGRATION_PROGRESS:
        lambda: notifications.migration_progress_payload('plan-7f3a',
                                                         PROGRESS),
    notifications.MIGRATION_END:
        lambda: notifications.migration_end_payload('plan-7f3a', COMPLETED),
    notifications.MIGRATION_ERROR:
        lambda: notifications.migration_error_payload('plan-7f3a', FAILED),
}


def sample(event_type):
    return {'event_type': event_type,
            'priority': ('ERROR' if event_type in notifications.ERROR_EVENTS
                         else 'INFO'),
            'publisher_id': 'nova-livemig.ctl-1',
            'payload': BUILT[event_type]()}


def test_every_event_type_has_a_sample_and_a_builder():
    assert sorted(BUILT) == sorted(notifications.EVENT_TYPES)
    assert sorted(p.stem for p in DOC.glob('*.json')) == sorted(
        notifications.EVENT_TYPES)


@pytest.mark.parametrize('event_type', notifications.EVENT_TYPES)
def test_builder_produces_the_documented_sample(event_type):
    documented = json.loads((DOC / f'{event_type}.json').read_text())
    assert sample(event_type) == documented


def test_progress_percent_is_bounded_and_zero_without_total():
    payload = notifications.migration_progress_payload(
        'p', dict(PROGRESS, total_bytes=0, remaining_bytes=0))
    assert payload['percent'] == 0.0
    payload = notifications.migration_progress_payload(
        'p', dict(PROGRESS, remaining_bytes=0))
    assert payload['percent'] == 100.0


class _Recorder:
    def __init__(self):
        self.sent = []

    def info(self, ctxt, event_type, payload):
        self.sent.append(('INFO', event_type))

    def error(self, ctxt, event_type, payload):
        self.sent.append(('ERROR', event_type))


def test_emit_uses_error_priority_for_errors_only():
    rec = _Recorder()
    notifications.emit(rec, {}, notifications.MIGRATION_END, {})
    notifications.emit(rec, {}, notifications.MIGRATION_ERROR, {})
    assert rec.sent == [('INFO', notifications.MIGRATION_END),
                        ('ERROR', notifications.MIGRATION_ERROR)]


def test_emit_rejects_an_unknown_event_type():
    with pytest.raises(ValueError, match='livemig.migration.start'):
        notifications.emit(_Recorder(), {}, 'livemig.bogus', {})


if __name__ == '__main__':
    # regenerate the samples: python tests/unit/test_notifications.py
    for name in notifications.EVENT_TYPES:
        (DOC / f'{name}.json').write_text(
            json.dumps(sample(name), indent=2, sort_keys=True) + '\n')
