"""One migration record, history format version 1.

The JSON form (one object per line of a history file; units in the field
names; optional fields may be absent or null)::

    {"version": 1, "vm": "uuid", "source": "cmp-1", "destination": "cmp-2",
     "algorithm": "precopy",
     "before": {"memory_mib": 256, "vcpus": 1, "cpu_util": 0.2,
                "dirty_rate_mib_s": 41.5, "dirty_rate_err_mib_s": 3.1,
                "dirty_rate_samples": [{"window_s": 1, "mib_s": 40.0}],
                "wws_mib": null, "resident_mib": null,
                "path_gbit_s": 0.2, "max_downtime_ms": 300},
     "after": {"completed": true, "aborted": false, "total_s": 12.3,
               "downtime_ms": 310, "bytes": 268967936, "iterations": 3,
               "normal_bytes": 233488384, "zero_pages": 8844,
               "postcopy_started_s": null},
     "step_id": "...", "finished_at": 1764800000.0}

``algorithm`` is what ran (a ``hybrid`` step that switched ran
post-copy for its end, and says so in ``postcopy_started_s``).
``step_id`` and ``finished_at`` (epoch seconds) are optional: the
conductor writes them, a hand-made file may leave them out.
``postcopy_pauses`` and ``postcopy_paused_s`` say how often a post-copy
lost its link and was paused, and how long its guest stalled in all
(absent when the driver could not tell, or before they were recorded); a
post-copy that never came back is a record with ``completed`` false and
a pause.

>>> rec = from_primitive(EXAMPLE)
>>> rec.before.path_gbit_s, rec.after.total_s
(0.2, 12.3)
>>> from_primitive(to_primitive(rec)) == rec
True
"""

import dataclasses

from nova_livemig import dirtyrate
from nova_livemig import exception
from nova_livemig import model
from nova_livemig import validation
from nova_livemig.validation import BOOLEAN
from nova_livemig.validation import STRING
from nova_livemig.validation import one_of
from nova_livemig.validation import optional
from nova_livemig.validation import required

VERSION = 1
ALGORITHMS = ('precopy', 'autoconverge', 'compress', 'postcopy', 'hybrid')
#: QEMU's target page size: ``zero_pages`` counts pages of this size
PAGE_BYTES = 4096

# bounds: far above any real migration, far below what breaks arithmetic
_MIB = validation.number(minimum=0, maximum=2 ** 30, exclusive=True)
_RATE = validation.number(minimum=0, maximum=10 ** 7)
_GBIT = validation.number(minimum=0, maximum=10 ** 5, exclusive=True)
_MS = validation.number(minimum=0, maximum=10 ** 9)
_SECONDS = validation.number(minimum=0, maximum=10 ** 8)
_COUNT = validation.integer(minimum=0, maximum=2 ** 62)
_VCPUS = validation.integer(minimum=1, maximum=10 ** 5)
_EPOCH = validation.number(minimum=0, maximum=10 ** 11)


def _opt(kind):
    return optional(kind.or_null())


_BEFORE = {
    'memory_mib': required(_MIB),
    'vcpus': _opt(_VCPUS),
    'cpu_util': _opt(validation.FRACTION),
    'dirty_rate_mib_s': required(_RATE),
    'dirty_rate_err_mib_s': _opt(_RATE),
    'dirty_rate_samples': _opt(dirtyrate.SAMPLES),
    'wws_mib': _opt(_MIB),
    'resident_mib': _opt(_MIB),
    'path_gbit_s': required(_GBIT),
    'max_downtime_ms': required(validation.number(
        minimum=0, maximum=10 ** 7, exclusive=True)),
}
_AFTER = {
    'completed': required(BOOLEAN),
    'aborted': _opt(BOOLEAN),
    'total_s': required(_SECONDS),
    'downtime_ms': _opt(_MS),
    'bytes': required(_COUNT),
    'iterations': _opt(_COUNT),
    'normal_bytes': _opt(_COUNT),
    'zero_pages': _opt(_COUNT),
    'postcopy_started_s': _opt(_SECONDS),
    'postcopy_pauses': _opt(_COUNT),
    'postcopy_paused_s': _opt(_SECONDS),
}
#: the ``after`` fields left out of a record's JSON when unknown (newer
#: than the first files written)
_RECOVERY = ('postcopy_pauses', 'postcopy_paused_s')
_TOP = {
    'version': required(validation.integer(
        minimum=VERSION, maximum=VERSION,
        allowed=f'{VERSION} (the only history format version known)')),
    'vm': required(STRING),
    'source': required(STRING),
    'destination': required(STRING),
    'algorithm': required(one_of(ALGORITHMS)),
    'before': required(validation.Kind('a JSON object',
                                       lambda v: v if isinstance(v, dict)
                                       else validation.INVALID)),
    'after': required(validation.Kind('a JSON object',
                                      lambda v: v if isinstance(v, dict)
                                      else validation.INVALID)),
    'step_id': _opt(STRING),
    'finished_at': _opt(_EPOCH),
}


@dataclasses.dataclass(frozen=True)
class Before:
    """What the planner knew before the migration (see the module doc)."""
    memory_mib: float
    dirty_rate_mib_s: float
    path_gbit_s: float
    max_downtime_ms: float
    vcpus: int | None = None
    cpu_util: float | None = None
    dirty_rate_err_mib_s: float | None = None
    dirty_rate_samples: tuple | None = None
    wws_mib: float | None = None
    resident_mib: float | None = None


@dataclasses.dataclass(frozen=True)
class After:
    """How the migration ended (see the module doc)."""
    completed: bool
    total_s: float
    bytes: int
    aborted: bool | None = None
    downtime_ms: float | None = None
    iterations: int | None = None
    normal_bytes: int | None = None
    zero_pages: int | None = None
    postcopy_started_s: float | None = None
    postcopy_pauses: int | None = None
    postcopy_paused_s: float | None = None

    @property
    def postcopy(self):
        """True when the migration switched to post-copy."""
        return self.postcopy_started_s is not None


@dataclasses.dataclass(frozen=True)
class Record:
    """One migration: where, how, what was known before, what happened."""
    vm: str
    source: str
    destination: str
    algorithm: str
    before: Before
    after: After
    step_id: str | None = None
    finished_at: float | None = None

    def vm_value(self, resident_mib=None):
        """The VM as the planner saw it, a :class:`~nova_livemig.model.Vm`.

        :param resident_mib: the resident memory to assume when the
            record has none (None: all memory)
        """
        b = self.before
        resident = b.resident_mib if b.resident_mib is not None \
            else resident_mib
        return model.Vm(
            id=self.vm, host=self.source, vcpus=b.vcpus or 1,
            memory_mib=b.memory_mib, cpu_util=b.cpu_util or 0.0,
            dirty_rate_mib_s=b.dirty_rate_mib_s, wws_mib=b.wws_mib,
            dirty_rate_err_mib_s=b.dirty_rate_err_mib_s,
            resident_mib=(None if resident is None
                          else min(resident, b.memory_mib)),
            dirty_rate_samples=b.dirty_rate_samples or ())

    def resident_mib(self):
        """The VM's non-zero memory as this migration saw it: memory less
        the zero pages QEMU skipped (all passes counted; pages zeroed
        between passes are few). None when the record has no page
        counts or did not complete.
        """
        a = self.after
        if not a.completed or a.zero_pages is None:
            return None
        zero_mib = a.zero_pages * PAGE_BYTES / (1024 * 1024)
        return max(self.before.memory_mib - zero_mib, 0.0)


def from_primitive(data, path='$'):
    """A :class:`Record` from its decoded JSON form, checked.

    :param path: where the record sits, for errors (``FILE:12``)
    :raises InvalidSnapshot: listing every problem found, each naming its
        field (the class of error every document reader raises)
    """
    chk = validation.Checker()
    top = chk.obj(path, data, _TOP)
    if top is None:
        raise exception.InvalidSnapshot(chk.errors, 'history record')
    before = _check_before(chk, f'{path}.before', top['before'])
    after = chk.obj(f'{path}.after', top['after'], _AFTER)
    if after is not None and after['completed'] and after['aborted']:
        chk.error(f'{path}.after.aborted', True,
                  'false or null when completed is true')
    if chk.errors:
        raise exception.InvalidSnapshot(chk.errors, 'history record')
    return Record(vm=top['vm'], source=top['source'],
                  destination=top['destination'],
                  algorithm=top['algorithm'], before=Before(**before),
                  after=After(**after), step_id=top['step_id'],
                  finished_at=top['finished_at'])


def _check_before(chk, path, data):
    """The checked fields of a ``before`` object, or None (errors in
    ``chk``)."""
    before = chk.obj(path, data, _BEFORE)
    if before is not None:
        for key in ('wws_mib', 'resident_mib'):
            if before[key] is not None and before[key] > before['memory_mib']:
                chk.error(f'{path}.{key}', before[key],
                          f'at most memory_mib ({before["memory_mib"]})')
    return before


def before_from_primitive(data, path='$.before'):
    """A :class:`Before` from its JSON form alone, checked (the
    conductor keeps one per step until the step ends).

    :raises InvalidSnapshot: listing every problem found

    >>> b = before_from_primitive(EXAMPLE['before'])
    >>> before_from_primitive(before_to_primitive(b)) == b
    True
    """
    chk = validation.Checker()
    before = _check_before(chk, path, data)
    if chk.errors:
        raise exception.InvalidSnapshot(chk.errors)
    return Before(**before)


def before_to_primitive(before):
    """The JSON form of a :class:`Before` (absent optional values as
    null, samples as objects)."""
    out = dataclasses.asdict(before)
    if before.dirty_rate_samples is not None:
        out['dirty_rate_samples'] = dirtyrate.to_primitive(
            before.dirty_rate_samples)
    return out


def to_primitive(rec):
    """The JSON form of a :class:`Record` (absent optional values as
    null, samples as objects)."""
    out = {'version': VERSION, 'vm': rec.vm, 'source': rec.source,
           'destination': rec.destination, 'algorithm': rec.algorithm,
           'before': before_to_primitive(rec.before),
           'after': {k: v for k, v in dataclasses.asdict(rec.after).items()
                     if v is not None or k not in _RECOVERY}}
    if rec.step_id is not None:
        out['step_id'] = rec.step_id
    if rec.finished_at is not None:
        out['finished_at'] = rec.finished_at
    return out


def before_of(vm, path_gbit_s, max_downtime_ms):
    """The ``before`` part of a record for a VM about to move.

    :param vm: the :class:`~nova_livemig.model.Vm` the plan was made for
    :param path_gbit_s: the path bandwidth the plan assumed
    :param max_downtime_ms: the step's downtime target
    """
    return Before(memory_mib=vm.memory_mib, vcpus=vm.vcpus,
                  cpu_util=vm.cpu_util,
                  dirty_rate_mib_s=vm.dirty_rate_mib_s,
                  dirty_rate_err_mib_s=vm.dirty_rate_err_mib_s,
                  dirty_rate_samples=(tuple(vm.dirty_rate_samples)
                                      if vm.dirty_rate_samples else None),
                  wws_mib=vm.wws_mib, resident_mib=vm.resident_mib,
                  path_gbit_s=path_gbit_s, max_downtime_ms=max_downtime_ms)


def after_of(state, stats):
    """The ``after`` part of a record from a step's end.

    :param state: the step's final state (``completed``, ``failed``,
        ``aborted``)
    :param stats: the result's statistics (:class:`~nova_livemig.messages.
        Result` ``stats``; the optional page counts when the driver gave
        them)
    """
    completed = state == 'completed'
    return After(
        completed=completed, aborted=state == 'aborted',
        total_s=float(stats.get('total_s') or 0.0),
        downtime_ms=(float(stats['downtime_ms'])
                     if completed and stats.get('downtime_ms') is not None
                     else None),
        bytes=int(stats.get('bytes') or 0),
        iterations=stats.get('iterations'),
        normal_bytes=stats.get('normal_bytes'),
        zero_pages=stats.get('zero_pages'),
        postcopy_started_s=stats.get('postcopy_started_s'),
        postcopy_pauses=stats.get('postcopy_pauses'),
        postcopy_paused_s=stats.get('postcopy_paused_s'))


EXAMPLE = {
    'version': 1, 'vm': 'vm-1', 'source': 'cmp-1', 'destination': 'cmp-2',
    'algorithm': 'precopy',
    'before': {'memory_mib': 256, 'vcpus': 1, 'cpu_util': 0.2,
               'dirty_rate_mib_s': 41.5, 'dirty_rate_err_mib_s': 3.1,
               'dirty_rate_samples': [{'window_s': 1, 'mib_s': 40.0},
                                      {'window_s': 4, 'mib_s': 16.0}],
               'wws_mib': None, 'resident_mib': None, 'path_gbit_s': 0.2,
               'max_downtime_ms': 300},
    'after': {'completed': True, 'aborted': False, 'total_s': 12.3,
              'downtime_ms': 310, 'bytes': 268967936, 'iterations': 3,
              'normal_bytes': 233488384, 'zero_pages': 8844,
              'postcopy_started_s': None}}
