"""Every field of every message is validated on receipt, and the error
names the field, the value and what is allowed."""

import copy
import dataclasses

import pytest

from nova_livemig import exception
from nova_livemig import messages

STEP = {'plan_id': 'p1', 'step_id': 'p1-0', 'vm': 'vm1', 'source': 'a',
        'destination': 'b', 'algorithm': 'hybrid', 'max_downtime_ms': 300.0,
        'bandwidth_mib_s': 0.0, 'deadline_s': 60.0, 'postcopy_after_s': 5.0,
        'predicted': {'algorithm': 'hybrid', 'total_s': 3.5,
                      'downtime_ms': 20.0, 'bytes': 4294967296,
                      'converges': True, 'iterations': 2},
        'destination_uri': 'fake://b'}
REPORT = {'host': {'name': 'a', 'vcpus': 16, 'memory_mib': 65536},
          'vms': [{'id': 'vm1', 'host': 'a', 'vcpus': 2, 'memory_mib': 4096,
                   'cpu_util': 0.5, 'dirty_rate_mib_s': 12.0}],
          'measured_at': 1764000000.5, 'driver': 'fake',
          'migration_uri': 'fake://a'}
PROGRESS = {'step_id': 'p1-0', 'vm': 'vm1', 'elapsed_s': 1.5,
            'processed_bytes': 100, 'remaining_bytes': 50,
            'total_bytes': 200, 'dirty_rate_mib_s': 3.0, 'iteration': 1,
            'phase': 'precopy'}
RESULT = {'step_id': 'p1-0', 'vm': 'vm1', 'state': 'completed', 'host': 'b',
          'stats': {'total_s': 3.4, 'downtime_ms': 18.0, 'bytes': 123,
                    'iterations': 2, 'postcopy': True},
          'error': None}
JOB = {'step_id': 'p1-0', 'vm': 'vm1', 'state': 'completed',
       'progress': PROGRESS, 'result': RESULT}

VALID = {messages.MigrationStep: STEP, messages.HostReport: REPORT,
         messages.Progress: PROGRESS, messages.Result: RESULT,
         messages.JobStatus: JOB}

_STR = [None, '', 3, ['a']]
_COUNT = [None, -1, 1.5, True, '3']


_GE0 = [None, 'x', True, float('nan'), float('inf'), -0.5]
_GT0 = _GE0 + [0, 0.0]


# (message, dotted field path, bad values, words the error must contain)
CASES = [
    (messages.MigrationStep, 'plan_id', _STR, 'printable characters'),
    (messages.MigrationStep, 'step_id', _STR, 'printable characters'),
    (messages.MigrationStep, 'vm', _STR, 'printable characters'),
    (messages.MigrationStep, 'source', _STR, 'printable characters'),
    (messages.MigrationStep, 'destination', _STR + ['a'], ''),
    (messages.MigrationStep, 'algorithm', [None, 'warp', 'PRECOPY', 1],
     'one of precopy, autoconverge, compress, postcopy, hybrid'),
    (messages.MigrationStep, 'max_downtime_ms', _GT0, '> 0'),
    (messages.MigrationStep, 'bandwidth_mib_s', _GE0, '>= 0'),
    (messages.MigrationStep, 'deadline_s', _GT0, '> 0'),
    (messages.MigrationStep, 'postcopy_after_s', ['x', True, -1.0],
     '<= 1e+08 or null'),
    (messages.MigrationStep, 'predicted', [None, [], 'p'], 'prediction'),
    (messages.MigrationStep, 'predicted.algorithm', [None, ''],
     'printable characters'),
    (messages.MigrationStep, 'predicted.total_s', [None, -1, 'x'], '>= 0'),
    (messages.MigrationStep, 'predicted.downtime_ms', [None, -1], '>= 0'),
    (messages.MigrationStep, 'predicted.bytes', _COUNT, 'integer >= 0'),
    (messages.MigrationStep, 'predicted.converges', [None, 1, 'yes'],
     'true or false'),
    (messages.MigrationStep, 'destination_uri', ['', 5], 'printable'),
    (messages.HostReport, 'host', [None, [], 'a'], 'host entry'),
    (messages.HostReport, 'host.vcpus', [0, -2, 'x', 1.5],
     'positive integer'),
    (messages.HostReport, 'host.name', ['', None], ''),
    (messages.HostReport, 'vms', [None, {}, 'vm1'], 'VM entries'),
    (messages.HostReport, 'measured_at', _GE0, '>= 0'),
    (messages.HostReport, 'driver', _STR, 'printable characters'),
    (messages.HostReport, 'migration_uri', ['', 1], 'printable'),
    (messages.Progress, 'step_id', _STR, 'printable characters'),
    (messages.Progress, 'vm', _STR, 'printable characters'),
    (messages.Progress, 'elapsed_s', _GE0, '>= 0'),
    (messages.Progress, 'processed_bytes', _COUNT, 'integer >= 0'),
    (messages.Progress, 'remaining_bytes', _COUNT, 'integer >= 0'),
    (messages.Progress, 'total_bytes', _COUNT, 'integer >= 0'),
    (messages.Progress, 'dirty_rate_mib_s', _GE0, '>= 0'),
    (messages.Progress, 'iteration', _COUNT, 'integer >= 0'),
    (messages.Progress, 'phase', [None, 'stopcopy', 1],
     'one of precopy, postcopy'),
    (messages.Result, 'step_id', _STR, 'printable characters'),
    (messages.Result, 'vm', _STR, 'printable characters'),
    (messages.Result, 'state', [None, 'running', 'done'],
     'one of completed, failed, aborted'),
    (messages.Result, 'host', _STR, 'printable characters'),
    (messages.Result, 'stats', [None, [], 'x'], 'JSON object'),
    (messages.Result, 'stats.total_s', [None, -1, 'x'], '>= 0'),
    (messages.Result, 'stats.downtime_ms', [None, -1], '>= 0'),
    (messages.Result, 'stats.bytes', _COUNT, 'integer >= 0'),
    (messages.Result, 'stats.iterations', _COUNT, 'integer >= 0'),
    (messages.Result, 'stats.postcopy', [None, 0, 'no'], 'true or false'),
    (messages.Result, 'stats.extra', [1], 'no such field'),
    (messages.Result, 'stats.normal_bytes', _COUNT[1:] + [10 ** 18 + 1],
     'integer >= 0 and <= 1e+18 or null'),
    (messages.Result, 'stats.zero_pages', _COUNT[1:] + [10 ** 400],
     'integer >= 0'),
    (messages.Result, 'stats.postcopy_started_s',
     ['x', True, -1.0, float('nan'), float('inf'), 1e9], '<= 1e+08 or null'),
    (messages.Result, 'error', ['boom', ''], 'null when state is completed'),
    (messages.JobStatus, 'step_id', _STR, 'printable characters'),
    (messages.JobStatus, 'vm', _STR, 'printable characters'),
    (messages.JobStatus, 'state', [None, 'queued', 'failed'], ''),
    (messages.JobStatus, 'progress', [[], 'x'], 'JSON object'),
    (messages.JobStatus, 'progress.phase', ['x'], 'one of'),
    (messages.JobStatus, 'result', [[], 'x'], 'JSON object'),
    (messages.JobStatus, 'result.stats.bytes', [-1], 'integer >= 0'),
]


def _set(data, dotted, value):
    data = copy.deepcopy(data)
    *parents, last = dotted.split('.')
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


@pytest.mark.parametrize('cls', list(VALID), ids=lambda c: c.__name__)
def test_valid_message_round_trips(cls):
    msg = cls.from_primitive(VALID[cls])
    assert msg.to_primitive() == VALID[cls]
    assert cls.from_primitive(msg.to_primitive()) == msg


@pytest.mark.parametrize(
    'cls,field,bad,words',
    [(c, f, b, w) for c, f, bads, w in CASES for b in bads],
    ids=lambda v: v.__name__ if isinstance(v, type) else repr(v)[:20])
def test_bad_value_is_rejected_naming_the_field(cls, field, bad, words):
    with pytest.raises(exception.InvalidInput) as info:
        cls.from_primitive(_set(VALID[cls], field, bad))
    err = info.value
    assert err.field.startswith(f'{cls.__name__}.{field.split(".")[0]}')
    assert words in err.allowed
    assert err.field in str(err)


def test_every_field_has_a_validation_case():
    for cls in VALID:
        covered = {f.split('.')[0] for c, f, _, _ in CASES if c is cls}
        assert covered == {f.name for f in dataclasses.fields(cls)}, cls


@pytest.mark.parametrize('cls', list(VALID), ids=lambda c: c.__name__)
def test_missing_and_unknown_fields_and_non_objects(cls):
    for name in VALID[cls]:
        data = dict(VALID[cls])
        del data[name]
        with pytest.raises(exception.InvalidInput, match='required') as info:
            cls.from_primitive(data)
        assert info.value.field == f'{cls.__name__}.{name}'
    with pytest.raises(exception.InvalidInput, match='no such field'):
        cls.from_primitive(dict(VALID[cls], bogus=1))
    for garbage in (None, [], 'step', 42):
        with pytest.raises(exception.InvalidInput, match='JSON object'):
            cls.from_primitive(garbage)


def test_step_destination_must_differ_from_source():
    with pytest.raises(exception.InvalidInput) as info:
        messages.MigrationStep.from_primitive(dict(STEP, destination='a'))
    assert info.value.field == 'MigrationStep.destination'
    assert 'other than the source' in info.value.allowed


def test_report_vm_on_another_host_is_rejected():
    vms = [dict(REPORT['vms'][0], host='elsewhere')]
    with pytest.raises(exception.InvalidInput) as info:
        messages.HostReport.from_primitive(dict(REPORT, vms=vms))
    assert info.value.field == 'HostReport.vms[0].host'


def test_failed_result_needs_an_error_and_job_state_matches_result():
    failed = dict(RESULT, state='failed', host='a', error=None)
    with pytest.raises(exception.InvalidInput) as info:
        messages.Result.from_primitive(failed)
    assert info.value.field == 'Result.error'
    ok = messages.Result.from_primitive(dict(failed, error='link down'))
    assert ok.error == 'link down'
    with pytest.raises(exception.InvalidInput, match='a Result when'):
        messages.JobStatus.from_primitive(dict(JOB, result=None))
    running = messages.JobStatus.from_primitive(
        dict(JOB, state='running', result=None))
    assert running.progress == PROGRESS


def test_optional_fields_accept_null():
    step = messages.MigrationStep.from_primitive(
        dict(STEP, postcopy_after_s=None, destination_uri=None))
    assert step.postcopy_after_s is None and step.destination_uri is None
    report = messages.HostReport.from_primitive(
        dict(REPORT, migration_uri=None))
    assert report.migration_uri is None
    assert messages.JobStatus.from_primitive(
        {'step_id': 's', 'vm': 'v', 'state': 'unknown', 'progress': None,
         'result': None}).state == 'unknown'
