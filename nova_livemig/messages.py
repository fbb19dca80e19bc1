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
with the snapshot reader: ids and host names are
:data:`~nova_livemig.validation.NAME` (1 to 255 printable characters),
numbers are finite and bounded (:data:`MAX_SECONDS`, :data:`MAX_COUNT`...),
a report lists at most :data:`MAX_REPORT_VMS` VMs, so a hostile peer
gets a short error, never a megabyte in a log line.

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
allowed: a number > 0 and <= 1e+08
"""

import dataclasses
import math

from nova_livemig import dirtyrate
from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import model
from nova_livemig import validation
from nova_livemig.validation import BOOLEAN
from nova_livemig.validation import NAME
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
OPTIONAL_STATS_FIELDS = ('normal_bytes', 'zero_pages', 'postcopy_started_s',
                         'postcopy_pauses', 'postcopy_paused_s')


# The bounds of the fields (doc/control-plane-contract.md): far above
# any real host or migration, far below what breaks arithmetic, a log
# line or the conductor's memory.
#: the most VMs one HostReport may list
MAX_REPORT_VMS = 10000
#: the most aggregates of the host of a HostReport
MAX_REPORT_AGGREGATES = 1000
#: the most dirty-rate samples of one VM of a HostReport (the model's)
MAX_REPORT_SAMPLES = dirtyrate.MAX_SAMPLES
#: a duration, in seconds (about three years)
MAX_SECONDS = 10 ** 8
#: a time of day, in epoch seconds (the year 2286)
MAX_EPOCH_S = 10 ** 10
#: a downtime, in milliseconds
MAX_DOWNTIME_MS = 10 ** 8
#: a bandwidth or a dirty rate, in MiB/s (100 TiB/s)
MAX_RATE_MIB_S = 10 ** 8
#: a count of bytes or pages (an exabyte)
MAX_COUNT = 10 ** 18
#: a count of pre-copy iterations
MAX_ITERATIONS = 10 ** 9
#: the longest migration URI
MAX_URI_CHARS = 4096
#: the longest error text of a Result (it may span lines)
MAX_ERROR_CHARS = 65536
#: the most extra fields of a prediction, and items of a list in one
MAX_PREDICTION_EXTRAS = 32


def _uri(v):
    if isinstance(v, str) and 0 < len(v) <= MAX_URI_CHARS and v.isprintable():
        return v
    return validation.INVALID


def _text(v):
    if isinstance(v, str) and 0 < len(v) <= MAX_ERROR_CHARS:
        return v
    return validation.INVALID


# The kinds of the fields (see nova_livemig.validation): each check returns
# the clean value or raises InvalidInput naming the field. Ids and names
# are validation.NAME, as in a snapshot.
_URI = validation.Kind(f'a URI of 1 to {MAX_URI_CHARS} printable characters',
                       _uri, name='URI')
_OPTIONAL_URI = _URI.or_null()
_ERROR_TEXT = validation.Kind(
    f'a non-empty string of at most {MAX_ERROR_CHARS} characters', _text,
    name='string')
_SECONDS = number(minimum=0, maximum=MAX_SECONDS)
_OPTIONAL_SECONDS = _SECONDS.or_null()
_POSITIVE_SECONDS = number(minimum=0, maximum=MAX_SECONDS, exclusive=True)
_EPOCH_S = number(minimum=0, maximum=MAX_EPOCH_S)
_DOWNTIME_MS = number(minimum=0, maximum=MAX_DOWNTIME_MS)
_POSITIVE_DOWNTIME_MS = number(minimum=0, maximum=MAX_DOWNTIME_MS,
                               exclusive=True)
_RATE = number(minimum=0, maximum=MAX_RATE_MIB_S)
_COUNT = integer(minimum=0, maximum=MAX_COUNT)
_OPTIONAL_BIG_COUNT = _COUNT.or_null()
_ITERATIONS = integer(minimum=0, maximum=MAX_ITERATIONS)
_OPTIONAL_STATS = {'normal_bytes': _OPTIONAL_BIG_COUNT,
                   'zero_pages': _OPTIONAL_BIG_COUNT,
                   'postcopy_started_s': _OPTIONAL_SECONDS,
                   # post-copy link breaks: pauses and the guest's stall
                   'postcopy_pauses': _ITERATIONS.or_null(),
                   'postcopy_paused_s': _OPTIONAL_SECONDS}
_ALGORITHM = one_of(ALGORITHMS)
_PHASE = one_of(PHASES)
_RESULT_STATE = one_of(RESULT_STATES)
_JOB_STATE = one_of(JOB_STATES)


def _fields(cls, data):
    """Check ``data`` is a JSON object with exactly the fields of ``cls``."""
    name = cls.__name__
    if not isinstance(data, dict):
        raise exception.InvalidInput(name, loglines.shown(data),
                                     'a JSON object')
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            raise unknown_field(loglines.member(name, key),
                                loglines.shown(data[key]), known)
    for key in known:
        if key not in data:
            raise exception.InvalidInput(f'{name}.{key}', None,
                                         'a value (the field is required)')
    return name


#: the fields of ``cost.Prediction.to_primitive()`` a step must carry
_PREDICTION = {'algorithm': NAME, 'total_s': _SECONDS,
               'downtime_ms': _DOWNTIME_MS, 'bytes': _COUNT,
               'converges': BOOLEAN}


def _scalar(v):
    """An extra value of a prediction: null, true, false, a finite
    number within +-MAX_COUNT or a name."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        ok = (abs(v) <= MAX_COUNT if isinstance(v, int)
              else math.isfinite(v) and abs(v) <= MAX_COUNT)
        return v if ok else validation.INVALID
    return NAME.accept(v)


def _extra(v):
    if isinstance(v, list):
        if len(v) > MAX_PREDICTION_EXTRAS or any(
                isinstance(i, list) or _scalar(i) is validation.INVALID
                for i in v):
            return validation.INVALID
        return v
    return _scalar(v)


_EXTRA = validation.Kind(
    'null, true, false, a number of at most 1e+18, a name, or a list of at '
    f'most {MAX_PREDICTION_EXTRAS} of these', _extra, name='value')


def _prediction(field, value):
    """A ``cost.Prediction.to_primitive()`` dict, checked (kept as is):
    its other fields (``iterations``, ``risks``...) are bounded too."""
    if not isinstance(value, dict):
        raise exception.InvalidInput(field, loglines.shown(value),
                                     'a JSON object (a cost prediction)')
    if len(value) > len(_PREDICTION) + MAX_PREDICTION_EXTRAS:
        raise exception.InvalidInput(
            field, loglines.shown(value), 'a JSON object of at most '
            f'{len(_PREDICTION) + MAX_PREDICTION_EXTRAS} fields')
    for key, kind in _PREDICTION.items():
        kind.check(f'{field}.{key}', value.get(key))
    for key, extra in value.items():
        if key not in _PREDICTION:
            where = loglines.member(field, key)
            NAME.check(f'{where} (its name)', key)
            _EXTRA.check(where, extra)
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
            plan_id=NAME.check(f'{n}.plan_id', data['plan_id']),
            step_id=NAME.check(f'{n}.step_id', data['step_id']),
            vm=NAME.check(f'{n}.vm', data['vm']),
            source=NAME.check(f'{n}.source', data['source']),
            destination=NAME.check(f'{n}.destination', data['destination']),
            algorithm=_ALGORITHM.check(f'{n}.algorithm', data['algorithm']),
            max_downtime_ms=_POSITIVE_DOWNTIME_MS.check(f'{n}.max_downtime_ms',
                                           data['max_downtime_ms']),
            bandwidth_mib_s=_RATE.check(f'{n}.bandwidth_mib_s',
                                              data['bandwidth_mib_s']),
            deadline_s=_POSITIVE_SECONDS.check(f'{n}.deadline_s',
                                      data['deadline_s']),
            postcopy_after_s=_OPTIONAL_SECONDS.check(
                f'{n}.postcopy_after_s', data['postcopy_after_s']),
            predicted=_prediction(f'{n}.predicted', data['predicted']),
            destination_uri=_OPTIONAL_URI.check(
                f'{n}.destination_uri', data['destination_uri']))
        if step.destination == step.source:
            raise exception.InvalidInput(f'{n}.destination', step.destination,
                                         'a host other than the source')
        return step


#: the largest numbers of the host and VM entries of a report (the
#: snapshot format bounds them below only)
MAX_REPORT_HOST = {'vcpus': 10 ** 6, 'memory_mib': 2 ** 40,
                   'cpu_allocation_ratio': 1000, 'ram_allocation_ratio': 1000,
                   'power_idle_w': 10 ** 7, 'power_max_w': 10 ** 7}
MAX_REPORT_VM = {'vcpus': 10 ** 6, 'memory_mib': 2 ** 40,
                 'dirty_rate_mib_s': MAX_RATE_MIB_S, 'wws_mib': 2 ** 40,
                 'dirty_rate_err_mib_s': MAX_RATE_MIB_S,
                 'resident_mib': 2 ** 40}
MAX_REPORT_SAMPLE = {'window_s': MAX_SECONDS, 'mib_s': MAX_RATE_MIB_S}


def _at_most(field, entry, maxima):
    """Refuse a number of ``entry`` above its maximum (other mistakes are
    the snapshot reader's to name)."""
    for key, most in maxima.items():
        v = entry.get(key)
        if (isinstance(v, (int, float)) and not isinstance(v, bool)
                and v > most):
            raise exception.InvalidInput(f'{field}.{key}',
                                         loglines.shown(v),
                                         f'a number <= {most:g}')


def _report_bounds(n, host, vms):
    """Bound what the snapshot format leaves unbounded: list lengths and
    the largest numbers."""
    _at_most(f'{n}.host', host, MAX_REPORT_HOST)
    aggregates = host.get('aggregates')
    if isinstance(aggregates, list) and len(aggregates) > \
            MAX_REPORT_AGGREGATES:
        raise exception.InvalidInput(
            f'{n}.host.aggregates', loglines.shown(aggregates),
            f'a list of at most {MAX_REPORT_AGGREGATES} names')
    for i, vm in enumerate(vms):
        if not isinstance(vm, dict):
            continue
        _at_most(f'{n}.vms[{i}]', vm, MAX_REPORT_VM)
        samples = vm.get('dirty_rate_samples')
        if not isinstance(samples, list):
            continue
        if len(samples) > MAX_REPORT_SAMPLES:
            raise exception.InvalidInput(
                f'{n}.vms[{i}].dirty_rate_samples', loglines.shown(samples),
                f'a list of at most {MAX_REPORT_SAMPLES} samples')
        for j, sample in enumerate(samples):
            if isinstance(sample, dict):
                _at_most(f'{n}.vms[{i}].dirty_rate_samples[{j}]', sample,
                         MAX_REPORT_SAMPLE)


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
            raise exception.InvalidInput(f'{n}.host', loglines.shown(host),
                                         'a host entry of snapshot v1')
        if not isinstance(vms, list) or len(vms) > MAX_REPORT_VMS:
            raise exception.InvalidInput(
                f'{n}.vms', loglines.shown(vms),
                f'a list of at most {MAX_REPORT_VMS} VM entries of '
                'snapshot v1')
        _report_bounds(n, host, vms)
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
                   measured_at=_EPOCH_S.check(f'{n}.measured_at',
                                                 data['measured_at']),
                   driver=NAME.check(f'{n}.driver', data['driver']),
                   migration_uri=_OPTIONAL_URI.check(
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
            step_id=NAME.check(f'{n}.step_id', data['step_id']),
            vm=NAME.check(f'{n}.vm', data['vm']),
            elapsed_s=_SECONDS.check(f'{n}.elapsed_s',
                                        data['elapsed_s']),
            processed_bytes=_COUNT.check(f'{n}.processed_bytes',
                                         data['processed_bytes']),
            remaining_bytes=_COUNT.check(f'{n}.remaining_bytes',
                                         data['remaining_bytes']),
            total_bytes=_COUNT.check(f'{n}.total_bytes', data['total_bytes']),
            dirty_rate_mib_s=_RATE.check(f'{n}.dirty_rate_mib_s',
                                               data['dirty_rate_mib_s']),
            iteration=_ITERATIONS.check(f'{n}.iteration', data['iteration']),
            phase=_PHASE.check(f'{n}.phase', data['phase']))


def _stats(field, value):
    """A Result's stats, checked: :data:`STATS_FIELDS` required,
    :data:`OPTIONAL_STATS_FIELDS` kept when present (null allowed)."""
    known = STATS_FIELDS + OPTIONAL_STATS_FIELDS
    if not isinstance(value, dict):
        raise exception.InvalidInput(field, loglines.shown(value),
                                     'a JSON object with '
                                     + ', '.join(STATS_FIELDS))
    for key in value:
        if key not in known:
            raise unknown_field(loglines.member(field, key),
                                loglines.shown(value[key]), known)
    stats = _required_stats(field, value)
    stats.update((key, kind.check(f'{field}.{key}', value[key]))
                 for key, kind in _OPTIONAL_STATS.items() if key in value)
    return stats


def _required_stats(field, value):
    return {'total_s': _SECONDS.check(f'{field}.total_s',
                                         value.get('total_s')),
            'downtime_ms': _DOWNTIME_MS.check(f'{field}.downtime_ms',
                                             value.get('downtime_ms')),
            'bytes': _COUNT.check(f'{field}.bytes', value.get('bytes')),
            'iterations': _ITERATIONS.check(f'{field}.iterations',
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
                raise exception.InvalidInput(f'{n}.error',
                                             loglines.shown(data['error']),
                                             'null when state is completed')
            error = None
        else:
            error = _ERROR_TEXT.check(f'{n}.error', data['error'])
        return cls(step_id=NAME.check(f'{n}.step_id', data['step_id']),
                   vm=NAME.check(f'{n}.vm', data['vm']), state=state,
                   host=NAME.check(f'{n}.host', data['host']),
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
        return cls(step_id=NAME.check(f'{n}.step_id', data['step_id']),
                   vm=NAME.check(f'{n}.vm', data['vm']), state=state,
                   progress=progress, result=result)
