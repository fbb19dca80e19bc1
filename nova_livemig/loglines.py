"""Log lines and error messages that echo what a client sent, bounded.

A peer on the bus chooses what it sends, and a file what it holds: a
10 MB id must not become a 10 MB log line (or two, with a traceback), nor
a 10 MB error reply, nor escape sequences on an operator's terminal.
:func:`shorten` bounds a log line's echo, :func:`shown` the value an
error names, :func:`printable` and :func:`message_lines` what a terminal
or a log prints.

>>> shorten('x' * 1000, 20)
"'xxxx...(1002 chars)"
>>> shorten('short')
"'short'"
"""

import math
import re
import reprlib

from nova_livemig import exception

#: characters of a client's value a log line or error message shows
LIMIT = 200


def shorten(value, limit=LIMIT):
    """``repr(value)``, cut to about ``limit`` characters, saying how long
    it was when cut."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails is no reason
        text = f'<{type(value).__name__}>'
    if len(text) <= limit:
        return text
    tail = f'...({len(text)} chars)'
    return text[:max(limit - len(tail), 0)] + tail


class Clipped:
    """A value whose ``repr`` is :func:`shorten`'s (for the messages of
    :class:`~nova_livemig.exception.InvalidInput`, which ``repr`` it)."""

    def __init__(self, value, limit=LIMIT):
        self.text = shorten(value, limit)

    def __repr__(self):
        return self.text

    __str__ = __repr__


def clipped(err, limit=LIMIT):
    """``err`` with what it echoes of the client's input bounded: when
    its message is longer than ``4 * limit``, an
    :class:`~nova_livemig.exception.InvalidInput` or
    :class:`~nova_livemig.exception.NotFound` of the same kind, made
    anew; any other error, or a short one, is returned as it is.

    >>> err = exception.InvalidInput('vm', 'v' * 10 ** 7, 'a VM id')
    >>> len(str(clipped(err))) < 300, clipped(err).field
    (True, 'vm')
    """
    if len(str(err)) <= 4 * limit:
        return err
    if isinstance(err, exception.InvalidInput):
        return type(err)(shorten(err.field, limit).strip('\'"'),
                         Clipped(err.value, limit),
                         shorten(err.allowed, 4 * limit).strip('\'"'))
    if isinstance(err, exception.NotFound):
        return type(err)(err.kind, Clipped(err.name, limit))
    return err


# How errors show what they got: a value at most about MAX_SHOWN_CHARS
# long, a field name and a message line that a terminal prints as they
# are (no control characters).

#: values longer than this are shown shortened, with their size
MAX_SHOWN_CHARS = 80
_PLAIN_KEY = re.compile(r'[A-Za-z_][A-Za-z0-9_]{0,63}\Z')


class Shortened:
    """How an error shows a long value: its start and its size."""

    __slots__ = ('text',)

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


class _Repr(reprlib.Repr):
    """reprlib's, short; ``cut`` tells that it left something out."""

    def __init__(self):
        super().__init__()
        self.maxlevel = 2
        self.maxstring = self.maxother = 30
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 3
        self.cut = False

    def repr(self, x):
        text = super().repr(x)
        self.cut = self.cut or '...' in text
        return text

    def repr_int(self, x, level):
        # repr() of an integer of more than 4300 digits raises
        text = _short_int(x)
        self.cut = self.cut or text is not None
        return text or repr(x)


def _short_int(value):
    bits = value.bit_length()
    if bits > 200:
        return f'an integer of about {int(bits * math.log10(2)) + 1} digits'
    return None


def _short_str(value):
    size = len(value)
    if size <= MAX_SHOWN_CHARS:
        text = repr(value)
        if len(text) <= MAX_SHOWN_CHARS + 20:
            return None
    n = MAX_SHOWN_CHARS - 20
    text = repr(value[:n])
    while len(text) > MAX_SHOWN_CHARS - 18 and n > 1:
        n //= 2
        text = repr(value[:n])
    return f'{text[:-1]}...{text[-1]} ({size} characters)'


def shown(value):
    """``value`` as an error shows it: itself when short, else a
    :class:`Shortened` of its start and size.

    >>> shown('x' * 1000) # doctest: +ELLIPSIS
    'xxxxxxxxxx...' (1000 characters)
    >>> shown([1, 2])
    [1, 2]
    """
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        text = _short_int(value)
    elif isinstance(value, str):
        text = _short_str(value)
    else:
        short = _Repr()
        text = short.repr(value)
        size = len(value) if hasattr(value, '__len__') else None
        if not short.cut and len(text) <= MAX_SHOWN_CHARS:
            return value
        if len(text) > MAX_SHOWN_CHARS:
            text = text[:MAX_SHOWN_CHARS - 3] + '...'
        if size is not None:
            text = f'{text} ({size} item{"" if size == 1 else "s"})'
    return value if text is None else Shortened(text)


def member(path, key):
    """The path of the member ``key`` of the object at ``path``:
    ``$.a.name``, or ``$.a['odd key']`` for a key that is not a plain
    name (shortened, control characters escaped).

    >>> member('$.a', 'name'), member('$.a', 'two words')
    ('$.a.name', "$.a['two words']")
    """
    if isinstance(key, str) and _PLAIN_KEY.match(key):
        return f'{path}.{key}'
    return f'{path}[{shown(key)!r}]'


def printable(text):
    """``text`` with every character a terminal would act on (control
    and format characters, lone surrogates, line separators) escaped.

    >>> print(printable('vm\\x1b[2J\\r1'))
    vm\\x1b[2J\\r1
    """
    if text.isprintable():
        return text
    return ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


#: :func:`message_lines` cuts longer lines
MAX_LINE_CHARS = 600
#: :func:`message_lines` lists at most this many errors of a document
MAX_ERRORS_SHOWN = 20


def _line(text):
    text = printable(text)
    if len(text) > MAX_LINE_CHARS:
        text = (f'{text[:MAX_LINE_CHARS - 40]}... (a line of {len(text)} '
                'characters)')
    return text


def message_lines(err, max_errors=MAX_ERRORS_SHOWN):
    """An error as lines a terminal or a log shows safely: printable,
    of at most :data:`MAX_LINE_CHARS` characters; the errors of an
    :class:`~nova_livemig.exception.InvalidSnapshot` on one line when it
    has one, else one per line, at most ``max_errors`` of them.

    >>> message_lines(exception.InvalidSnapshot(
    ...     [exception.InvalidInput('$.version', 2, 'the integer 1')]))
    ['invalid snapshot: $.version: got 2; allowed: the integer 1']
    """
    errors = getattr(err, 'errors', None)
    if not isinstance(err, exception.InvalidSnapshot) or not errors:
        return [_line(line) for line in str(err).split('\n')[:max_errors]]
    head = str(err).split(' (', 1)[0]
    if len(errors) == 1:
        return [_line(f'{head}: {errors[0]}')]
    lines = [_line(str(err).split('\n', 1)[0])]
    lines += [_line(f'  {e}') for e in errors[:max_errors]]
    if len(errors) > max_errors:
        lines.append(f'  ... and {len(errors) - max_errors} more')
    return lines
