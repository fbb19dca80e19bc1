"""A corpus of hostile ``nova-livemig`` command lines.

:func:`cases` gives every option that takes a value, in each sub-command
that has it, the values an operator's typo or a hostile script can give:
numbers no option allows (400 digits, ``nan``, ``inf``, negative, a
megabyte of digits), names with control characters, a lone surrogate, a
megabyte of text or 256 characters, and paths that are a FIFO, a
directory, ``/dev/zero`` (directly or through a symbolic link), missing,
or a megabyte long. Every case is refused with exit status 2 and one line
on standard error naming the argument: before anything is read, written
or contacted (the commands that reach the conductor check their input
before they look at the transport; the default ``fake://`` transport
would be refused naming ``[DEFAULT] transport_url`` instead).

:func:`make_paths` creates the special files in a directory.
"""

import os
import pathlib
import typing

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json')
MIB = 1024 * 1024

#: values no numeric option takes
NUMBERS = {'int-401-digits': '1' + '0' * 400, 'nan': 'nan', 'inf': 'inf',
           'minus-inf': '-inf', 'negative': '-1', 'escape': '1\x1b[2J',
           'megabyte': '9' * MIB, 'empty': '', 'word': 'soon'}
#: values of whole-number options only (the others take them)
NOT_WHOLE = {'fraction': '1.5', 'exponent': '1e3'}
#: values no id or name takes
NAMES = {'escape-sequence': 'v\x1b[2J\x1b[31m', 'newline': 'v\nforged',
         'megabyte': 'x' * MIB, 'lone-surrogate': 'v\udcff',
         'bidi-override': 'v\u202e1', 'empty': '', 'name-256': 'n' * 256}
#: a password or token no error message may show
SECRET = 's3cretPW'
#: endpoints no --api-url takes (the password of the last is never shown)
URLS = {'ftp-scheme': 'ftp://api:9599', 'file-scheme': 'file:///etc/passwd',
        'javascript': 'javascript:alert(1)', 'no-host': 'http://',
        'no-scheme': 'api:9599', 'port-99999': 'http://api:99999',
        'port-0': 'http://api:0', 'escape-sequence': 'http://api\x1b[2J/',
        'newline': 'http://api/\nX-Forged: 1', 'space': 'http://a pi/',
        'megabyte': 'http://' + 'a' * MIB, 'empty': '',
        'non-ascii': 'http://\u0430pi.example/',
        'userinfo': f'http://admin:{SECRET}@api:9599/'}
#: tokens no --os-token takes
TOKENS = {'newline': f'{SECRET}\nX-Forged: 1',
          'escape-sequence': f'{SECRET}\x1b[2J', 'space': f'{SECRET} 2',
          'megabyte': SECRET * (MIB // len(SECRET)), 'empty': '',
          'lone-surrogate': f'{SECRET}\udcff', 'non-ascii': f'{SECRET}\u00e9'}
#: input paths no option reads (``{dir}`` is :func:`make_paths`'s)
IN_PATHS = {'fifo': '{dir}/fifo', 'directory': '{dir}/folder',
            'dev-zero': '/dev/zero', 'link-to-dev-zero': '{dir}/zero',
            'missing': '{dir}/missing/file', 'megabyte': 'p' * MIB,
            'escape-sequence': '{dir}/\x1b[2J'}
#: output paths no option writes
OUT_PATHS = {'fifo-nobody-reads': '{dir}/fifo', 'directory': '{dir}/folder',
             'missing-directory': '{dir}/missing/out.json',
             'megabyte': 'p' * MIB, 'under-dev-zero': '/dev/zero/out.json'}

OFFLINE = ['plan', '--snapshot', EXAMPLE, '--policy', 'drain', '--host',
           'cmp-r1-01']
#: ``(what, argv with VALUE, the argument errors name, value table)``
TEMPLATES = [
    ('plan --max-downtime-ms', OFFLINE + ['--max-downtime-ms', 'VALUE'],
     '--max-downtime-ms', NUMBERS),
    ('plan list --limit', ['plan', 'list', '--limit', 'VALUE'], '--limit',
     NUMBERS | NOT_WHOLE),
    ('plan purge --older-than-days',
     ['plan', 'purge', '--older-than-days', 'VALUE'], '--older-than-days',
     NUMBERS | NOT_WHOLE),
    ('plan execute --interval',
     ['plan', 'execute', 'p1', '--interval', 'VALUE'], '--interval',
     NUMBERS),
    ('migrate --interval', ['migrate', 'v1', '--interval', 'VALUE'],
     '--interval', NUMBERS),
    ('history export --since', ['history', 'export', '--since', 'VALUE'],
     '--since', NUMBERS),
    ('history export --limit', ['history', 'export', '--limit', 'VALUE'],
     '--limit', NUMBERS | NOT_WHOLE),
    ('plan show ID', ['plan', 'show', 'VALUE'], 'ID', NAMES),
    ('plan execute ID', ['plan', 'execute', 'VALUE'], 'ID', NAMES),
    ('plan abort ID', ['plan', 'abort', 'VALUE'], 'ID', NAMES),
    ('plan show ID (37 characters)', ['plan', 'show', 'VALUE'], 'ID',
     {'plan-id-37': 'p' * 37}),
    ('plan list --marker', ['plan', 'list', '--marker', 'VALUE'],
     '--marker', NAMES),
    ('plan create --policy', ['plan', 'create', '--policy', 'VALUE'],
     '--policy', NAMES),
    ('plan create --host',
     ['plan', 'create', '--policy', 'drain', '--host', 'VALUE'], '--host',
     NAMES),
    ('plan create --vm',
     ['plan', 'create', '--policy', 'single', '--vm', 'VALUE'], '--vm',
     NAMES),
    ('migrate VM', ['migrate', 'VALUE'], 'VM', NAMES),
    ('plan list --api-url', ['plan', 'list', '--api-url', 'VALUE'],
     '--api-url', URLS),
    ('migrate --api-url', ['migrate', 'v1', '--api-url', 'VALUE',
                           '--os-token', 'admin'], '--api-url', URLS),
    ('plan show --os-token',
     ['plan', 'show', 'p1', '--api-url', 'http://api:9599', '--os-token',
      'VALUE'], '--os-token', TOKENS),
    ('plan list --os-token without --api-url',
     ['plan', 'list', '--os-token', 'VALUE'], '--os-token',
     {'plain': SECRET}),
    ('plan list --os-cloud', ['plan', 'list', '--os-cloud', 'VALUE'],
     '--os-cloud', NAMES),
    ('plan list --os-region-name',
     ['plan', 'list', '--os-region-name', 'VALUE'], '--os-region-name',
     NAMES),
    ('plan list --os-interface',
     ['plan', 'list', '--os-interface', 'VALUE'], '--os-interface',
     {'unknown': 'private', 'escape-sequence': 'public\x1b[2J'}),
    ('migrate --to', ['migrate', 'v1', '--to', 'VALUE'], '--to', NAMES),
    ('plan --policy', ['plan', '--snapshot', EXAMPLE, '--policy', 'VALUE'],
     '--policy', NAMES),
    ('plan --host',
     ['plan', '--snapshot', EXAMPLE, '--policy', 'drain', '--host', 'VALUE'],
     '--host', NAMES),
    ('plan --vm',
     ['plan', '--snapshot', EXAMPLE, '--policy', 'single', '--vm', 'VALUE'],
     '--vm', NAMES),
    ('plan --rack',
     ['plan', '--snapshot', EXAMPLE, '--policy', 'drain', '--rack', 'VALUE'],
     '--rack', NAMES),
    # the snapshot reader names the file 'snapshot' (tests/hostile/
    # snapshots.py has the hostile contents)
    ('plan --snapshot', ['plan', '--snapshot', 'VALUE', '--policy', 'drain'],
     'snapshot', IN_PATHS),
    ('plan --calibration', OFFLINE + ['--calibration', 'VALUE'],
     '--calibration', IN_PATHS),
    ('calibrate --history',
     ['calibrate', '--history', 'VALUE', '--output', '{dir}/cal.json'],
     '--history', IN_PATHS),
    ('--config-file (before plan list)',
     ['--config-file', 'VALUE', 'plan', 'list'], '--config-file', IN_PATHS),
    ('--config-file (after plan --snapshot)',
     OFFLINE + ['--config-file', 'VALUE'], '--config-file', IN_PATHS),
    ('--config-file (after history export)',
     ['history', 'export', '--config-file', 'VALUE'], '--config-file',
     IN_PATHS),
    ('plan --output', OFFLINE + ['--output', 'VALUE'], '--output',
     OUT_PATHS),
    ('plan --graph', OFFLINE + ['--graph', 'VALUE'], '--graph', OUT_PATHS),
    ('calibrate --output',
     ['calibrate', '--history', '{dir}/history.jsonl', '--output', 'VALUE'],
     '--output', OUT_PATHS),
    ('history export --output', ['history', 'export', '--output', 'VALUE'],
     '--output', OUT_PATHS),
]


class Case(typing.NamedTuple):
    """One hostile command line."""
    name: str
    #: the arguments; ``{dir}`` stands for :func:`make_paths`'s directory
    argv: tuple
    #: what the error must name
    argument: str

    def args(self, folder):
        return [a.replace('{dir}', folder) if len(a) < 4096 else a
                for a in self.argv]


def cases():
    """Every hostile command line of the corpus."""
    out = []
    for what, template, argument, values in TEMPLATES:
        for value_name, value in values.items():
            argv = tuple(value if a == 'VALUE' else a for a in template)
            out.append(Case(f'{what}={value_name}', argv, argument))
    return out


def make_paths(folder):
    """Create the FIFO, the directory and the link to ``/dev/zero`` the
    cases name, and an empty history file, in ``folder``."""
    os.mkfifo(os.path.join(folder, 'fifo'))
    os.mkdir(os.path.join(folder, 'folder'))
    os.symlink('/dev/zero', os.path.join(folder, 'zero'))
    with open(os.path.join(folder, 'history.jsonl'), 'w') as f:
        f.write('')
    return folder
