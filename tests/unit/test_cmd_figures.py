"""``nova-livemig plan --snapshot``: one set of figures per move (the
schedule's when there is one), and only the figures that mean something
for the policy."""

import json
import pathlib

import pytest

from nova_livemig import algorithms
from nova_livemig import graph
from nova_livemig import model
from nova_livemig import plan
from nova_livemig import plugins
from nova_livemig import policies
from nova_livemig.cmd import cli
from nova_livemig.cmd import outcome

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json')
GIB = 1024 ** 3


def plan_out(capsys, *argv):
    status = cli.run(['plan', '--snapshot', EXAMPLE, *argv])
    return status, capsys.readouterr().out


def rows(table):
    """``{vm: [cells]}`` of the scheduled table (one row per VM here)."""
    lines = table.splitlines()
    body = lines[2:lines.index('')]
    found = {}
    for line in body:
        cells = line.split()
        assert cells[0] not in found, f'{cells[0]} has two rows'
        found[cells[0]] = cells
    return found


@pytest.mark.parametrize('policy', ['drain', 'consolidate'])
def test_the_table_shows_the_scheduled_figures_once(capsys, policy):
    _, table = plan_out(capsys, '--policy', policy)
    _, text = plan_out(capsys, '--policy', policy, '--format', 'json')
    doc = json.loads(text)
    by_vm = rows(table)
    assert set(by_vm) == {m['vm'] for m in doc['moves']}
    for move in doc['moves']:
        [leg] = move['scheduled']
        cells = by_vm[move['vm']]
        # VM SOURCE -> DESTINATION ALGORITHM START END TIME DOWNTIME SENT
        assert cells[4] == leg['algorithm']
        assert cells[5:10] == [f"{leg['start_s']:.1f}",
                               f"{leg['end_s']:.1f}",
                               f"{leg['total_s']:.1f}",
                               f"{leg['downtime_ms']:.1f}",
                               f"{leg['bytes'] / GIB:.2f}"]
    sent = sum(leg['bytes'] for m in doc['moves'] for leg in m['scheduled'])
    assert sent == doc['schedule']['bytes']
    assert f'{sent / GIB:.2f} GiB sent' in table
    assert f"{doc['schedule']['makespan_s']:.1f} s as scheduled" in table
    # the schedule's own list says the same
    for item in doc['schedule']['moves']:
        [leg] = next(m['scheduled'] for m in doc['moves']
                     if m['vm'] == item['vm'])
        assert (leg['algorithm'], leg['bytes'], leg['start_s']) == (
            item['algorithm'], item['bytes'], item['start_s'])


def test_a_switched_move_shows_the_algorithm_it_runs_with(capsys):
    _, text = plan_out(capsys, '--policy', 'drain', '--format', 'json')
    doc = json.loads(text)
    switched = [m for m in doc['moves']
                if m['scheduled'][0]['note'].startswith('switched')]
    assert switched, 'the example drain switches a move (see README)'
    _, table = plan_out(capsys, '--policy', 'drain')
    by_vm = rows(table)
    for move in switched:
        leg = move['scheduled'][0]
        assert leg['algorithm'] != move['algorithm']
        assert by_vm[move['vm']][4] == leg['algorithm']
    # a switch to post-copy carries post-copy's risk
    for move in switched:
        leg = move['scheduled'][0]
        if leg['algorithm'] == 'postcopy':
            assert leg['risks'] == ['vm-lost-on-link-failure']


def test_only_the_figures_of_the_policy(capsys):
    _, drain = plan_out(capsys, '--policy', 'drain')
    _, consolidate = plan_out(capsys, '--policy', 'consolidate')
    _, balance = plan_out(capsys, '--policy', 'balance')
    assert 'hosts in use' not in drain and 'lower bound 3)' not in drain
    assert 'Drain: 1 of 1 host(s) emptied, 6 of 6 VM(s) moved off' in drain
    assert 'Consolidation: hosts in use 5 -> 3 (lower bound 3)' \
        in consolidate
    assert 'W saved' in consolidate and 'Drain:' not in consolidate
    assert 'hosts in use' not in balance
    assert 'Balance: utilisation spread (stddev) ' in balance
    assert 'hosts over the 0.8 target 0 -> 0' in balance


def test_json_keeps_the_documented_fields_and_adds_the_schedule(capsys):
    _, text = plan_out(capsys, '--policy', 'drain', '--format', 'json')
    doc = json.loads(text)
    assert set(doc) == {'version', 'policy', 'moves', 'unplaced', 'totals',
                        'summary', 'schedule', 'left_out'}
    assert doc['summary'] == {'drained_hosts': ['cmp-r1-03'],
                              'vms_on_drained_hosts': 6}
    assert doc['schedule']['summary'] == dict(
        doc['summary'], vms_moved_off=6, hosts_emptied=['cmp-r1-03'])
    for move in doc['moves']:
        assert {'predicted', 'algorithm', 'scheduled'} <= set(move)
        assert set(move['scheduled'][0]) == {
            'source', 'destination', 'algorithm', 'start_s', 'end_s',
            'total_s', 'downtime_ms', 'bytes', 'converges', 'min_gbit_s',
            'risks', 'note'}
    _, text = plan_out(capsys, '--policy', 'drain', '--no-schedule',
                       '--format', 'json')
    doc = json.loads(text)
    assert 'schedule' not in doc
    assert all('scheduled' not in m for m in doc['moves'])


def _consolidated():
    snap = model.load(EXAMPLE)
    options = plan.PlanningOptions()
    algos = algorithms.load_algorithms(options.algorithms)
    policy = plugins.load(plugins.POLICIES, 'consolidate')
    result = policy.plan(snap, graph.LinkGraph(snap), policies.PlanRequest(),
                         options, algos)
    return snap, result, options


def test_figures_follow_the_moves_that_run():
    snap, result, options = _consolidated()
    everything = {m.vm: m.destination for m in result.moves}
    assert outcome.policy_figures(snap, result, everything, options) \
        == result.summary
    # a move the schedule leaves out changes the figures
    first = result.moves[0]
    fewer = {vm: h for vm, h in everything.items() if vm != first.vm}
    figures = outcome.policy_figures(snap, result, fewer, options)
    assert figures['migrations'] == len(result.moves) - 1
    assert figures['power_after_w'] != result.summary['power_after_w']


def test_without_a_schedule_the_figures_are_the_plans():
    snap, result, _ = _consolidated()
    out = outcome.of_plan(result, snap)
    assert not out.scheduled and out.figures == result.summary
    assert [leg.bytes_sent for leg in out.legs] == [
        m.predicted.bytes_sent for m in result.moves]
