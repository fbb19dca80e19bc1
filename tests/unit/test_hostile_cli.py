"""Hostile command lines are refused cleanly: exit status 2, one short
printable line naming the argument, no traceback, no hang, and nothing
read, written or contacted first.

The corpus is :mod:`tests.hostile.arguments`. A configuration file that
is a FIFO, and a transport URL with a port out of range, go through real
processes of the three commands (a FIFO would block oslo.config for ever;
the bus driver parses the port only when the daemon starts serving).
"""

import signal
import subprocess
import sys
import threading

import pytest

from nova_livemig.agent import manager as agent_mod
from nova_livemig.cmd import agent as agent_cmd
from nova_livemig.cmd import cli
from nova_livemig.cmd import conductor as conductor_cmd
from nova_livemig.cmd import connection
from nova_livemig.cmd import control
from tests import fixtures
from tests.hostile import arguments
from tests.unit import fakehosts

CASES = arguments.cases()
#: a refusal that takes longer than this is a hang
HANG_S = 60
SECRET = 's3cretPW'


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return arguments.make_paths(str(tmp_path_factory.mktemp('paths')))


@pytest.fixture
def no_hang():
    def expired(signum, frame):
        raise TimeoutError(f'still running after {HANG_S} s')
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(HANG_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def no_conductor(monkeypatch):
    """Fail a case that gets as far as the bus."""
    def contacted(*args, **kwargs):
        raise AssertionError('the conductor was contacted')
    monkeypatch.setattr(control, 'conductor_api', contacted)
    monkeypatch.setattr(connection, 'make_client', contacted)


def assert_refused(status, out, err, argument):
    lines = err.splitlines()
    assert status == 2, err[:500]
    assert out == ''
    assert len(lines) == 1, err[:2000]
    assert argument in lines[0], lines[0][:500]
    assert 'Traceback' not in err
    assert len(lines[0]) < 1000 and lines[0].isprintable(), lines[0][:500]


def test_the_corpus_is_hundreds_of_distinct_cases():
    assert len(CASES) >= 200
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_a_hostile_argument_is_refused_naming_it(case, folder, capsys,
                                                 no_hang, no_conductor):
    try:
        status = cli.run(case.args(folder))
    except SystemExit as exit_:  # argparse's refusals
        status = exit_.code
    out, err = capsys.readouterr()
    assert_refused(status, out, err, case.argument)
    assert arguments.SECRET not in err


def _run(argv, config=None):
    """A command in a process of its own, with an ASCII-only terminal."""
    proc = subprocess.run(
        [sys.executable, '-c', f'import sys; from {argv[0]} import main; '
         'sys.exit(main())', *argv[1:]],
        capture_output=True, timeout=HANG_S, stdin=subprocess.DEVNULL,
        env={'PATH': '/usr/bin:/bin', 'PYTHONIOENCODING': 'ascii',
             'PYTHONPATH': str(arguments.ROOT)})
    return (proc.returncode, proc.stdout.decode('ascii'),
            proc.stderr.decode('ascii'))


COMMANDS = {'nova-livemig': ('nova_livemig.cmd.cli', 'plan', 'list'),
            'nova-livemig-agent': ('nova_livemig.cmd.agent',),
            'nova-livemig-conductor': ('nova_livemig.cmd.conductor',)}


@pytest.mark.parametrize('command', list(COMMANDS))
@pytest.mark.parametrize('how', ['--config-file', '--config-file='])
def test_a_config_file_that_is_a_fifo_is_refused_not_waited_on(
        command, how, folder):
    fifo = f'{folder}/fifo'
    args = [how, fifo] if how == '--config-file' else [how + fifo]
    status, out, err = _run([*COMMANDS[command], *args])
    assert status == 2, err[-2000:]
    assert '--config-file' in err and 'FIFO' in err
    assert 'Traceback' not in err
    assert len(err.splitlines()) == 1


def _daemon_conf(tmp_path, url):
    return fixtures.write_conf(tmp_path / 'daemon.conf', {
        'DEFAULT': {'transport_url': url},
        'agent': {'host': 'a', 'driver': 'fake'},
        'fake_driver': {'snapshot_file': fakehosts.write_snapshot(tmp_path),
                        'state_dir': tmp_path / 'state'},
        'database': {'connection': f'sqlite:///{tmp_path}/c.sqlite'},
        'conductor': {'executor': 'noop'}})


@pytest.mark.parametrize('command', ['nova-livemig-agent',
                                     'nova-livemig-conductor'])
@pytest.mark.parametrize('port', ['99999', '70000,livemig:pw@h2:0'])
def test_a_transport_port_out_of_range_stops_the_daemon_cleanly(
        command, port, tmp_path):
    """Nothing connects: the URL is refused before any driver sees it."""
    conf = _daemon_conf(tmp_path,
                        f'rabbit://livemig:{SECRET}@127.0.0.1:{port}/')
    status, out, err = _run([*COMMANDS[command], '--config-file',
                             str(conf)])
    assert status == 2, err[-3000:]
    assert 'Traceback' not in err
    assert SECRET not in err
    assert '[DEFAULT] transport_url' in err and 'port' in err


@pytest.mark.parametrize('daemon', ['agent', 'conductor'])
def test_a_failure_to_start_serving_is_a_clean_exit_2(daemon, tmp_path,
                                                      monkeypatch, capsys):
    """Whatever else the bus driver refuses when the RPC server starts."""
    def refuse(self):
        raise ValueError(f'Port out of range in livemig:{SECRET}@h')
    if daemon == 'agent':
        monkeypatch.setattr(agent_mod.Agent, 'start', refuse)
        main = agent_cmd.main
    else:
        monkeypatch.setattr(conductor_cmd.Service, 'start', refuse)
        main = conductor_cmd.main
    conf = _daemon_conf(tmp_path, f'fake://livemig:{SECRET}@h/')
    status = main(['--config-file', str(conf)], stop_event=threading.Event())
    err = capsys.readouterr().err
    assert status == 2
    assert '[DEFAULT] transport_url' in err and 'Port out of range' in err
    assert SECRET not in err
