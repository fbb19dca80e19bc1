"""Checking decoded JSON, value by value: the one place for field checks.

A :class:`Kind` says what one JSON value may be (a non-empty string, a
positive integer, a fraction from 0 to 1, one of a few words...). Its
:meth:`~Kind.check` returns the clean value or raises
:class:`~nova_livemig.exception.InvalidInput` naming the field, the value
and what is allowed. A *field table* maps the fields of a JSON object to
:func:`required` and :func:`optional` kinds; :class:`Checker` checks objects
against tables and collects every error with its JSON path, so that a
document reader (the snapshot, :mod:`nova_livemig.model`) reports them all
at once. The wire messages (:mod:`nova_livemig.messages`) use the same kinds
and raise at the first error. :func:`parse_json` turns text into the
primitives both check. Errors show a long value shortened, with its size
(:func:`nova_livemig.loglines.shown`).

>>> POSITIVE.check('$.links[0].gbit_s', 25)
25.0
>>> number(minimum=0, exclusive=True).check('Step.deadline_s', -1)
Traceback (most recent call last):
...
nova_livemig.exception.InvalidInput: Step.deadline_s: got -1; \
allowed: a number > 0
>>> chk = Checker()
>>> chk.obj('$.links[0]', {'a': 'h1', 'gbit_s': 0, 'speed': 1},
...         {'a': required(STRING), 'b': required(STRING),
...          'gbit_s': required(POSITIVE)}) is None
True
>>> for err in chk.errors:
...     print(err)
$.links[0].speed: got 1; allowed: no such field; known fields: a, b, gbit_s
$.links[0].b: got None; allowed: a required string
$.links[0].gbit_s: got 0; allowed: a positive number
"""

import json
import math
import re
import sys
import typing

from nova_livemig import exception
from nova_livemig import loglines

#: what :attr:`Kind.accept` answers for a value it does not allow
INVALID = object()

_NUMBER_TYPES = (int, float)
_INF = float('inf')


class Kind:
    """What one JSON value may be.

    :param allowed: what is allowed, in words (``'a positive number'``);
        error messages quote it
    :param accept: ``accept(value)``: the clean value, or :data:`INVALID`
    :param name: the kind's name after "a required" in the error of a
        missing field; the default is ``allowed`` without its article
    """

    __slots__ = ('allowed', 'accept', 'name')

    def __init__(self, allowed, accept, name=None):
        self.allowed = allowed
        self.accept = accept
        self.name = name or allowed.removeprefix('an ').removeprefix('a ')

    def __repr__(self):
        return f'<Kind {self.allowed}>'

    def check(self, field, value):
        """The clean value.

        :param field: where the value sits, named in the error
        :raises InvalidInput: when the value is not allowed
        """
        clean = self.accept(value)
        if clean is INVALID:
            raise exception.InvalidInput(field, loglines.shown(value),
                                         self.allowed)
        return clean

    def or_null(self):
        """The same kind, or null (None).

        >>> STRING.or_null().check('uri', None) is None
        True
        >>> STRING.or_null().check('uri', '')
        Traceback (most recent call last):
        ...
        nova_livemig.exception.InvalidInput: uri: got ''; \
allowed: a non-empty string or null
        """
        accept = self.accept
        return Kind(f'{self.allowed} or null',
                    lambda v: None if v is None else accept(v),
                    name=f'{self.name} or null')


def _bound_words(minimum, maximum, exclusive):
    """The bounds of a number in words: `` >= 0``, `` > 0 and <= 1``."""
    bounds = []
    if minimum is not None:
        bounds.append(f'{">" if exclusive else ">="} {minimum:g}')
    if maximum is not None:
        bounds.append(f'<= {maximum:g}')
    return (' ' + ' and '.join(bounds)) if bounds else ''


def number(minimum=None, maximum=None, exclusive=False, allowed=None,
           name=None):
    """A finite JSON number (never a boolean), as a float.

    :param minimum: the smallest allowed; with ``exclusive``, every
        number above it
    :param maximum: the largest allowed
    :param allowed: the words of errors; by default they say the bounds
        (``a number >= 0``)
    :param name: see :class:`Kind`
    """
    low = -_INF if minimum is None else minimum
    high = _INF if maximum is None else maximum
    low_allowed = minimum is not None and not exclusive
    high_allowed = maximum is not None

    def accept(v):
        if type(v) not in _NUMBER_TYPES:  # exact JSON types skip this
            # bool is an int in Python, but not a number in JSON
            if isinstance(v, bool) or not isinstance(v, _NUMBER_TYPES):
                return INVALID
        # (NaN fails every comparison, infinity the open ends)
        if (low < v < high or (low_allowed and v == low)
                or (high_allowed and v == high)):
            return float(v)
        return INVALID

    words = 'a number' + _bound_words(minimum, maximum, exclusive)
    return Kind(allowed or words, accept, name)


def integer(minimum=None, exclusive=False, allowed=None, name=None,
            maximum=None):
    """A JSON integer (never a boolean), kept as it is.

    :param minimum: the smallest allowed; with ``exclusive``, every
        integer above it
    :param maximum: the largest allowed

    :param allowed: the words of errors (default ``an integer >= 0``...)
    :param name: see :class:`Kind`

    >>> integer(minimum=1, maximum=1000).check('limit', 5000)
    Traceback (most recent call last):
    ...
    nova_livemig.exception.InvalidInput: limit: got 5000; \
allowed: an integer >= 1 and <= 1000
    """
    def accept(v):
        if type(v) is not int and (isinstance(v, bool)
                                   or not isinstance(v, int)):
            return INVALID
        if minimum is not None and (v <= minimum if exclusive
                                    else v < minimum):
            return INVALID
        if maximum is not None and v > maximum:
            return INVALID
        return v

    words = 'an integer' + _bound_words(minimum, maximum, exclusive)
    return Kind(allowed or words, accept, name)


def one_of(choices):
    """One of a few strings.

    >>> one_of(('up', 'down')).check('state', 'UP')
    Traceback (most recent call last):
    ...
    nova_livemig.exception.InvalidInput: state: got 'UP'; \
allowed: one of up, down
    """
    choices = tuple(choices)
    return Kind('one of ' + ', '.join(choices),
                lambda v: v if isinstance(v, str) and v in choices
                else INVALID)


def _string(v):
    # the exact type first: the common case, and the cheapest test
    if (type(v) is str or isinstance(v, str)) and v:
        return v
    return INVALID


def _strings(v):
    if isinstance(v, list) and all(isinstance(s, str) and s for s in v):
        return tuple(v)
    return INVALID


#: the longest name :data:`NAME` accepts (Nova's host and aggregate
#: names are at most 255 characters)
MAX_NAME_CHARS = 255


def _name(v):
    # isprintable() is False for control and format characters, lone
    # surrogates, line separators and every space but ' '
    if (isinstance(v, str) and 0 < len(v) <= MAX_NAME_CHARS
            and v.isprintable()):
        return v
    return INVALID


STRING = Kind('a non-empty string', _string, name='string')
#: an identifier a terminal shows (a host, VM or switch name)
NAME = Kind(f'a name of 1 to {MAX_NAME_CHARS} printable characters (no '
            'control characters)', _name, name='name')
BOOLEAN = Kind('true or false',
               lambda v: v if isinstance(v, bool) else INVALID,
               name='boolean')
#: a list of non-empty strings, as a tuple
STRINGS = Kind('a list of non-empty strings', _strings,
               name='list of strings')
POSITIVE_INTEGER = integer(minimum=0, exclusive=True,
                           allowed='a positive integer')
FRACTION = number(minimum=0, maximum=1, allowed='a fraction from 0 to 1')
RATIO = number(minimum=0, exclusive=True, allowed='a positive ratio')
POSITIVE = number(minimum=0, exclusive=True, allowed='a positive number')
NON_NEGATIVE = number(minimum=0, allowed='a non-negative number')


class Field(typing.NamedTuple):
    """One line of a field table."""
    kind: Kind
    required: bool
    #: the value of a missing optional field
    default: object = None


def required(kind):
    """A field every object must have."""
    return Field(kind, True)


def optional(kind, default=None):
    """A field an object may leave out; it then has ``default``."""
    return Field(kind, False, default)


def unknown_field(field, value, known):
    """The error of a field that no table has.

    :param known: the names of the fields allowed there
    """
    return exception.InvalidInput(
        field, value, 'no such field; known fields: ' + ', '.join(known))


#: the longest integer literal :func:`parse_json` accepts, in digits
MAX_INT_DIGITS = 20


class _Refused(ValueError):
    pass


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f'duplicate key {loglines.shown(key)!r}')
        out[key] = value
    return out


def _bounded_int(literal):
    if len(literal.lstrip('-')) > MAX_INT_DIGITS:
        raise _Refused(f'an integer of more than {MAX_INT_DIGITS} digits')
    return int(literal)


def _no_constant(name):
    raise _Refused(f'{name} is not JSON')


class OutOfRange(float):
    """A JSON number a float cannot hold (``1e400``, ``1e-400``), as
    :func:`parse_json` returns it: NaN, which every :func:`number` kind
    refuses, shown in errors as written.

    >>> POSITIVE.check('$.gbit_s', parse_json('1e-400'))
    Traceback (most recent call last):
    ...
    nova_livemig.exception.InvalidInput: $.gbit_s: got 1e-400 (beyond \
the range of a float); allowed: a positive number
    """

    __slots__ = ('literal',)

    def __new__(cls, literal):
        self = super().__new__(cls, math.nan)
        self.literal = literal
        return self

    def __repr__(self):
        # a JSON number literal: digits, '-', '+', '.', 'e' and 'E' only
        literal = self.literal
        if len(literal) > loglines.MAX_SHOWN_CHARS:
            literal = (f'{literal[:loglines.MAX_SHOWN_CHARS // 2]}... '
                       f'({len(literal)} characters)')
        return f'{literal} (beyond the range of a float)'

    __str__ = __repr__


_NONZERO_MANTISSA = re.compile(r'-?0*\.?0*[1-9]')


def _bounded_float(literal):
    """The float of a JSON number with a fraction or an exponent; an
    :class:`OutOfRange` when it overflows to infinity, or a number other
    than zero underflows to zero or to a subnormal float."""
    value = float(literal)
    if math.isinf(value) or (
            abs(value) < sys.float_info.min
            and (value or _NONZERO_MANTISSA.match(literal))):
        return OutOfRange(literal)
    return value


def _too_deep(data, max_depth):
    """``(JSON path, value)`` of a list or object nested deeper than
    ``max_depth`` in ``data``, or None; iterative, so any depth is safe."""
    stack = [(data, 1, '$')] if type(data) in (dict, list) else []
    while stack:
        value, depth, path = stack.pop()
        if depth > max_depth:
            return path, value
        items = (value.items() if type(value) is dict
                 else enumerate(value))
        for key, child in items:
            if type(child) in (dict, list):
                child_path = (f'{path}[{key}]' if type(value) is list
                              else loglines.member(path, key))
                stack.append((child, depth + 1, child_path))
    return None


def parse_json(text, field='$', max_depth=None):
    """The primitives of JSON text, read strictly: a key twice in one
    object, ``NaN``/``Infinity``, an integer of more than
    :data:`MAX_INT_DIGITS` digits and nesting deeper than ``max_depth``
    (and than Python's recursion limit) are refused. A number a float
    cannot hold comes back as an :class:`OutOfRange`, which the number
    kinds refuse, naming its field.

    :param max_depth: the deepest nesting of lists and objects allowed
        (the top value is at depth 1)
    :raises InvalidInput: naming ``field`` (or the path of a value nested
        too deeply), the start of the text and the parser's complaint

    >>> parse_json('{"a": 1, "a": 2}', 'f')
    Traceback (most recent call last):
    ...
    nova_livemig.exception.InvalidInput: f: got '{"a": 1, "a": 2}'; \
allowed: JSON text (duplicate key 'a')
    """
    start = f'{text[:40]}...' if len(text) > 40 else text
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates,
                          parse_int=_bounded_int, parse_float=_bounded_float,
                          parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        if isinstance(err, RecursionError):
            err = 'nested too deeply'
        raise exception.InvalidInput(field, start,
                                     f'JSON text ({err})') from None
    found = None if max_depth is None else _too_deep(data, max_depth)
    if found is not None:
        path, value = found
        raise exception.InvalidInput(
            path.replace('$', field, 1), loglines.shown(value),
            f'a value nested at most {max_depth} deep in the document')
    return data


class Checker:
    """Collects every error of one document with its JSON path.

    :ivar errors: the :class:`~nova_livemig.exception.InvalidInput` found
    """

    def __init__(self):
        self.errors = []

    def error(self, path, value, allowed):
        self.errors.append(exception.InvalidInput(path, loglines.shown(value),
                                                  allowed))

    def check(self, path, value, kind):
        """The clean value, or :data:`INVALID` with the error recorded."""
        clean = kind.accept(value)
        if clean is INVALID:
            self.error(path, value, kind.allowed)
        return clean

    def unknown_fields(self, path, data, known):
        """Record an error for each key of ``data`` not in ``known``."""
        for key in data:
            if key not in known:
                self.errors.append(unknown_field(
                    loglines.member(path, key), loglines.shown(data[key]),
                    known))

    def obj(self, path, data, fields):
        """Check one JSON object against a field table.

        :param fields: ``{name: Field}``, every field allowed there
        :returns: ``{name: clean value}`` with the defaults of missing
            optional fields, or None when the object has an error
        """
        if not isinstance(data, dict):
            self.error(path, data, 'a JSON object')
            return None
        ok = True
        if not data.keys() <= fields.keys():
            self.unknown_fields(path, data, fields)
            ok = False
        out = {}
        for key, (kind, needed, default) in fields.items():
            if key not in data:
                if needed:
                    self.error(f'{path}.{key}', None,
                               f'a required {kind.name}')
                    ok = False
                else:
                    out[key] = default
                continue
            raw = data[key]
            value = kind.accept(raw)
            if value is INVALID:
                self.error(f'{path}.{key}', raw, kind.allowed)
                ok = False
                value = None
            out[key] = value
        return out if ok else None
