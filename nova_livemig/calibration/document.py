"""The JSON form of a calibration (``CAL.json``), format version 1::

    {"version": 1, "fitted_at": 1764800000.0, "records": 96,
     "constants": {"goodput_fraction": {"value": 0.95, "stderr": 0.004,
                                        "records": 70}, ...},
     "defaulted": {"compress_ratio": "no completed compress migration"},
     "evidence": {"precopy": 24, "postcopy": 24},
     "by_path": {"cmp-1>cmp-2": {"value": 0.95, "stderr": 0.01,
                                 "records": 12}}}

Only the constants of :data:`BOUNDS` may appear, each within its bounds:
a calibration file is operator input and is read as strictly as a
snapshot (:func:`load`).

>>> from nova_livemig import calibration
>>> cal = calibration.Calibration(
...     constants={'setup_s': calibration.Constant(0.6, 0.05, 40)},
...     evidence={'precopy': 40}, records=40)
>>> loads(dumps(cal), 'cal.json') == cal
True
>>> loads('{"version": 1, "constants": {"setup_s": {"value": -1, '
...       '"stderr": null, "records": 3}}}', 'cal.json')
Traceback (most recent call last):
...
nova_livemig.exception.InvalidSnapshot: ...
"""

import json

from nova_livemig import calibration
from nova_livemig import exception
from nova_livemig import textfile
from nova_livemig import validation
from nova_livemig.validation import optional
from nova_livemig.validation import required

VERSION = 1
#: the largest calibration file read, bytes
MAX_FILE_BYTES = 4 * 1024 * 1024
#: at most this many host pairs in ``by_path``
MAX_PATHS = 100000

#: the constants a calibration may set, with their bounds
BOUNDS = {
    'goodput_fraction': validation.number(minimum=0.05, maximum=1.0),
    'setup_s': validation.number(minimum=0, maximum=600),
    'switchover_ms': validation.number(minimum=0, maximum=10000),
    'device_state_mib': validation.number(minimum=0, maximum=1024),
    'pause_backlog_mib': validation.number(minimum=0, maximum=1024),
    'migration_dirty_factor': validation.number(minimum=0.1, maximum=10),
    'resident_fraction': validation.number(minimum=0.01, maximum=1.0),
    'dirty_overlap': validation.number(minimum=0, maximum=1.0),
    'compress_ratio': validation.number(minimum=0.01, maximum=1.0),
    'compress_mib_s': validation.number(minimum=1, maximum=10 ** 6),
}
_STDERR = validation.number(minimum=0, maximum=10 ** 6).or_null()
_COUNT = validation.integer(minimum=0, maximum=10 ** 9)
_OBJECT = validation.Kind('a JSON object', lambda v: v if isinstance(
    v, dict) else validation.INVALID)
_TOP = {
    'version': required(validation.integer(
        minimum=VERSION, maximum=VERSION,
        allowed=f'{VERSION} (the only calibration format version known)')),
    'fitted_at': optional(validation.number(
        minimum=0, maximum=10 ** 11).or_null()),
    'records': optional(_COUNT, 0),
    'constants': required(_OBJECT),
    'defaulted': optional(_OBJECT, {}),
    'evidence': optional(_OBJECT, {}),
    'by_path': optional(_OBJECT, {}),
}
_REASON = validation.Kind(
    'a string of at most 1000 characters',
    lambda v: v if isinstance(v, str) and len(v) <= 1000
    else validation.INVALID)
_ALGORITHM = validation.one_of(
    ('precopy', 'autoconverge', 'compress', 'postcopy', 'hybrid'))


def _constant(chk, path, raw, kind):
    fields = chk.obj(path, raw, {'value': required(kind),
                                 'stderr': optional(_STDERR),
                                 'records': required(_COUNT)})
    if fields is None:
        return None
    return calibration.Constant(fields['value'], fields['stderr'],
                                fields['records'])


def from_primitive(data, name='calibration'):
    """A :class:`~nova_livemig.calibration.Calibration` from decoded JSON.

    :param name: the file's name, the root of error paths
    :raises InvalidSnapshot: listing every problem found
    """
    chk = validation.Checker()
    top = chk.obj(name, data, _TOP)
    if top is None:
        raise exception.InvalidSnapshot(chk.errors, 'calibration')
    constants = {}
    for key, raw in top['constants'].items():
        kind = BOUNDS.get(key)
        if kind is None:
            chk.errors.append(validation.unknown_field(
                f'{name}.constants.{key}', raw, sorted(BOUNDS)))
            continue
        const = _constant(chk, f'{name}.constants.{key}', raw, kind)
        if const is not None:
            constants[key] = const
    defaulted = {}
    for key, raw in top['defaulted'].items():
        defaulted[key] = chk.check(f'{name}.defaulted.{key}', raw, _REASON)
    evidence = {}
    for key, raw in top['evidence'].items():
        if chk.check(f'{name}.evidence.{key}', key, _ALGORITHM) is not \
                validation.INVALID:
            evidence[key] = chk.check(f'{name}.evidence.{key}', raw, _COUNT)
    by_path = {}
    if len(top['by_path']) > MAX_PATHS:
        chk.error(f'{name}.by_path', f'{len(top["by_path"])} paths',
                  f'at most {MAX_PATHS} paths')
    else:
        for key, raw in top['by_path'].items():
            const = _constant(chk, f'{name}.by_path.{key}', raw,
                              BOUNDS['goodput_fraction'])
            if const is not None:
                by_path[key] = const
    if chk.errors:
        raise exception.InvalidSnapshot(chk.errors, 'calibration')
    return calibration.Calibration(
        constants=constants, defaulted=defaulted, evidence=evidence,
        records=top['records'], fitted_at=top['fitted_at'], by_path=by_path)


def to_primitive(cal):
    def const(c):
        return {'value': round(c.value, 6),
                'stderr': None if c.stderr is None else round(c.stderr, 6),
                'records': c.records}
    return {'version': VERSION, 'fitted_at': cal.fitted_at,
            'records': cal.records,
            'constants': {k: const(c) for k, c in cal.constants.items()},
            'defaulted': dict(cal.defaulted),
            'evidence': dict(cal.evidence),
            'by_path': {k: const(c) for k, c in cal.by_path.items()}}


def loads(text, name='calibration'):
    """Parse and check calibration JSON text (see :func:`from_primitive`).
    """
    try:
        data = validation.parse_json(text, name)
    except exception.InvalidInput as err:
        raise exception.InvalidSnapshot([err], 'calibration') from None
    return from_primitive(data, name)


def load(path, field='--calibration'):
    """Read and check a calibration file.

    :param field: the option that named it, for errors
    :raises InvalidInput: when the file cannot be read
    :raises InvalidSnapshot: when its content is bad
    """
    return loads(textfile.read(path, field, MAX_FILE_BYTES), path)


def dumps(cal):
    """Calibration JSON text."""
    return json.dumps(to_primitive(cal), indent=1, sort_keys=True) + '\n'
