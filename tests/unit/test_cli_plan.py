"""``nova-livemig plan --snapshot FILE --policy P``, end to end in-process.

Exit status 0 when every VM is placed, 1 when some are unplaced, 2 on bad
input with an error naming the field.
"""

import json
import pathlib

import pytest

from nova_livemig.cmd import cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json')


def plan(capsys, *argv):
    """Run ``nova-livemig plan ...``; returns (status, stdout, stderr)."""
    status = cli.run(['plan', *argv])
    out, err = capsys.readouterr()
    return status, out, err


def plan_json(capsys, *argv):
    status, out, err = plan(capsys, '--format', 'json', *argv)
    return status, json.loads(out), err


def test_drain_the_host_in_maintenance(capsys):
    status, doc, _ = plan_json(capsys, '--snapshot', EXAMPLE,
                               '--policy', 'drain')
    assert status == 0
    assert doc['policy'] == 'drain' and doc['version'] == 1
    assert {m['source'] for m in doc['moves']} == {'cmp-r1-03'}
    assert len(doc['moves']) == 6 and doc['unplaced'] == []
    assert doc['summary']['drained_hosts'] == ['cmp-r1-03']
    # the destinations share the load rather than all taking one host
    assert len({m['destination'] for m in doc['moves']}) >= 2


def test_the_json_schema_is_the_documented_one(capsys):
    status, doc, _ = plan_json(capsys, '--snapshot', EXAMPLE,
                               '--policy', 'single', '--vm', 'redis-01')
    assert status == 0
    assert set(doc) == {'version', 'policy', 'moves', 'unplaced', 'totals',
                        'summary', 'left_out'}
    # compress has no measured constants: the plan says why it is left out
    assert [x['algorithm'] for x in doc['left_out']] == ['compress']
    [move] = doc['moves']
    assert set(move) >= {'vm', 'source', 'destination', 'algorithm',
                         'predicted', 'path', 'bandwidth_gbit_s'}
    assert set(move['predicted']) >= {'total_s', 'downtime_ms', 'bytes',
                                      'converges', 'algorithm'}
    assert move['predicted']['downtime_ms'] <= 500
    assert isinstance(move['predicted']['bytes'], int)
    assert move['algorithm'] == move['predicted']['algorithm']
    assert [move['path'][0][0], move['path'][-1][0]] == [
        'cmp-r1-03', move['destination']]
    assert doc['totals']['moves'] == 1 and doc['totals']['unplaced'] == 0


def test_the_table_is_for_people(capsys):
    status, out, _ = plan(capsys, '--snapshot', EXAMPLE, '--policy',
                          'drain')
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == 'Plan: drain, draining cmp-r1-03'
    # drain is scheduled: one row per migration, with its start and end
    assert lines[1].split() == ['VM', 'SOURCE', '->', 'DESTINATION',
                                'ALGORITHM', 'START', 's', 'END', 's',
                                'TIME', 's', 'DOWNTIME', 'ms', 'SENT', 'GiB',
                                'MIN', 'Gbit/s', 'NOTES']
    moved = [line.split()[0] for line in lines[2:8]]
    assert sorted(moved) == ['api-02', 'build-01', 'monitor-01',
                             'pg-replica', 'redis-01', 'web-04']
    # the totals follow the moves, then the figures of the policy
    assert lines[8] == ''
    assert lines[9].startswith('Total: 6 move(s), ')
    assert lines[9].endswith(' GiB sent')
    assert lines[10].startswith('Migration time: ')
    assert ' s as scheduled (lower bound ' in lines[10]
    assert lines[-1] == 'Drain: 1 of 1 host(s) emptied, 6 of 6 VM(s) ' \
        'moved off'


def test_the_unscheduled_table(capsys):
    status, out, _ = plan(capsys, '--snapshot', EXAMPLE, '--policy',
                          'drain', '--no-schedule')
    assert status == 0
    lines = out.splitlines()
    assert lines[1].split() == ['VM', 'SOURCE', '->', 'DESTINATION',
                                'ALGORITHM', 'TIME', 's', 'DOWNTIME', 'ms',
                                'SENT', 'GiB', 'NOTES']
    assert lines[8] == ''
    assert lines[9].startswith('Total: 6 move(s), ')
    assert lines[10].startswith('Migration time: ')
    assert lines[10].endswith(' s (sum over the moves), longest downtime '
                              + lines[10].split()[-2] + ' ms')
    assert 'Nova default' not in out


def test_a_pinned_vm_makes_the_exit_status_1(capsys):
    status, doc, _ = plan_json(capsys, '--snapshot', EXAMPLE, '--policy',
                               'drain', '--host', 'cmp-r2-01')
    assert status == 1
    assert doc['unplaced'] == [{'vm': 'vnf-fw-01', 'reason': 'pinned'}]
    status, out, _ = plan(capsys, '--snapshot', EXAMPLE, '--policy',
                          'single', '--vm', 'vnf-fw-01')
    assert status == 1
    assert out.splitlines()[-2:] == ['Unplaced: 1 VM(s)',
                                     '  vnf-fw-01  pinned']


def test_a_vm_nothing_can_take(capsys):
    # two of the three 128 GiB VMs fit on the other high-memory host
    status, doc, _ = plan_json(capsys, '--snapshot', EXAMPLE, '--policy',
                               'drain', '--host', 'cmp-r2-02')
    assert status == 1
    [unplaced] = doc['unplaced']
    assert 'lack room for 16 vcpus / 131072 MiB' in unplaced['reason']


def test_a_tighter_downtime_target(capsys):
    # no algorithm moves the 2.6 GB/s-dirtying OLAP VM within 1 ms
    status, doc, _ = plan_json(capsys, '--snapshot', EXAMPLE, '--policy',
                               'single', '--vm', 'olap-01',
                               '--max-downtime-ms', '1')
    assert status == 1
    [unplaced] = doc['unplaced']
    assert 'downtime target of 1 ms' in unplaced['reason']


def test_the_config_file_sets_the_downtime_and_the_flag_wins(
        capsys, tmp_path):
    conf = tmp_path / 'nova-livemig.conf'
    conf.write_text('[planner]\nmax_downtime_ms = 1\n')
    args = ('--snapshot', EXAMPLE, '--policy', 'single', '--vm', 'olap-01')
    assert cli.run(['--config-file', str(conf), 'plan', *args]) == 1
    capsys.readouterr()
    assert cli.run(['--config-file', str(conf), 'plan', *args,
                    '--max-downtime-ms', '500']) == 0


def test_output_to_a_file(capsys, tmp_path):
    target = tmp_path / 'plan.json'
    status, out, _ = plan(capsys, '--snapshot', EXAMPLE, '--policy',
                          'drain', '--format', 'json', '--output',
                          str(target))
    assert status == 0 and out == ''
    assert len(json.loads(target.read_text())['moves']) == 6


@pytest.mark.parametrize('argv,message', [
    (('--policy', 'drain'),
     '--snapshot: got None; allowed: a snapshot file'),
    (('--snapshot', EXAMPLE), '--policy: got None; allowed: one of '),
    (('--snapshot', EXAMPLE, '--policy', 'teleport'),
     "--policy: got 'teleport'; allowed: one of "),
    (('--snapshot', EXAMPLE, '--policy', 'single'),
     ('--vm: got None; allowed: at least one VM id with --policy single, '
      'e.g. api-01, api-02')),
    (('--snapshot', EXAMPLE, '--policy', 'single', '--vm', 'vm-404'),
     ("--vm: got 'vm-404'; allowed: a VM id of the snapshot, e.g. api-01, "
      'api-02, bastion')),
    (('--snapshot', EXAMPLE, '--policy', 'drain', '--host', 'cmp-r9-01'),
     ("--host: got 'cmp-r9-01'; allowed: a host name of the snapshot, "
      'e.g. cmp-r1-01, cmp-r1-02')),
    (('--snapshot', EXAMPLE, '--policy', 'drain', '--vm', 'web-01'),
     "--vm: got ['web-01']; allowed: nothing with --policy drain"),
    (('--snapshot', EXAMPLE, '--policy', 'single', '--vm', 'web-01',
      '--host', 'cmp-r1-01'),
     "--host: got ['cmp-r1-01']; allowed: nothing with --policy single"),
    (('--snapshot', EXAMPLE, '--policy', 'drain', '--max-downtime-ms',
      '-5'),
     ('--max-downtime-ms: got -5.0; allowed: a positive, finite number '
      'of milliseconds')),
    (('--snapshot', EXAMPLE, '--policy', 'drain', '--max-downtime-ms',
      '0'), '--max-downtime-ms: got 0.0; allowed: a positive'),
    (('--snapshot', EXAMPLE, '--policy', 'drain', '--max-downtime-ms',
      'nan'), '--max-downtime-ms: got nan; allowed: a positive'),
    (('--snapshot', '/nonexistent/snap.json', '--policy', 'drain'),
     "snapshot: got '/nonexistent/snap.json'; allowed: a readable file"),
    (('--snapshot', EXAMPLE, '--policy', 'drain', '--output',
      '/nonexistent/dir/plan.txt'),
     ("--output: got '/nonexistent/dir/plan.txt'; allowed: a writable "
      'file')),
])
def test_bad_input_is_exit_status_2_naming_the_field(capsys, argv,
                                                     message):
    status, out, err = plan(capsys, *argv)
    assert status == 2
    assert out == ''
    assert f'nova-livemig: error: {message}' in err
    assert 'Traceback' not in err


def test_a_malformed_snapshot_lists_every_error(capsys, tmp_path):
    doc = json.loads(pathlib.Path(EXAMPLE).read_text())
    doc['hosts'][0]['memory_mib'] = -1
    doc['vms'][3]['cpu_util'] = 1.5
    doc['network']['links'][0]['gbit_s'] = 0
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(doc))
    status, out, err = plan(capsys, '--snapshot', str(bad), '--policy',
                            'drain')
    assert status == 2 and out == ''
    assert 'invalid snapshot (3 error(s)):' in err
    assert ('$.hosts[0].memory_mib: got -1; allowed: a positive integer'
            in err)
    assert '$.vms[3].cpu_util: got 1.5; allowed: a fraction from 0 to 1' \
        in err
    assert '$.network.links[0].gbit_s: got 0; allowed: a positive number' \
        in err


def test_text_that_is_not_json(capsys, tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"version": 1, hosts: []}')
    status, _, err = plan(capsys, '--snapshot', str(bad), '--policy',
                          'drain')
    assert status == 2
    assert "$: got '{\"version\": 1, hosts: []}'; allowed: JSON text" in err


def test_an_unknown_format_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as info:
        cli.run(['plan', '--snapshot', EXAMPLE, '--policy', 'drain',
                 '--format', 'yaml'])
    assert info.value.code == 2
    assert "argument --format: invalid choice: 'yaml'" in \
        capsys.readouterr().err


def test_a_downtime_that_is_not_a_number(capsys):
    with pytest.raises(SystemExit) as info:
        cli.run(['plan', '--snapshot', EXAMPLE, '--policy', 'drain',
                 '--max-downtime-ms', 'soon'])
    assert info.value.code == 2
    assert 'argument --max-downtime-ms: invalid float value' in \
        capsys.readouterr().err



def _doc_json_blocks():
    text = (ROOT / 'doc' / 'plan-format.md').read_text()
    blocks = text.split('```json\n')[1:]
    return [json.loads(block.split('```')[0]) for block in blocks]


def _shape(value):
    """Keys and types, recursively, not the values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_the_documented_plan_is_what_the_command_prints(capsys):
    documented, _ = _doc_json_blocks()
    status, doc, _ = plan_json(capsys, '--snapshot', EXAMPLE, '--policy',
                               'drain', '--host', 'cmp-r2-01',
                               '--no-schedule')
    assert status == 1
    # the same fields and types; the predicted figures follow the cost
    # model's calibration, so only the placement is compared
    assert _shape(doc) == _shape(documented)
    placement = ('vm', 'source', 'destination', 'path', 'bandwidth_gbit_s')
    assert ({k: doc['moves'][0][k] for k in placement}
            == {k: documented['moves'][0][k] for k in placement})
    assert doc['unplaced'] == documented['unplaced']
    assert doc['summary'] == documented['summary']


def test_the_documented_snapshot_is_valid():
    from nova_livemig import model

    _, documented = _doc_json_blocks()
    snap = model.from_primitive(documented)
    assert list(snap.vms) == ['pg-primary']
