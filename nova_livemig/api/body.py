"""Reading a request: its JSON body and its query string, checked field
by field with :mod:`nova_livemig.validation`, so that a refusal names the
field (``body.hosts[0]``, ``query.limit``), the value and what is
allowed. A body larger than ``[api] max_body_bytes`` is refused with 413
before it is read; a body that is not JSON, or nests deeper than
:data:`MAX_DEPTH`, with 400.
"""

from nova_livemig import exception
from nova_livemig import validation
from nova_livemig.api import errors

#: the deepest nesting of a request body (a snapshot nests 4 deep)
MAX_DEPTH = 16
#: the longest query string value, in characters
MAX_QUERY_CHARS = 255


def json_body(req, max_bytes):
    """The decoded JSON body of ``req`` (an object).

    :raises ApiError: 415 when it is not ``application/json``, 413 when
        larger than ``max_bytes``, 400 when it is not a JSON object
    """
    if req.content_type != 'application/json':
        raise errors.ApiError(
            415, f'Content-Type: got {req.content_type or "none"!r}; '
                 'allowed: application/json')
    length = req.content_length
    if length is not None and length > max_bytes:
        raise errors.ApiError(
            413, f'body: {length} bytes; allowed: at most {max_bytes} '
                 'bytes ([api] max_body_bytes)')
    raw = req.body_file.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise errors.ApiError(
            413, f'body: more than {max_bytes} bytes; allowed: at most '
                 f'{max_bytes} bytes ([api] max_body_bytes)')
    try:
        text = raw.decode('utf-8')
        data = validation.parse_json(text, 'body', max_depth=MAX_DEPTH)
    except UnicodeDecodeError:
        raise errors.ApiError(400, 'body: not UTF-8; allowed: JSON text '
                                   'in UTF-8') from None
    except exception.InvalidInput as err:
        raise errors.of(err) from None
    if not isinstance(data, dict):
        raise errors.of(exception.InvalidInput('body', data,
                                               'a JSON object'))
    return data


def check(data, fields, path='body'):
    """``data`` checked against a field table
    (:func:`nova_livemig.validation.required` / ``optional``).

    :returns: ``{name: clean value}``
    :raises ApiError: 400 naming every bad field
    """
    chk = validation.Checker()
    out = chk.obj(path, data, fields)
    if chk.errors:
        raise errors.of(exception.InvalidSnapshot(chk.errors, 'request'))
    return out


def query(req, fields):
    """The query string of ``req`` checked against a field table whose
    kinds take strings (:data:`LIMIT` and such); a parameter given twice
    or not in the table is refused.

    :returns: ``{name: clean value}``
    """
    data = {}
    for name, value in req.GET.items():
        if name in data:
            raise errors.of(exception.InvalidInput(
                f'query.{name}', value, 'one value'))
        if len(value) > MAX_QUERY_CHARS:
            raise errors.of(exception.InvalidInput(
                f'query.{name}', value,
                f'at most {MAX_QUERY_CHARS} characters'))
        data[name] = value
    return check(data, fields, 'query')


def _int_text(minimum, maximum):
    def accept(v):
        if isinstance(v, str) and v.isdigit() and len(v) <= 10:
            n = int(v)
            if minimum <= n <= maximum:
                return n
        return validation.INVALID
    return validation.Kind(f'a whole number from {minimum} to {maximum}',
                           accept)


def _number_text(v):
    try:
        n = float(v)
    except ValueError:
        return validation.INVALID
    return n if n == n and 0 <= n < float('inf') else validation.INVALID


#: the largest page of a list
MAX_LIMIT = 1000
LIMIT = _int_text(1, MAX_LIMIT)
#: epoch seconds in a query string
EPOCH = validation.Kind('a number of seconds since the epoch, 0 or more',
                        _number_text)
#: a plan id (36 characters at most, as the database keeps it)
PLAN_ID = validation.Kind(
    'a plan id (1 to 36 printable characters)',
    lambda v: (v if isinstance(v, str) and 0 < len(v) <= 36
               and v.isprintable() else validation.INVALID))
#: a list of names (VMs, hosts): at most this many
MAX_NAMES = 10000
NAMES = validation.Kind(
    f'a list of at most {MAX_NAMES} names of 1 to '
    f'{validation.MAX_NAME_CHARS} printable characters',
    lambda v: (list(v) if isinstance(v, list) and len(v) <= MAX_NAMES
               and all(validation.NAME.accept(s) is not validation.INVALID
                       for s in v) else validation.INVALID))
