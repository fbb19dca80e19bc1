"""The values that cross the wire between the conductor and the agents.

Pure: no oslo.messaging here. Each message is a frozen dataclass with
``to_primitive()`` (JSON primitives only) and ``from_primitive(data)``,
which validates *every* field and raises
:class:`~nova_livemig.exception.InvalidInput` naming the field
(``MigrationStep.max_downtime_ms``), the value and what is allowed. An
endpoint validates a message before acting on it, so a garbled message is
never half-executed. Unknown fields are rejected too: a new field comes
with a new RPC minor version, which an old peer never receives. The checks
of single values are the kinds of :mod:`nova_livemig.validation`, shared
with the snapshot reader.

>>> step = MigrationStep.from_primitive({
...     'plan_id': 'p1', 'step_id': 'p1-0', 'vm': 'vm1', 'source': 'a',
...     'destination': 'b', 'algorithm': 'precopy',
...     'max_downtime_ms': 500.0, 'bandwidth_mib_s': 0.0,
...     'deadline_s': 60.0, 'postcopy_after_s': None,
...     'predicted': {'algorithm': 'precopy', 'total_s': 2.5,
...                   'downtime_ms': 30.0, 'bytes': 2147483648,
...                   'converges': True},
...     'destination_uri': None})
>>> step.predicted_total_s
2.5
>>> MigrationStep.from_primitive(dict(step.to_primitive(), deadline_s=-1))
Traceback (most recent call last):
...
nova_livemig.exception.InvalidInput: MigrationStep.deadline_s: got -1; \
allowed: a number > 0
"""

import dataclasses

from nova_livemig import exception
from nova_livemig import model
from nova_livemig.validation import BOOLEAN
from nova_livemig.validation import STRING
from nova_livemig.validation import integer
from nova_livemig.validation import number
from nova_livemig.validation import one_of
from nova_livemig.validation import unknown_field

ALGORITHMS = ('precopy', 'autoconverge', 'compress', 'postcopy', 'hybrid')
PHASES = ('precopy', 'postcopy')
RESULT_STATES = ('completed', 'failed', 'aborted')
JOB_STATES = ('running',) + RESULT_STATES + ('unknown',)
STATS_FIELDS = ('total_s', 'downtime_ms', 'bytes', 'iterations', 'postcopy')
#: stats a Result may leave out (or set null): the driver could not tell
OPTIONAL_STATS_FIELDS = ('normal_bytes', 'zero_pages', 'postcopy_started_s')


# The kinds of the fields (see nova_livemig.validation): each check returns
# the clean value or raises InvalidInput naming the field.
_OPTIONAL_STRING = STRING.or_null()
_AT_LEAST_0 = number(minimum=0)
_OPTIONAL_AT_LEAST_0 = _AT_LEAST_0.or_null()
_ABOVE_0 = number(minimum=0, exclusive=True)
_COUNT = integer(minimum=0)
# far above any real migration, far below what breaks arithmetic
_OPTIONAL_BIG_COUNT = integer(minimum=0, maximum=10 ** 18).or_null()
_OPTIONAL_SECONDS = number(minimum=0, maximum=10 ** 8).or_null()
_OPTIONAL_STATS = {'normal_bytes': _OPTIONAL_BIG_COUNT,
                   'zero_pages': _OPTIONAL_BIG_COUNT,
                   'postcopy_started_s': _OPTIONAL_SECONDS}
_ALGORITHM = one_of(ALGORITHMS)
_PHASE = one_of(PHASES)
_RESULT_STATE = one_of(RESULT_STATES)
_JOB_STATE = one_of(JOB_STATES)


def _fields(cls, data):
    """Check ``data`` is a JSON object with exactly the fields of ``cls``."""
    name = cls.__name__
    if not isinstance(data, dict):
        raise exception.InvalidInput(name, data, 'a JSON object')
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            raise unknown_field(f'{name}.{key}', data[key], known)
    for key in known:
        if key not in data:
            raise exception.InvalidInput(f'{name}.{key}', None,
                                         'a value (the field is required)')
    return name


def _prediction(field, value):
    """A ``cost.Prediction.to_primitive()`` dict, checked (kept as is)."""
    if not isinstance(value, dict):
        raise exception.InvalidInput(field, value, 'a JSON object '
                                     '(a cost prediction)')
    STRING.check(f'{field}.algorithm', value.get('algorithm'))
    _AT_LEAST_0.check(f'{field}.total_s', value.get('total_s'))
    _AT_LEAST_0.check(f'{field}.downtime_ms', value.get('downtime_ms'))
    _COUNT.check(f'{field}.bytes', value.get('bytes'))
    BOOLEAN.check(f'{field}.converges', value.get('converges'))
    return dict(value)


class _Message:
    def to_primitive(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class MigrationStep(_Message):
    """One live migration the conductor asks a source agent to run.

    :ivar bandwidth_mib_s: bandwidth cap, 0 for unlimited
    :ivar deadline_s: abort when not completed this long after the start
        (never during post-copy, which cannot be undone)
    :ivar postcopy_after_s: switch to post-copy after this long in
        pre-copy; None for never (``hybrid`` switches after the first pass)
    :ivar predicted: the cost model's prediction, primitive form
    :ivar destination_uri: driver-specific address of the destination
    """
    plan_id: str
    step_id: str
    vm: str
    source: str
    destination: str
    algorithm: str
    max_downtime_ms: float
    bandwidth_mib_s: float
    deadline_s: float
    postcopy_after_s: float | None
    predicted: dict
    destination_uri: str | None

    @property
    def predicted_total_s(self):
        return float(self.predicted['total_s'])

    @classmethod
    def from_primitive(cls, data):
        n = _fields(cls, data)
        step = cls(
            plan_id=STRING.check(f'{n}.plan_id', data['plan_id']),
            step_id=STRING.check(f'{n}.step_id', data['step_id']),
            vm=STRING.check(f'{n}.vm', data['vm']),
            source=STRING.check(f'{n}.source', data['source']),
            destination=STRING.check(f'{n}.destination', data['destination']),
            algorithm=_ALGORITHM.check(f'{n}.algorithm', data['algorithm']),
            max_downtime_ms=_ABOVE_0.check(f'{n}.max_downtime_ms',
                                           data['max_downtime_ms']),
            bandwidth_mib_s=_AT_LEAST_0.check(f'{n}.bandwidth_mib_s',
                                              data['bandwidth_mib_s']),
            deadline_s=_ABOVE_0.check(f'{n}.deadline_s',
                                      data['deadline_s']),
            postcopy_after_s=_OPTIONAL_AT_LEAST_0.check(
                f'{n}.postcopy_after_s', data['postcopy_after_s']),
            predicted=_prediction(f'{n}.predicted', data['predicted']),
            destination_uri=_OPTIONAL_STRING.check(
                f'{n}.destination_uri', data['destination_uri']))
        if step.destination == step.source:
            raise exception.InvalidInput(f'{n}.destination', step.destination,
                                         'a host other than the source')
        return step


@dataclasses.dataclass(frozen=True)
class HostReport(_Message):
    """What an agent measured on its host.

    :ivar host: the host entry of snapshot v1
    :ivar vms: the VM entries of snapshot v1 of the VMs on it
    :ivar measured_at: epoch seconds
    :ivar driver: the driver plugin name (``fake``, ``libvirt``)
    :ivar migration_uri: where other hosts' migrations to it go
    """
    host: dict
    vms: list
    measured_at: float
    driver: str
    migration_uri: str | None

    @classmethod
    def from_primitive(cls, data):
        n = _fields(cls, data)
        host, vms = data['host'], data['vms']
        if not isinstance(host, dict):
            raise exception.InvalidInput(f'{n}.host', host,
                                         'a host entry of snapshot v1')
        if not isinstance(vms, list):
            raise exception.InvalidInput(f'{n}.vms', vms,
                                         'a list of VM entries of snapshot v1')
        try:
            snap = model.from_primitive({'version': 1, 'hosts': [host],
                                         'vms': vms, 'network': {}})
        except exception.InvalidSnapshot as err:
            first = err.errors[0]
            field = first.field.replace('$.hosts[0]', f'{n}.host').replace(
                '$.vms', f'{n}.vms')
            raise exception.InvalidInput(field, first.value,
                                         first.allowed) from err
        del snap
        return cls(host=dict(host), vms=[dict(v) for v in vms],
                   measured_at=_AT_LEAST_0.check(f'{n}.measured_at',
                                                 data['measured_at']),
                   driver=STRING.check(f'{n}.driver', data['driver']),
                   migration_uri=_OPTIONAL_STRING.check(
                       f'{n}.migration_uri', data['migration_uri']))


@dataclasses.dataclass(frozen=True)
class Progress(_Message):
    """How far a running migration is (from the driver's job stats)."""
    step_id: str
    vm: str
    elapsed_s: float
    processed_bytes: int
    remaining_bytes: int
    total_bytes: int
    dirty_rate_mib_s: float
    iteration: int
    phase: str

    @classmethod
    def from_primitive(cls, data):
        n = _fields(cls, data)
        return cls(
            step_id=STRING.check(f'{n}.step_id', data['step_id']),
            vm=STRING.check(f'{n}.vm', data['vm']),
            elapsed_s=_AT_LEAST_0.check(f'{n}.elapsed_s',
                                        data['elapsed_s']),
            processed_bytes=_COUNT.check(f'{n}.processed_bytes',
                                         data['processed_bytes']),
            remaining_bytes=_COUNT.check(f'{n}.remaining_bytes',
                                         data['remaining_bytes']),
            total_bytes=_COUNT.check(f'{n}.total_bytes', data['total_bytes']),
            dirty_rate_mib_s=_AT_LEAST_0.check(f'{n}.dirty_rate_mib_s',
                                               data['dirty_rate_mib_s']),
            iteration=_COUNT.check(f'{n}.iteration', data['iteration']),
            phase=_PHASE.check(f'{n}.phase', data['phase']))


def _stats(field, value):
    """A Result's stats, checked: :data:`STATS_FIELDS` required,
    :data:`OPTIONAL_STATS_FIELDS` kept when present (null allowed)."""
    known = STATS_FIELDS + OPTIONAL_STATS_FIELDS
    if not isinstance(value, dict):
        raise exception.InvalidInput(field, value, 'a JSON object with '
                                     + ', '.join(STATS_FIELDS))
    for key in value:
        if key not in known:
            raise unknown_field(f'{field}.{key}', value[key], known)
    stats = _required_stats(field, value)
    stats.update((key, kind.check(f'{field}.{key}', value[key]))
                 for key, kind in _OPTIONAL_STATS.items() if key in value)
    return stats


def _required_stats(field, value):
    return {'total_s': _AT_LEAST_0.check(f'{field}.total_s',
                                         value.get('total_s')),
            'downtime_ms': _AT_LEAST_0.check(f'{field}.downtime_ms',
                                             value.get('downtime_ms')),
            'bytes': _COUNT.check(f'{field}.bytes', value.get('bytes')),
            'iterations': _COUNT.check(f'{field}.iterations',
                                       value.get('iterations')),
            'postcopy': BOOLEAN.check(f'{field}.postcopy',
                                      value.get('postcopy'))}


@dataclasses.dataclass(frozen=True)
class Result(_Message):
    """How a migration ended.

    :ivar host: where the VM runs now (the destination only if completed)
    :ivar stats: ``total_s, downtime_ms, bytes, iterations, postcopy``;
        optionally ``normal_bytes``, ``zero_pages`` (integers, null when
        the driver could not tell) and ``postcopy_started_s`` (seconds
        from the start, null unless it switched to post-copy)
    :ivar error: why it failed or was aborted; None when completed
    """
    step_id: str
    vm: str
    state: str
    host: str
    stats: dict
    error: str | None

    @classmethod
    def from_primitive(cls, data):
        n = _fields(cls, data)
        state = _RESULT_STATE.check(f'{n}.state', data['state'])
        if state == 'completed':
            if data['error'] is not None:
                raise exception.InvalidInput(f'{n}.error', data['error'],
                                             'null when state is completed')
            error = None
        else:
            error = STRING.check(f'{n}.error', data['error'])
        return cls(step_id=STRING.check(f'{n}.step_id', data['step_id']),
                   vm=STRING.check(f'{n}.vm', data['vm']), state=state,
                   host=STRING.check(f'{n}.host', data['host']),
                   stats=_stats(f'{n}.stats', data['stats']), error=error)


def _nested(field, cls, value):
    """Validate a message inside another; errors are named by their path
    in the outer one (``JobStatus.result.stats.bytes``)."""
    try:
        return cls.from_primitive(value).to_primitive()
    except exception.InvalidInput as err:
        rest = err.field.partition('.')[2]
        raise exception.InvalidInput(field + (f'.{rest}' if rest else ''),
                                     err.value, err.allowed) from err


@dataclasses.dataclass(frozen=True)
class JobStatus(_Message):
    """An agent's answer to ``get_job``: the last progress of a running
    step, or the result of a finished one."""
    step_id: str
    vm: str
    state: str
    progress: dict | None
    result: dict | None

    @classmethod
    def from_primitive(cls, data):
        n = _fields(cls, data)
        state = _JOB_STATE.check(f'{n}.state', data['state'])
        progress, result = data['progress'], data['result']
        if progress is not None:
            progress = _nested(f'{n}.progress', Progress, progress)
        if result is not None:
            result = _nested(f'{n}.result', Result, result)
            if result['state'] != state:
                raise exception.InvalidInput(f'{n}.state', state,
                                             f'the result\'s state '
                                             f'({result["state"]})')
        elif state in RESULT_STATES:
            raise exception.InvalidInput(f'{n}.result', None,
                                         f'a Result when state is {state}')
        return cls(step_id=STRING.check(f'{n}.step_id', data['step_id']),
                   vm=STRING.check(f'{n}.vm', data['vm']), state=state,
                   progress=progress, result=result)
