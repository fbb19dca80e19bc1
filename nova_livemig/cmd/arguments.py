"""Checking the command line before anything is read, written or
contacted: numbers, names and output paths.

argparse converts an option with a ``type=``; the converters here refuse
NaN, infinity and numbers out of their range at that point, naming the
option (exit status 2, before any file is read or any service asked).
:func:`check_names` checks the ids and names a command sends to the
conductor as the conductor would, so that a bad one is reported without
a transport; :func:`check_output` refuses an output path that cannot be
written, or would block (a FIFO nobody reads), before any work is done.

>>> bounded_int(1, 1000)('20')
20
>>> bounded_number(0, 3600, exclusive=True)('nan')
Traceback (most recent call last):
...
argparse.ArgumentTypeError: got 'nan'; allowed: a number > 0 and <= 3600
"""

import argparse
import math
import os
import stat

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig import validation

#: the longest number literal taken from the command line
MAX_NUMBER_CHARS = 40
#: what the conductor takes in one ``create_plan`` (its ``MAX_ITEMS``)
MAX_ITEMS = 10000
#: a plan id, as the conductor keeps it (36 characters)
PLAN_ID = validation.Kind(
    'a plan id (1 to 36 printable characters; see "plan list")',
    lambda v: (v if isinstance(v, str) and 0 < len(v) <= 36
               and v.isprintable() else validation.INVALID))


def _refused(text, allowed):
    shown = loglines.printable(loglines.shorten(text, 60))
    return argparse.ArgumentTypeError(f'got {shown}; allowed: {allowed}')


def bounded_int(minimum, maximum):
    """An argparse ``type``: a whole number from ``minimum`` to
    ``maximum``."""
    allowed = f'a whole number from {minimum} to {maximum}'

    def convert(text):
        digits = text.strip()
        if (len(digits) > MAX_NUMBER_CHARS or not digits.isascii()
                or not digits.lstrip('+-').isdigit()):
            raise _refused(text, allowed)
        value = int(digits)
        if not minimum <= value <= maximum:
            raise _refused(text, allowed)
        return value
    return convert


def bounded_number(minimum, maximum, exclusive=False):
    """An argparse ``type``: a finite number above ``minimum`` (or equal,
    unless ``exclusive``) and at most ``maximum``."""
    allowed = (f'a number {">" if exclusive else ">="} {minimum:g} and '
               f'<= {maximum:g}')

    def convert(text):
        try:
            value = (float(text) if len(text) <= MAX_NUMBER_CHARS
                     else math.nan)
        except ValueError:
            value = math.nan
        low_ok = value > minimum if exclusive else value >= minimum
        if not (math.isfinite(value) and low_ok and value <= maximum):
            raise _refused(text, allowed)
        return value
    return convert


def check_names(pairs):
    """Check ``(flag, value or list of values, kind)`` triples; a None
    value is skipped.

    :raises InvalidInput: naming the flag, for the first bad value
    """
    for flag, values, kind in pairs:
        if values is None:
            continue
        if isinstance(values, (list, tuple)):
            if len(values) > MAX_ITEMS:
                raise exception.InvalidInput(
                    flag, f'{len(values)} values',
                    f'at most {MAX_ITEMS} values')
        else:
            values = [values]
        for value in values:
            kind.check(flag, value)  # its error shows the value shortened


def check_output(path, flag):
    """Refuse an output path that cannot be written, before any work:
    a directory, a path in a missing directory, a FIFO no process reads
    (writing to it would block for ever). A file that exists is replaced;
    ``/dev/stdout`` and a FIFO being read are written through.

    :raises InvalidInput: naming ``flag`` and the path
    """
    if path is None:
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise exception.InvalidInput(
                flag, loglines.shown(path),
                'a writable file (no such directory)') from None
        return
    except (OSError, ValueError) as err:  # too long, a NUL, not a dir
        why = getattr(err, 'strerror', None) or 'not a path'
        raise exception.InvalidInput(flag, loglines.shown(path),
                                     f'a writable file path ({why})') from None
    if stat.S_ISDIR(info.st_mode):
        raise exception.InvalidInput(flag, loglines.shown(path),
                                     'a writable file (this is a directory)')
    if stat.S_ISFIFO(info.st_mode):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader
            raise exception.InvalidInput(
                flag, loglines.shown(path), 'a writable file (this is a FIFO '
                'no process reads: writing would block)') from None
        os.close(fd)
