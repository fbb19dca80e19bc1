"""``nova-livemig plan ...``, ``migrate`` and ``demo``: progress output,
exit status, bad input."""

import io
import types

import pytest

from nova_livemig import exception
from nova_livemig.cmd import cli
from nova_livemig.cmd import control
from nova_livemig.cmd import demo

GIB = 1024 ** 3


def view(state, steps, done, eta=10.0):
    return {'id': 'p' * 36, 'policy': 'drain', 'state': state,
            'dry_run': False, 'error': None,
            'document': {'unplaced': [], 'schedule': {}},
            'totals': {'steps': len(steps), 'done': done, 'eta_s': eta,
                       'counts': {}, 'time_ratio': 1.0, 'elapsed_s': 3.0},
            'steps': steps}


def step(state, left=None, **kw):
    return dict({'seq': 0, 'vm': 'v1', 'source': 'a', 'destination': 'b',
                 'algorithm': 'precopy', 'state': state, 'attempt': 1,
                 'remaining_bytes': left, 'total_bytes': 4 * GIB,
                 'rate_mib_s': 100.0, 'elapsed_s': 1.0, 'predicted_s': 2.0,
                 'error': None, 'host': None}, **kw)


class FakeApi:
    """A plan's views in turn, for the progress rendering (the calls to
    the real API are tested in tests/unit/test_cli_over_api.py)."""

    def __init__(self, views):
        self.views = list(views)

    def show_plan(self, plan_id):
        return self.views.pop(0) if len(self.views) > 1 else self.views[0]

    def execute_plan(self, plan_id):
        return self.views[0]


def test_progress_in_a_log_is_plain_and_not_repeated():
    views = [view('executing', [step('running', 3 * GIB)], 0),
             view('executing', [step('running', 3 * GIB)], 0),
             view('executing', [step('running', GIB)], 0),
             view('completed', [step('completed', host='b')], 1, eta=0.0)]
    out = io.StringIO()
    final = control.watch(FakeApi(views), 'p', out, interval_s=0,
                          tty=False, quiet_s=100, sleep=lambda s: None)
    text = out.getvalue()
    assert final['state'] == 'completed'
    assert '\x1b[' not in text
    assert text.count('3.00 GiB left  100 MiB/s') == 1
    assert '1.00 GiB left' not in text  # unchanged count, within quiet_s
    assert '1/1 steps done' in text


def test_progress_on_a_terminal_redraws_in_place():
    views = [view('executing', [step('running', 3 * GIB)], 0),
             view('completed', [step('completed', host='b')], 1)]
    out = io.StringIO()
    control.watch(FakeApi(views), 'p', out, interval_s=0, tty=True,
                  sleep=lambda s: None)
    assert '\x1b[2F' in out.getvalue()


@pytest.mark.parametrize('state, unplaced, status', [
    ('completed', [], 0), ('completed', [{'vm': 'x', 'reason': 'r'}], 1),
    ('failed', [], 1), ('aborted', [], 1)])
def test_exit_status(state, unplaced, status):
    v = view(state, [], 0)
    v['document']['unplaced'] = unplaced
    assert control.exit_status(v) == status


def test_execute_follows_and_prints_the_placement():
    views = [view('executing', [step('running', GIB)], 0),
             view('completed', [step('completed', host='b')], 1)]
    args = types.SimpleNamespace(action='execute', plan_id='p', json=False,
                                 no_wait=False, interval=0.01, api_url=None,
                                 os_token=None, os_cloud=None,
                                 os_region_name=None)
    out = io.StringIO()
    assert control.run_plan(args, None, FakeApi(views), out) == 0
    assert 'v1               b' in out.getvalue()


@pytest.mark.parametrize('argv, match', [
    (['plan', 'show'], 'plan id'),
    (['plan', 'create'], '--policy'),
    (['plan', 'list', '--interval', '0'], '--interval'),
])
def test_bad_arguments_exit_2(argv, match, capsys):
    assert cli.run(argv) == 2
    assert match in capsys.readouterr().err


def test_demo_runs_a_drain_end_to_end(capsys):
    status = cli.run(['demo', '--seconds', '2'])
    out = capsys.readouterr().out
    assert status == 0, out
    assert 'steps done' in out
    line = next(ln for ln in out.splitlines()
                if ln.strip().startswith('cmp-r1-03'))
    assert ' 0 VMs' in line  # the host in maintenance is empty


def test_demo_generated_cluster_is_valid():
    from nova_livemig import model
    snap = model.from_primitive(demo.generated_cluster())
    assert [h.name for h in snap.hosts.values()
            if h.state == 'maintenance'] == ['cmp-1']


def test_demo_rejects_bad_seconds():
    args = types.SimpleNamespace(seconds=0.0, snapshot=None, host=[],
                                 keep=False)
    with pytest.raises(exception.InvalidInput, match='--seconds'):
        demo.run(args, None)


def test_conductor_db_sync_and_bad_config(tmp_path, capsys):
    from nova_livemig.cmd import conductor as conductor_cmd
    good = tmp_path / 'good.conf'
    good.write_text(f'[database]\nconnection = sqlite:///{tmp_path}/x.db\n')
    status = conductor_cmd.main(['--config-file', str(good), '--db-sync'])
    assert status == 0, capsys.readouterr().err
    from nova_livemig.db import migration
    assert f'revision {migration.head()}' in capsys.readouterr().out
    bad = tmp_path / 'bad.conf'
    bad.write_text('[conductor]\nreport_max_age_s = -3\n')
    assert conductor_cmd.main(['--config-file', str(bad)]) == 2
    assert 'report_max_age_s' in capsys.readouterr().err
    nodb = tmp_path / 'nodb.conf'
    nodb.write_text('[conductor]\nexecutor = agent\n'
                    '[database]\nconnection = sqlite:////nonexistent/x.db\n')
    assert conductor_cmd.main(['--config-file', str(nodb)]) == 2
    assert 'can be opened' in capsys.readouterr().err
