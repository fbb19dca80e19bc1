"""``nova-livemig``: each option belongs to one mode, one JSON switch,
``--config-file`` anywhere, ``--version`` everywhere, and no message bus:
the conductor is reached through the API."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from nova_livemig import plugins
from nova_livemig.cmd import agent as agent_cmd
from nova_livemig.cmd import cli
from nova_livemig.cmd import conductor as conductor_cmd
from tests.unit.test_cli_over_api import no_cloud  # noqa: F401 - fixture

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json')


def run(capsys, *argv):
    status = cli.run(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize('argv, flag', [
    # offline options given to an action
    (['plan', 'create', '--policy', 'drain', '--max-downtime-ms', '100'],
     '--max-downtime-ms'),
    (['plan', 'create', '--policy', 'drain', '--snapshot', EXAMPLE],
     '--snapshot'),
    (['plan', 'list', '--format', 'json', '--output', 'x.json'],
     '--output'),
    (['plan', 'create', '--policy', 'drain', '--graph', 'g.html'],
     '--graph'),
    (['plan', 'create', '--policy', 'drain', '--no-schedule'],
     '--no-schedule'),
    (['plan', 'create', '--policy', 'drain', '--rack', 'tor-r1'], '--rack'),
    # action options without an action
    (['plan', '--snapshot', EXAMPLE, '--policy', 'drain', '--dry-run'],
     '--dry-run'),
    (['plan', '--snapshot', EXAMPLE, '--policy', 'drain', '--no-wait'],
     '--no-wait'),
    (['plan', '--snapshot', EXAMPLE, '--policy', 'drain', '--interval',
      '5'], '--interval'),
    # options of another action
    (['plan', 'list', '--policy', 'drain'], '--policy'),
    (['plan', 'show', 'p1', '--host', 'cmp-r1-01'], '--host'),
    (['plan', 'create', '--policy', 'drain', '--no-wait'], '--no-wait'),
    (['plan', 'list', 'p1'], 'ID'),
    # given with its default value, still given
    (['plan', 'show', 'p1', '--limit', '50'], '--limit'),
    (['plan', 'create', '--policy', 'drain', '--interval', '1'],
     '--interval'),
    # the picture draws the schedule
    (['plan', '--snapshot', EXAMPLE, '--policy', 'drain', '--no-schedule',
      '--graph', 'g.html'], '--no-schedule'),
])
def test_an_option_of_the_other_mode_is_refused_naming_it(capsys, argv,
                                                          flag):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ''
    assert err.startswith(f'nova-livemig: error: {flag}: got ')
    assert 'allowed: nothing ' in err
    assert 'Traceback' not in err


def test_create_says_where_the_downtime_target_comes_from(capsys):
    _, _, err = run(capsys, 'plan', 'create', '--policy', 'drain',
                    '--max-downtime-ms', '100')
    assert ('--max-downtime-ms: got 100.0; allowed: nothing with "plan '
            'create" (the conductor plans with [planner] max_downtime_ms '
            'of its own configuration)') in err


@pytest.mark.usefixtures('no_cloud')
def test_no_way_to_the_api_fails_at_once_naming_the_options(capsys):
    for argv in (['plan', 'list'], ['plan', 'create', '--policy', 'drain'],
                 ['plan', 'show', 'p1'], ['migrate', 'web-01']):
        status, out, err = run(capsys, *argv)
        assert status == 2, argv
        assert out == ''
        assert err.startswith('nova-livemig: error: --os-cloud: got None; '
                              'allowed: a cloud of clouds.yaml')
        assert '--api-url with --os-token' in err


@pytest.mark.usefixtures('no_cloud')
def test_bad_arguments_come_before_the_api(capsys):
    # the action's own checks still speak first
    _, _, err = run(capsys, 'plan', 'create')
    assert '--policy' in err and '--os-cloud' not in err


def test_config_file_after_the_sub_command(capsys, tmp_path):
    status, _, err = run(capsys, 'plan', 'list', '--config-file',
                         str(tmp_path / 'missing.conf'))
    assert status == 2
    assert err.startswith('nova-livemig: error: --config-file: ')
    planner = tmp_path / 'planner.conf'
    planner.write_text('[planner]\nmax_downtime_ms = 1\n')
    args = ['plan', '--snapshot', EXAMPLE, '--policy', 'single', '--vm',
            'olap-01']
    assert run(capsys, *args)[0] == 0
    assert run(capsys, *args, '--config-file', str(planner))[0] == 1
    assert run(capsys, '--config-file', str(planner), *args)[0] == 1


@pytest.mark.parametrize('flag, value', [
    ('--os-cloud', 'lab'), ('--api-url', 'http://api:9599'),
    ('--os-token', 'admin'), ('--os-region-name', 'r1'),
    ('--os-interface', 'internal')])
def test_the_api_options_are_refused_offline(capsys, flag, value):
    status, out, err = run(capsys, 'plan', '--snapshot', EXAMPLE,
                           '--policy', 'drain', flag, value)
    assert (status, out) == (2, '')
    assert err.startswith(f'nova-livemig: error: {flag}: got ')
    assert 'nothing in offline planning' in err


def test_the_command_never_loads_the_message_bus():
    """No operator tool needs the bus: ``nova-livemig plan`` (offline
    and through the API, failing to reach it) runs without
    oslo.messaging in the process."""
    code = (
        'import sys\n'
        'from nova_livemig.cmd import cli\n'
        'codes = [cli.run(["plan", "--snapshot", sys.argv[1], "--policy", '
        '"drain", "--format", "json"]),\n'
        '         cli.run(["plan", "list", "--api-url", '
        '"http://127.0.0.1:9", "--os-token", "admin"]),\n'
        '         cli.run(["migrate", "v1", "--api-url", '
        '"http://127.0.0.1:9", "--os-token", "admin"])]\n'
        'print(codes, sorted(m for m in sys.modules if "messaging" in m '
        'and not m.startswith("nova_livemig")))\n')
    proc = subprocess.run(
        [sys.executable, '-c', code, EXAMPLE], capture_output=True,
        text=True, timeout=120, cwd=ROOT,
        env={'PATH': os.environ.get('PATH', ''), 'HOME': str(ROOT),
             'PYTHONPATH': str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[-1] == '[0, 1, 1] []'
    assert 'cannot reach the API at http://127.0.0.1:9' in proc.stderr


def test_one_json_switch_and_its_deprecated_alias(capsys):
    argv = ['plan', '--snapshot', EXAMPLE, '--policy', 'drain']
    status, out, err = run(capsys, *argv, '--format', 'json')
    assert status == 0 and err == ''
    doc = json.loads(out)
    status, out, err = run(capsys, *argv, '--json')
    assert status == 0 and json.loads(out) == doc
    assert 'warning: --json is deprecated; use --format json' in err
    status, _, err = run(capsys, *argv, '--json', '--format', 'table')
    assert status == 2 and '--json: got True' in err
    # the conductor actions take the same switch
    with pytest.raises(SystemExit):
        cli.run(['plan', 'list', '--help'])
    help_text = capsys.readouterr().out
    assert '--format {table,json}' in help_text
    assert 'deprecated alias of --format json' in help_text


def test_policy_help_names_every_installed_policy(capsys):
    with pytest.raises(SystemExit) as info:
        cli.run(['plan', '--help'])
    assert info.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())
    names = plugins.names(plugins.POLICIES)
    assert {'drain', 'consolidate', 'balance', 'single'} <= set(names)
    assert 'installed: ' + ', '.join(names) in text


@pytest.mark.parametrize('main, prog', [
    (lambda argv: cli.run(argv), 'nova-livemig'),
    (conductor_cmd.main, 'nova-livemig-conductor'),
    (agent_cmd.main, 'nova-livemig-agent'),
])
def test_version_on_every_command(capsys, main, prog):
    from nova_livemig import cmd
    with pytest.raises(SystemExit) as info:
        main(['--version'])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert cmd.version_string() in out
    assert cmd.version_string()[0].isdigit()


@pytest.mark.parametrize('main, words', [
    (conductor_cmd.main, 'conductor: plans live migrations'),
    (agent_cmd.main, 'agent of one compute host'),
])
def test_daemon_help_says_what_it_is(capsys, main, words):
    with pytest.raises(SystemExit) as info:
        main(['--help'])
    assert info.value.code == 0
    assert words in ' '.join(capsys.readouterr().out.split())
