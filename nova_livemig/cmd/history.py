"""``nova-livemig history export``: the conductor's migration records as
JSON Lines (``doc/history.md``).

* ``history export [--output FILE] [--since EPOCH_S] [--limit N]``: the
  records stored in ``[database] connection``, oldest first, one per
  line (:func:`nova_livemig.history.jsonl.dumps`), on stdout or into
  FILE (written whole, then renamed into place: a failed export leaves
  no half file).

The command reads the database the conductor writes; it needs no message
bus and changes nothing (a schema that is not up to date is an error,
never upgraded). Each stored record is checked as a history file's line
would be: one that does not read is left out and named on stderr (exit
status 1).

Exit status: 0 every record written, 1 some left out, 2 bad input (an
argument, the configuration, a database that cannot be read).
"""

import os
import sys

from nova_livemig import exception
from nova_livemig import textfile
from nova_livemig import validation
from nova_livemig.cmd import arguments

HISTORY_ACTIONS = ('export',)
#: records read from the database at a time
PAGE = 1000
#: the most records one export writes
MAX_LIMIT = 10 ** 7
#: the latest ``--since`` (epoch seconds, year 5138)
MAX_EPOCH_S = 10 ** 11
#: stored records that do not read, named on stderr before the count
MAX_NAMED = 10

_LIMIT = validation.integer(minimum=1, maximum=MAX_LIMIT)
_SINCE = validation.number(minimum=0, maximum=MAX_EPOCH_S)


def add_arguments(parser):
    """The ``history`` sub-commands and their options."""
    sub = parser.add_subparsers(dest='history_action', required=True,
                                metavar='{export}')
    export = sub.add_parser(
        'export', help='write the stored migration records as JSON Lines',
        description='Write the migration records the conductor stored '
                    '([database] connection), oldest first, as JSON Lines '
                    '(doc/history.md).')
    export.add_argument('--output', metavar='FILE',
                        help='write into FILE (replaced whole) instead of '
                             'stdout')
    export.add_argument('--since', metavar='EPOCH_S',
                        help='only the migrations that finished at or '
                             'after this time (seconds since the epoch)')
    export.add_argument('--limit', metavar='N',
                        help=f'at most N records, the oldest first '
                             f'(1 to {MAX_LIMIT}; default: all)')
    return export


def _shown(text):
    return text if len(text) <= 40 else f'{text[:40]}...'


def parse_limit(text):
    """``--limit``: a whole number from 1 to :data:`MAX_LIMIT`, or None.

    >>> parse_limit('20')
    20
    >>> parse_limit('1' * 400)
    Traceback (most recent call last):
    ...
    nova_livemig.exception.InvalidInput: --limit: got '1111111111111111111\
111111111111111111111...'; allowed: an integer >= 1 and <= 1e+07
    """
    if text is None:
        return None
    stripped = text.strip()
    digits = stripped.lstrip('+')
    if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
        raise exception.InvalidInput('--limit', _shown(text), _LIMIT.allowed)
    return _LIMIT.check('--limit', int(digits))


def parse_since(text):
    """``--since``: epoch seconds from 0 to :data:`MAX_EPOCH_S`, or None.

    >>> parse_since('1764800000.5')
    1764800000.5
    >>> parse_since('nan')
    Traceback (most recent call last):
    ...
    nova_livemig.exception.InvalidInput: --since: got 'nan'; allowed: \
a number >= 0 and <= 1e+11 (seconds since the epoch)
    """
    if text is None:
        return None
    allowed = f'{_SINCE.allowed} (seconds since the epoch)'
    try:
        value = float(text) if len(text) <= 40 else None
    except ValueError:
        value = None
    if value is None or _SINCE.accept(value) is validation.INVALID:
        raise exception.InvalidInput('--since', _shown(text), allowed)
    return value


def open_database(conf):
    """The conductor's database, read as it is: an SQLite file that does
    not exist is an error (not created), and so is a schema that is not
    up to date (never upgraded here).

    :raises InvalidInput: naming ``[database] connection``
    """
    from sqlalchemy.engine import url as sa_url

    from nova_livemig.db import api as db_api
    connection = conf.database.connection
    try:
        url = sa_url.make_url(connection)
    except Exception as err:  # noqa: BLE001 - any parse error
        raise exception.InvalidInput(
            '[database] connection', '<unparsable URL>',
            f'an SQLAlchemy URL ({type(err).__name__})') from None
    if (url.drivername.startswith('sqlite') and url.database
            and url.database != ':memory:'
            and not os.path.isfile(url.database)):
        raise exception.InvalidInput(
            '[database] connection',
            url.render_as_string(hide_password=True),
            'the conductor\'s database (no such file: is this the '
            'configuration of the conductor? --config-file)')
    db = db_api.Database(connection)
    db.check()
    return db


def export(db, write, since=None, limit=None, page=PAGE):
    """Write the stored records, oldest first, page by page.

    :param write: ``write(text)``
    :returns: ``(written, [errors of the records left out])``
    """
    from nova_livemig.history import jsonl
    from nova_livemig.history import record
    written, errors, offset = 0, [], 0
    while limit is None or offset < limit:
        size = page if limit is None else min(page, limit - offset)
        rows = db.list_migration_records(since=since, limit=size,
                                         offset=offset)
        good = []
        for number, row in enumerate(rows, offset + 1):
            try:
                good.append(record.from_primitive(
                    row, f'migration_records[{number}]'))
            except exception.InvalidSnapshot as err:
                errors.append(err)
        if good:
            write(jsonl.dumps(good))
            written += len(good)
        offset += len(rows)
        if len(rows) < size:
            break
    return written, errors


def _to_file(path, produce):
    """Run ``produce(write)`` into ``path``, replaced once complete."""
    with textfile.replacing(path, '--output', '.history-') as f:
        return produce(f.write)


def run(args, conf, out=None, err=None):
    """Run ``history ACTION``; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    limit = parse_limit(args.limit)
    since = parse_since(args.since)
    arguments.check_output(args.output, '--output')
    db = open_database(conf)

    def produce(write):
        return export(db, write, since=since, limit=limit)

    from sqlalchemy import exc as sa_exc
    try:
        if args.output:
            written, errors = _to_file(args.output, produce)
        else:
            written, errors = produce(out.write)
    except sa_exc.SQLAlchemyError as error:
        raise exception.InvalidInput(
            '[database] connection',
            db.engine.url.render_as_string(hide_password=True),
            f'a database whose records can be read ({error})') from None
    for error in errors[:MAX_NAMED]:
        err.write(f'nova-livemig: warning: left out: {error}\n')
    if errors:
        err.write(f'nova-livemig: {len(errors)} stored record(s) left out, '
                  f'{written} written\n')
        return 1
    if args.output:
        err.write(f'nova-livemig: {written} record(s) written to '
                  f'{args.output}\n')
    return 0
