"""Reading an operator's text file without trusting it; writing one
that readers never see half-written.

:func:`read` is how every command reads a file it is given (a history
file, a calibration): it opens without blocking (a FIFO or a device never
hangs the command), refuses anything but a regular file, reads at most
``max_bytes`` (a huge file or ``/dev/zero`` is refused, not loaded) and
decodes strict UTF-8. Every error names the option and the path.

>>> read('/dev/null', 'history')
Traceback (most recent call last):
...
nova_livemig.exception.InvalidInput: history: got '/dev/null'; \
allowed: a regular file (this is a character device)
"""

import contextlib
import os
import stat
import tempfile

from nova_livemig import exception

#: the default bound of :func:`read`
MAX_BYTES = 64 * 1024 * 1024

_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'),
          (stat.S_ISCHR, 'a character device'),
          (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))


def _kind(mode):
    for test, words in _KINDS:
        if test(mode):
            return words
    return 'not a regular file'


def read(path, field, max_bytes=MAX_BYTES):
    """The text of a regular file.

    :param path: the file
    :param field: the option or argument that named it, for errors
    :param max_bytes: refuse a longer file
    :returns: a string
    :raises InvalidInput: naming ``field`` and ``path`` when the file
        cannot be opened, is not a regular file, is longer than
        ``max_bytes`` or is not UTF-8
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except (OSError, ValueError) as err:
        reason = getattr(err, 'strerror', None) or str(err)
        raise exception.InvalidInput(
            field, path, f'a readable file ({reason})') from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise exception.InvalidInput(
                field, path, f'a regular file (this is {_kind(mode)})')
        chunks = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise exception.InvalidInput(
            field, path, f'a readable file ({err.strerror})') from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise exception.InvalidInput(
            field, path, f'a file of at most {max_bytes} bytes')
    data = b''.join(chunks)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as err:
        raise exception.InvalidInput(
            field, path, f'UTF-8 text (invalid byte at offset {err.start})'
        ) from None


@contextlib.contextmanager
def replacing(path, field, prefix='.nova-livemig-'):
    """A text file to write that replaces ``path`` only once complete.

    The text goes to a temporary file beside ``path``, synced, made
    world-readable and renamed over ``path`` when the block ends without
    an exception (removed otherwise): a reader sees the old file or the
    new one, never half of one. A ``path`` that exists and is not a
    regular file (``/dev/stdout``, a FIFO) is written straight through.

    :param path: the file to replace
    :param field: the option that named it, for errors
    :raises InvalidInput: naming ``field`` and ``path`` when it is a
        directory or cannot be written
    """
    if os.path.isdir(path):
        raise exception.InvalidInput(field, path,
                                     'a file path (this is a directory)')
    try:
        if os.path.exists(path) and not os.path.isfile(path):
            with open(path, 'w', encoding='utf-8') as f:
                yield f
            return
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix)
    except OSError as err:
        raise exception.InvalidInput(
            field, path, f'a writable file ({err.strerror})') from None
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise exception.InvalidInput(
                field, path, f'a writable file ({err.strerror})') from None
        raise
