"""History files: JSON Lines, one record per line.

:func:`load` reads one strictly (:func:`nova_livemig.textfile.read`: a
regular file of bounded size, UTF-8; :func:`~nova_livemig.validation.
parse_json`: no duplicate keys, no huge integers) and reports every bad
line, each error naming ``FILE:LINE`` and the field. Blank lines and
lines starting with ``#`` are skipped.

>>> from nova_livemig.history import record
>>> text = dumps([record.from_primitive(record.EXAMPLE)])
>>> [r.vm for r in loads(text, 'h.jsonl')]
['vm-1']
>>> loads('{"version": 2}', 'h.jsonl')
Traceback (most recent call last):
...
nova_livemig.exception.InvalidSnapshot: ...
"""

import json

from nova_livemig import exception
from nova_livemig import textfile
from nova_livemig import validation
from nova_livemig.history import record

#: the largest history file read, bytes
MAX_FILE_BYTES = 256 * 1024 * 1024
#: the longest line (one record), characters
MAX_LINE_CHARS = 64 * 1024
#: stop after this many bad lines (their errors are all reported)
MAX_ERRORS = 20


def loads(text, name):
    """The records of history text.

    :param name: the file's name, for errors
    :returns: a list of :class:`~nova_livemig.history.record.Record`
    :raises InvalidSnapshot: listing the errors of every bad line (at most
        :data:`MAX_ERRORS`)
    """
    records = []
    errors = []
    for number, line in enumerate(text.split('\n'), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        where = f'{name}:{number}'
        try:
            if len(line) > MAX_LINE_CHARS:
                raise exception.InvalidInput(
                    where, f'{line[:40]}...',
                    f'a line of at most {MAX_LINE_CHARS} characters')
            data = validation.parse_json(line, where)
            records.append(record.from_primitive(data, where))
        except exception.InvalidInput as err:
            errors.append(err)
        except exception.InvalidSnapshot as err:
            errors.extend(err.errors)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise exception.InvalidSnapshot(errors, 'history file')
    return records


def load(path, field='history'):
    """The records of a history file (see :func:`loads`).

    :param field: the option that named the file, for errors
    :raises InvalidInput: when the file cannot be read
    :raises InvalidSnapshot: when a line is bad
    """
    return loads(textfile.read(path, field, MAX_FILE_BYTES), path)


def dumps(records):
    """History text: one compact JSON line per record, newline-ended."""
    return ''.join(json.dumps(record.to_primitive(r), sort_keys=False,
                              separators=(',', ':')) + '\n'
                   for r in records)
