"""A corpus of hostile RPC messages.

:func:`cases` makes well over a thousand :class:`Case` s from one valid
message of each type (:data:`BASE`, the primitives of
:mod:`nova_livemig.messages`): every field, at every level (a step's
prediction, a result's statistics, a report's host and VM entries, the
progress and result inside a job status), gets each hostile value of
:data:`HOSTILE` that its kind does not allow: integers no float holds,
what ``1e400`` and ``NaN`` become after JSON decoding (infinity, NaN),
negative numbers, booleans, wrong types, control characters, a lone
surrogate, a megabyte of text, a list of 100,000 items, nesting hundreds
deep. Every field is also left out, and each object gets an unknown field
under a hostile name.

Each case says which field the error must name (its prefix): every case is
refused by ``from_primitive`` with
:class:`~nova_livemig.exception.InvalidInput`.
"""

import copy
import typing

MIB = 1024 * 1024
#: the nesting of the deeply nested value: JSON decoders on the bus refuse
#: nesting near Python's recursion limit, so a deeper one never arrives
DEPTH = 500


def _nested(depth):
    value = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


STEP = {'plan_id': 'p1', 'step_id': 'p1-0', 'vm': 'v1', 'source': 'a',
        'destination': 'b', 'algorithm': 'precopy',
        'max_downtime_ms': 300.0, 'bandwidth_mib_s': 0.0, 'deadline_s': 60.0,
        'postcopy_after_s': None,
        'predicted': {'algorithm': 'precopy', 'total_s': 3.5,
                      'downtime_ms': 20.0, 'bytes': 4294967296,
                      'converges': True, 'iterations': 2, 'risks': []},
        'destination_uri': 'fake://b'}
REPORT = {'host': {'name': 'a', 'vcpus': 16, 'memory_mib': 32768,
                   'aggregates': ['general']},
          'vms': [{'id': 'v1', 'host': 'a', 'vcpus': 2, 'memory_mib': 2048,
                   'cpu_util': 0.2, 'dirty_rate_mib_s': 10.0,
                   'dirty_rate_samples': [{'window_s': 1.0, 'mib_s': 10.0}]}],
          'measured_at': 1000.0, 'driver': 'fake', 'migration_uri': None}
PROGRESS = {'step_id': 'p1-0', 'vm': 'v1', 'elapsed_s': 1.5,
            'processed_bytes': 100, 'remaining_bytes': 50,
            'total_bytes': 200, 'dirty_rate_mib_s': 3.0, 'iteration': 1,
            'phase': 'precopy'}
RESULT = {'step_id': 'p1-0', 'vm': 'v1', 'state': 'completed', 'host': 'b',
          'stats': {'total_s': 3.4, 'downtime_ms': 18.0, 'bytes': 123,
                    'iterations': 2, 'postcopy': False,
                    'normal_bytes': None, 'zero_pages': 7,
                    'postcopy_started_s': None},
          'error': None}
JOB = {'step_id': 'p1-0', 'vm': 'v1', 'state': 'completed',
       'progress': PROGRESS, 'result': RESULT}
#: a valid message of each type, by class name
BASE = {'MigrationStep': STEP, 'HostReport': REPORT, 'Progress': PROGRESS,
        'Result': RESULT, 'JobStatus': JOB}

#: hostile values, by name, as they arrive after JSON decoding
HOSTILE = {
    'int-401-digits': 10 ** 400,
    'int-20-digits': 10 ** 19,
    'float-1e300': 1e300,
    'overflow-inf': float('inf'),       # 1e400 decoded by json.loads
    'overflow-minus-inf': float('-inf'),
    'nan': float('nan'),
    'negative': -1,
    'negative-float': -0.5,
    'true': True,
    'false': False,
    'null': None,
    'string-number': '1e400',
    'empty-string': '',
    'escape-sequence': 'h\x1b[2J\x1b[31mred',
    'newline': 'v1\nINFO forged log line',
    'nul': 'v\x001',
    'bidi-override': 'v\u202e1',
    'lone-surrogate': 'v\ud8001',
    'name-256': 'n' * 256,
    'megabyte-string': 'x' * MIB,
    'list': [1],
    'list-100k': ['a'] * 100_000,
    'object': {'value': 1},
    'nested-deep': _nested(DEPTH),
}

# What each kind of field allows among HOSTILE (the rest must be refused).
_NAME_OK = {'string-number'}            # a name may look like a number
#: a URI may be longer than a name
_URI_OK = {'string-number', 'name-256'}
_NUMBER_OK = set()
_BOOL_OK = {'true', 'false'}
_WORD_OK = set()                        # one of a few words
_OBJECT_OK = set()
_EXTRA_OK = {'null', 'true', 'false', 'negative', 'negative-float',
             'string-number', 'list', 'float-1e300'}


def _or_null(ok):
    return ok | {'null'}


#: ``(message, path, allowed names[, the field errors name])``: every
#: field of every message
FIELDS = [
    ('MigrationStep', ('plan_id',), _NAME_OK),
    ('MigrationStep', ('step_id',), _NAME_OK),
    ('MigrationStep', ('vm',), _NAME_OK),
    ('MigrationStep', ('source',), _NAME_OK),
    ('MigrationStep', ('destination',), _NAME_OK),
    ('MigrationStep', ('algorithm',), _WORD_OK),
    ('MigrationStep', ('max_downtime_ms',), _NUMBER_OK),
    ('MigrationStep', ('bandwidth_mib_s',), _NUMBER_OK),
    ('MigrationStep', ('deadline_s',), _NUMBER_OK),
    ('MigrationStep', ('postcopy_after_s',), _or_null(_NUMBER_OK)),
    ('MigrationStep', ('predicted',), _OBJECT_OK),
    ('MigrationStep', ('predicted', 'algorithm'), _NAME_OK),
    ('MigrationStep', ('predicted', 'total_s'), _NUMBER_OK),
    ('MigrationStep', ('predicted', 'downtime_ms'), _NUMBER_OK),
    ('MigrationStep', ('predicted', 'bytes'), _NUMBER_OK),
    ('MigrationStep', ('predicted', 'converges'), _BOOL_OK),
    ('MigrationStep', ('predicted', 'iterations'), _EXTRA_OK),
    ('MigrationStep', ('predicted', 'risks'), _EXTRA_OK),
    ('MigrationStep', ('destination_uri',), _or_null(_URI_OK)),
    ('HostReport', ('host',), _OBJECT_OK),
    ('HostReport', ('host', 'name'), _NAME_OK),
    ('HostReport', ('host', 'vcpus'), _NUMBER_OK),
    ('HostReport', ('host', 'memory_mib'), _NUMBER_OK),
    ('HostReport', ('host', 'aggregates'), set()),
    ('HostReport', ('host', 'aggregates', 0), _NAME_OK),
    ('HostReport', ('vms',), _OBJECT_OK),
    ('HostReport', ('vms', 0), _OBJECT_OK),
    ('HostReport', ('vms', 0, 'id'), _NAME_OK),
    ('HostReport', ('vms', 0, 'host'), set()),
    ('HostReport', ('vms', 0, 'vcpus'), _NUMBER_OK),
    ('HostReport', ('vms', 0, 'memory_mib'), _NUMBER_OK),
    ('HostReport', ('vms', 0, 'cpu_util'), _NUMBER_OK),
    ('HostReport', ('vms', 0, 'dirty_rate_mib_s'), _NUMBER_OK),
    ('HostReport', ('vms', 0, 'dirty_rate_samples'), _OBJECT_OK),
    # the snapshot reader names the list of samples
    ('HostReport', ('vms', 0, 'dirty_rate_samples', 0, 'window_s'),
     _NUMBER_OK, 'HostReport.vms[0].dirty_rate_samples'),
    ('HostReport', ('vms', 0, 'dirty_rate_samples', 0, 'mib_s'), _NUMBER_OK,
     'HostReport.vms[0].dirty_rate_samples'),
    ('HostReport', ('measured_at',), _NUMBER_OK),
    ('HostReport', ('driver',), _NAME_OK),
    ('HostReport', ('migration_uri',), _or_null(_URI_OK)),
    ('Progress', ('step_id',), _NAME_OK),
    ('Progress', ('vm',), _NAME_OK),
    ('Progress', ('elapsed_s',), _NUMBER_OK),
    ('Progress', ('processed_bytes',), _NUMBER_OK),
    ('Progress', ('remaining_bytes',), _NUMBER_OK),
    ('Progress', ('total_bytes',), _NUMBER_OK),
    ('Progress', ('dirty_rate_mib_s',), _NUMBER_OK),
    ('Progress', ('iteration',), _NUMBER_OK),
    ('Progress', ('phase',), _WORD_OK),
    ('Result', ('step_id',), _NAME_OK),
    ('Result', ('vm',), _NAME_OK),
    ('Result', ('state',), _WORD_OK),
    ('Result', ('host',), _NAME_OK),
    ('Result', ('stats',), _OBJECT_OK),
    ('Result', ('stats', 'total_s'), _NUMBER_OK),
    ('Result', ('stats', 'downtime_ms'), _NUMBER_OK),
    ('Result', ('stats', 'bytes'), _NUMBER_OK),
    ('Result', ('stats', 'iterations'), _NUMBER_OK),
    ('Result', ('stats', 'postcopy'), _BOOL_OK),
    ('Result', ('stats', 'normal_bytes'), _or_null(_NUMBER_OK)),
    ('Result', ('stats', 'zero_pages'), _or_null(_NUMBER_OK)),
    ('Result', ('stats', 'postcopy_started_s'), _or_null(_NUMBER_OK)),
    # completed: the error must be null
    ('Result', ('error',), {'null'}),
    ('JobStatus', ('step_id',), _NAME_OK),
    ('JobStatus', ('vm',), _NAME_OK),
    ('JobStatus', ('state',), _WORD_OK),
    ('JobStatus', ('progress',), {'null'}),
    ('JobStatus', ('progress', 'step_id'), _NAME_OK),
    ('JobStatus', ('progress', 'elapsed_s'), _NUMBER_OK),
    ('JobStatus', ('result',), _OBJECT_OK),
    ('JobStatus', ('result', 'host'), _NAME_OK),
    ('JobStatus', ('result', 'stats', 'bytes'), _NUMBER_OK),
]

#: hostile names of an unknown field
HOSTILE_KEYS = {'plain': 'bogus', 'escape-sequence': 'k\x1b[2J',
                'lone-surrogate': 'k\ud800', 'megabyte': 'k' * MIB}
#: the objects that take no unknown field (a prediction takes a few,
#: under names: it gets the hostile names only)
OBJECTS = [('MigrationStep', ()), ('MigrationStep', ('predicted',)),
           ('HostReport', ()), ('HostReport', ('host',)),
           ('HostReport', ('vms', 0)), ('Progress', ()), ('Result', ()),
           ('Result', ('stats',)), ('JobStatus', ()),
           ('JobStatus', ('result', 'stats'))]


class Case(typing.NamedTuple):
    """One hostile message."""
    name: str
    message: str
    data: object
    #: what the error's field must start with
    field: str


def field_name(message, path):
    """``HostReport.vms[0].id`` for ``('vms', 0, 'id')``."""
    out = message
    for key in path:
        out += f'[{key}]' if isinstance(key, int) else f'.{key}'
    return out


def _with(message, path, value=None, delete=False, key=None):
    data = copy.deepcopy(BASE[message])
    node = data
    for part in path[:-1] if key is None else path:
        node = node[part]
    if key is not None:
        node[key] = value
    elif delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def cases():
    """Every hostile message of the corpus, as :class:`Case` s."""
    out = []
    for message, path, allowed, *named in FIELDS:
        dotted = '.'.join(str(p) for p in path)
        expected = field_name(message, path)
        if path and isinstance(path[-1], int):  # an item: its list's name
            expected = field_name(message, path[:-1])
        expected = named[0] if named else expected
        for value_name, value in HOSTILE.items():
            if value_name in allowed:
                continue
            out.append(Case(f'{message}:{dotted}={value_name}', message,
                            _with(message, path, value), expected))
        if not isinstance(path[-1], int) and not _optional(message, path):
            out.append(Case(f'{message}:{dotted}=missing', message,
                            _with(message, path, delete=True), expected))
    for message, path in OBJECTS:
        dotted = '.'.join(str(p) for p in path) or '(top)'
        for key_name, key in HOSTILE_KEYS.items():
            if path == ('predicted',) and key_name == 'plain':
                continue  # a prediction's extra field
            out.append(Case(f'{message}:{dotted}+unknown-{key_name}',
                            message, _with(message, path, 1, key=key),
                            field_name(message, path)))
    for name, value in (('not-an-object', 'x' * MIB),
                        ('list-100k', ['a'] * 100_000),
                        ('nested-deep', _nested(DEPTH))):
        for message in BASE:
            out.append(Case(f'{message}:{name}', message, value, message))
    return out


#: fields a message may leave out
_OPTIONAL = {('MigrationStep', ('predicted', 'iterations')),
             ('MigrationStep', ('predicted', 'risks')),
             ('HostReport', ('host', 'aggregates')),
             ('HostReport', ('vms', 0, 'dirty_rate_samples')),
             ('Result', ('stats', 'normal_bytes')),
             ('Result', ('stats', 'zero_pages')),
             ('Result', ('stats', 'postcopy_started_s'))}


def _optional(message, path):
    return (message, path) in _OPTIONAL
