"""``iniset``/``iniget`` for tools/cloud/devstack-shim.sh: set or read one
option of an ini file in place, keeping comments and order.

Usage: iniedit.py set FILE SECTION OPTION VALUE | get FILE SECTION OPTION
"""

import os
import sys


def _find(lines, section):
    """(start, end) line indexes of ``section``'s body, or None."""
    start = None
    for i, line in enumerate(lines):
        head = line.strip()
        if head.startswith('[') and head.endswith(']'):
            if start is not None:
                return start, i
            if head[1:-1] == section:
                start = i + 1
    return None if start is None else (start, len(lines))


def _option_at(lines, span, option):
    for i in range(*span):
        name, sep, _ = lines[i].partition('=')
        if sep and not lines[i].lstrip().startswith(('#', ';')) \
                and name.strip() == option:
            return i
    return None


def main(argv):
    action, path, section, option = argv[1:5]
    lines = []
    if os.path.exists(path):
        with open(path) as f:
            lines = f.read().splitlines()
    span = _find(lines, section)
    at = None if span is None else _option_at(lines, span, option)
    if action == 'get':
        if at is not None:
            print(lines[at].partition('=')[2].strip())
        return
    entry = f'{option} = {argv[5]}'
    if at is not None:
        lines[at] = entry
    elif span is not None:
        lines.insert(span[1] if span[1] == len(lines) or lines[span[1] - 1]
                     .strip() else span[1] - 1, entry)
    else:
        lines += ['', f'[{section}]', entry]
    fd = os.open(path + '.new', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(path + '.new', path)


if __name__ == '__main__':
    main(sys.argv)
