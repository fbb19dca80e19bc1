"""``nova-livemig calibrate``: fit the cost models to migration history.

Reads one or more history files (JSON Lines, ``doc/history.md``; ``nova-
livemig history export`` writes them), fits the constants
(:func:`nova_livemig.calibration.fit.fit`) over the ``[cost_model]``
options as defaults, writes the calibration (``--output``, JSON,
:mod:`nova_livemig.calibration.document`) and prints what was fitted,
with its uncertainty, and what stayed at its default and why. Offline:
nothing is contacted. ``nova-livemig plan --calibration FILE`` and
``[planner] calibration_file`` plan with the result.
"""

import sys
import time

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import exception
from nova_livemig import textfile
from nova_livemig.calibration import document
from nova_livemig.calibration import fit
from nova_livemig.cmd import arguments
from nova_livemig.conf import cost_model
from nova_livemig.history import jsonl
from nova_livemig.history import record

#: at most this many history files in one run
MAX_FILES = 100


def add_arguments(parser):
    parser.add_argument('--history', action='append', default=[],
                        metavar='FILE', required=True,
                        help='history file (JSON Lines); repeatable')
    parser.add_argument('--output', metavar='FILE', required=True,
                        help='where to write the calibration (JSON); '
                             'written to a temporary name, then renamed')


def summary(cal):
    """The calibration in lines for people."""
    lines = [f'{cal.records} records; completed per algorithm: '
             + (', '.join(f'{a} {n}' for a, n in cal.evidence.items())
                or 'none')]
    for name, c in sorted(cal.constants.items()):
        err = '' if c.stderr is None else f' +- {c.stderr:.4g}'
        lines.append(f'  fitted   {name:24s} {c.value:.4g}{err} '
                     f'({c.records} records)')
    for name, why in sorted(cal.defaulted.items()):
        lines.append(f'  default  {name:24s} {why}')
    for key, c in sorted(cal.by_path.items()):
        lines.append(f'  path     {key:24s} goodput {c.value:.4g} '
                     f'({c.records} records)')
    return '\n'.join(lines)


def run(args, conf):
    """Fit and write the calibration; returns the exit status.

    :raises LivemigError: on a bad file or argument (exit status 2)
    """
    arguments.check_output(args.output, '--output')
    if len(args.history) > MAX_FILES:
        raise exception.InvalidInput('--history', f'{len(args.history)} '
                                     'files', f'at most {MAX_FILES} files')
    records = []
    for path in args.history:
        records.extend(jsonl.load(path, '--history'))
    if not records:
        raise exception.InvalidInput('--history', args.history,
                                     'files holding at least one record')
    names = sorted({r.algorithm for r in records} | set(record.ALGORITHMS))
    algorithms = algorithms_mod.load_algorithms(names)
    cal = fit.fit(records, cost_model.params_from(conf), algorithms,
                  now=round(time.time(), 3))
    with textfile.replacing(args.output, '--output', '.calibration-') as f:
        f.write(document.dumps(cal))
    print(summary(cal))
    print(f'calibration written to {args.output}', file=sys.stderr)
    return 0
