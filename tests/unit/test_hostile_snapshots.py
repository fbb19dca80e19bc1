"""Hostile snapshot files are refused cleanly, by the command and by the
Nova weigher.

The corpus is :mod:`tests.hostile.snapshots`: several hundred malformed or
hostile files. ``nova-livemig plan --snapshot FILE`` must exit 2 with a
short, printable error naming the field (no traceback, no hang, whatever
the policy); the weigher must have no opinion (weight 0 for every host)
and warn once per file, never raise into nova's weighing. A few cases run
through a real process, to show the same end to end.
"""

import json
import logging
import signal
import subprocess
import sys

import pytest

from nova_livemig.cmd import cli
from nova_livemig.weigher import cost_table
from tests.hostile import nova_stub
from tests.hostile import snapshots

CASES = snapshots.cases()
#: the arguments each policy needs on the corpus' snapshot
POLICIES = {'single': ['--vm', 'vm1'], 'drain': ['--host', 'h1'],
            'balance': [], 'consolidate': []}
#: each case runs under one policy, in turn
PLANS = [pytest.param(case, list(POLICIES)[i % len(POLICIES)], id=case.name)
         for i, case in enumerate(CASES)]
#: run in a process of their own too
END_TO_END = ('fifo', 'symlink-to-dev-zero', 'nested-200k',
              'sparse-larger-than-the-bound', 'invalid-utf8',
              'number:hosts.0.vcpus=int-401-digits',
              'number:network.links.0.gbit_s=underflow',
              'name:hosts.0.name=lone-surrogate',
              'name:vms.0.id=escape-sequence', 'duplicate-megabyte-key')
#: no file to read: the weigher says so at debug level only
NO_FILE = ('missing', 'dangling-symlink')
#: a refusal that takes longer than this is a hang
HANG_S = 120


@pytest.fixture
def no_hang():
    """Fail a test that blocks (on a FIFO, a device...) instead of
    hanging the run."""
    def expired(signum, frame):
        raise TimeoutError(f'still running after {HANG_S} s')
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(HANG_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def plan_argv(path, policy):
    return ['plan', '--snapshot', path, '--policy', policy,
            *POLICIES[policy]]


def assert_refused(case, status, out, err):
    """Exit 2, nothing on stdout, a short printable error naming the
    field: one line unless the document has many errors."""
    lines = err.splitlines()
    assert status == 2, err
    assert out == ''
    assert 1 <= len(lines) <= case.max_lines, err[:2000]
    assert lines[0].startswith('nova-livemig: error: ')
    assert case.field in err
    assert 'Traceback' not in err
    for line in lines:
        assert len(line) < 1000
        assert line.isprintable(), line  # no ESC, CR, NUL, surrogate


def test_the_corpus_is_hundreds_of_distinct_cases():
    assert len(CASES) >= 500
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize('policy', POLICIES)
def test_the_corpus_base_snapshot_plans(policy, tmp_path, capsys):
    """The control: unchanged, the corpus' snapshot is planned."""
    path = tmp_path / 'snapshot.json'
    path.write_text(json.dumps(snapshots.base_doc()))
    status = cli.run(plan_argv(str(path), policy))
    out, err = capsys.readouterr()
    assert status in (0, 1), err
    assert out.startswith(f'Plan: {policy}')
    assert 'error' not in err


@pytest.mark.parametrize('case,policy', PLANS)
def test_plan_refuses_the_case(case, policy, tmp_path, capsys, no_hang):
    path = case.write(str(tmp_path))
    status = cli.run(plan_argv(path, policy))
    out, err = capsys.readouterr()
    assert_refused(case, status, out, err)


@pytest.mark.parametrize('case', [c for c in CASES if c.name in END_TO_END],
                         ids=lambda c: c.name)
def test_the_command_refuses_the_case_end_to_end(case, tmp_path):
    """In a process of its own, with an ASCII-only terminal."""
    path = case.write(str(tmp_path))
    proc = subprocess.run(
        [sys.executable, '-c',
         'from nova_livemig.cmd.cli import main; main()',
         *plan_argv(path, 'drain')],
        capture_output=True, timeout=HANG_S, stdin=subprocess.DEVNULL,
        env={'PATH': '/usr/bin:/bin', 'PYTHONIOENCODING': 'ascii',
             'PYTHONPATH': str(snapshots.ROOT)})
    assert_refused(case, proc.returncode, proc.stdout.decode('ascii'),
                   proc.stderr.decode('ascii'))


def test_end_to_end_cases_exist():
    assert len([c for c in CASES if c.name in END_TO_END]) == len(END_TO_END)


def weigh_all(weigher):
    """The weights of two requests for each VM on each host."""
    w = weigher.MigrationCostWeigher()
    return [w._weigh_object(nova_stub.host(h), nova_stub.spec(vm))
            for _ in range(2) for vm in ('vm1', 'vm2') for h in ('h1', 'h2')]


@pytest.fixture
def weigher(monkeypatch):
    """The weigher over stand-ins for nova; a file never goes stale."""
    module = nova_stub.load_weigher(monkeypatch)
    module.CONF.set_override('snapshot_max_age_s', 10 ** 9, 'nova_livemig')
    return module


def warnings_of(caplog):
    return [r for r in caplog.records if r.levelno >= logging.WARNING
            and r.name == cost_table.__name__]


def test_the_weigher_has_an_opinion_on_the_corpus_base(weigher, tmp_path):
    """The control: on the unchanged snapshot, moves cost something."""
    path = tmp_path / 'snapshot.json'
    path.write_text(json.dumps(snapshots.base_doc()))
    weigher.CONF.set_override('snapshot_path', str(path), 'nova_livemig')
    weights = weigh_all(weigher)
    assert weights[1] < 0 and weights[0] == 0  # vm1 is on h1


@pytest.mark.parametrize('case', CASES, ids=lambda c: c.name)
def test_the_weigher_has_no_opinion_on_the_case(case, weigher, tmp_path,
                                                caplog, no_hang):
    path = case.write(str(tmp_path))
    weigher.CONF.set_override('snapshot_path', path, 'nova_livemig')
    with caplog.at_level(logging.WARNING):
        assert weigh_all(weigher) == [0.0] * 8
    warned = warnings_of(caplog)
    assert len(warned) == (0 if case.name in NO_FILE else 1)
    for record in warned:
        message = record.getMessage()
        assert message.isprintable() and len(message) < 2000, message


#: cases that are as hostile to any JSON file a command reads
OTHER_FILES = [c for c in CASES
               if c.field == 'snapshot' and 'sparse' not in c.name
               or c.name in ('nested-200k', 'duplicate-top-key',
                             'duplicate-megabyte-key', 'truncated')]


@pytest.mark.parametrize('option,argv', [
    ('--history', ['calibrate', '--output', 'cal.json', '--history']),
    ('--calibration', ['plan', '--policy', 'balance', '--calibration']),
])
@pytest.mark.parametrize('case', OTHER_FILES, ids=lambda c: c.name)
def test_other_files_a_command_reads_are_refused_too(
        case, option, argv, tmp_path, capsys, monkeypatch, no_hang):
    """``calibrate --history`` and ``plan --calibration``."""
    monkeypatch.chdir(tmp_path)
    good = tmp_path / 'good'
    good.mkdir()
    snapshot = good / 'snapshot.json'
    snapshot.write_text(json.dumps(snapshots.base_doc()))
    path = case.write(str(tmp_path))
    if argv[0] == 'plan':
        argv = argv[:1] + ['--snapshot', str(snapshot)] + argv[1:]
    status = cli.run(argv + [path])
    out, err = capsys.readouterr()
    expected = case._replace(field=option if case.field == 'snapshot'
                             else path)
    assert_refused(expected, status, out, err)
    assert not (tmp_path / 'cal.json').exists()


def test_a_table_escapes_what_a_terminal_would_act_on():
    """The last guard, should a name with control characters reach a
    table some other way than a snapshot file."""
    from nova_livemig import cost
    from nova_livemig import plan
    from nova_livemig.cmd import tables
    pred = cost.Prediction('precopy', total_s=1.0, downtime_ms=1.0,
                           bytes_sent=1, converges=True)
    text = tables.render_table(plan.Plan('single', moves=(plan.Move(
        'vm\x1b[2J', 'a\r', 'b\ud800', 'precopy', pred),), unplaced=(
        plan.Unplaced('vm\x00', 'pinned\x07'),)))
    assert all(line.isprintable() for line in text.splitlines())
    assert 'vm\\x1b[2J' in text and 'vm\\x00' in text


def test_a_name_the_terminal_cannot_encode_is_escaped(tmp_path):
    """A valid non-ASCII name, printed to an ASCII-only terminal."""
    doc = json.dumps(snapshots.base_doc()).replace('"h1"', '"h\\u00f41"')
    path = tmp_path / 'snapshot.json'
    path.write_text(doc)
    proc = subprocess.run(
        [sys.executable, '-c',
         'from nova_livemig.cmd.cli import main; main()',
         'plan', '--snapshot', str(path), '--policy', 'drain',
         '--host', 'h\u00f41'],
        capture_output=True, timeout=HANG_S, stdin=subprocess.DEVNULL,
        env={'PATH': '/usr/bin:/bin', 'PYTHONIOENCODING': 'ascii',
             'PYTHONPATH': str(snapshots.ROOT)})
    assert proc.returncode in (0, 1), proc.stderr
    assert b'Traceback' not in proc.stderr
    assert b'h\\xf41' in proc.stdout
