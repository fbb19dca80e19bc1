"""``nova-livemig history export``: the stored records as JSON Lines that
read back as history (real SQLite), hostile arguments refused with an
error naming them; and the whole chain in one process: fake agents
migrate, the conductor records, the command exports."""

import copy
import json
import time

import pytest

from nova_livemig import exception
from nova_livemig.cmd import cli
from nova_livemig.db import api as db_api
from nova_livemig.history import jsonl
from nova_livemig.history import record
from tests import fixtures
from tests.unit import fakehosts


def rec(step_id, finished_at, vm='vm-1'):
    data = copy.deepcopy(record.EXAMPLE)
    data.update(step_id=step_id, finished_at=finished_at, vm=vm)
    return data


@pytest.fixture
def stored(tmp_path):
    """A conductor database with five records, and a config naming it."""
    url = f'sqlite:///{tmp_path}/livemig.sqlite'
    db = db_api.Database(url)
    db.sync()
    for i, at in enumerate([1764800050.0, 1764800010.0, 1764800030.0,
                            1764800020.0, 1764800040.0]):
        db.add_migration_record(rec(f's{i}', at, vm=f'vm-{i}'))
    conf = tmp_path / 'livemig.conf'
    conf.write_text(f'[database]\nconnection = {url}\n')
    return str(conf)


def export(capsys, conf, *args):
    status = cli.run(['history', 'export', '--config-file', conf, *args])
    out, err = capsys.readouterr()
    assert 'Traceback' not in err
    return status, out, err


def test_export_round_trips_through_the_history_reader(stored, capsys):
    status, out, err = export(capsys, stored)
    assert status == 0, err
    records = jsonl.loads(out, 'export')
    assert [r.finished_at for r in records] == sorted(
        r.finished_at for r in records)
    assert sorted(r.step_id for r in records) == [f's{i}' for i in range(5)]
    by_step = {r.step_id: r for r in records}
    assert record.to_primitive(by_step['s2']) == rec('s2', 1764800030.0,
                                                     vm='vm-2')
    assert len(out.splitlines()) == 5


def test_since_and_limit_select_the_oldest_first(stored, capsys):
    status, out, _ = export(capsys, stored, '--since', '1764800020',
                            '--limit', '2')
    assert status == 0
    assert [r.step_id for r in jsonl.loads(out, 'x')] == ['s3', 's2']
    status, out, _ = export(capsys, stored, '--since', '1764800050.5')
    assert status == 0 and out == ''


def test_export_pages_through_many_records(tmp_path):
    from nova_livemig.cmd import history
    db = db_api.Database(f'sqlite:///{tmp_path}/p.sqlite')
    db.sync()
    for i in range(23):
        db.add_migration_record(rec(f's{i:02}', 1000.0 + i))
    chunks = []
    written, errors = history.export(db, chunks.append, page=5)
    assert (written, errors, len(chunks)) == (23, [], 5)
    got = jsonl.loads(''.join(chunks), 'x')
    assert [r.step_id for r in got] == [f's{i:02}' for i in range(23)]
    chunks = []
    assert history.export(db, chunks.append, limit=7, page=5)[0] == 7
    assert [r.step_id for r in jsonl.loads(''.join(chunks), 'x')] == [
        f's{i:02}' for i in range(7)]


def test_output_file_is_written_whole(stored, capsys, tmp_path):
    target = tmp_path / 'out' / 'history.jsonl'
    target.parent.mkdir()
    target.write_text('old content\n')
    status, out, err = export(capsys, stored, '--output', str(target))
    assert status == 0 and out == ''
    assert '5 record(s) written' in err
    assert len(jsonl.load(str(target))) == 5
    assert [p.name for p in target.parent.iterdir()] == ['history.jsonl']


@pytest.mark.parametrize('args, field, words', [
    (['--limit', str(10 ** 400)], '--limit', '<= 1e+07'),
    (['--limit', '0'], '--limit', '>= 1'),
    (['--limit', '-3'], '--limit', 'integer'),
    (['--limit', '2.5'], '--limit', 'integer'),
    (['--limit', '٣'], '--limit', 'integer'),
    (['--since', 'nan'], '--since', 'seconds since the epoch'),
    (['--since', 'inf'], '--since', '<= 1e+11'),
    (['--since', '-1'], '--since', '>= 0'),
    (['--since', '1e999'], '--since', '<= 1e+11'),
    (['--since', 'yesterday'], '--since', 'a number'),
    (['--since', '9' * 5000], '--since', 'a number'),
])
def test_hostile_arguments_are_refused_naming_them(stored, capsys, args,
                                                   field, words):
    status, out, err = export(capsys, stored, *args)
    assert status == 2 and out == ''
    assert f'error: {field}: got' in err and words in err
    assert len(err) < 400


@pytest.mark.parametrize('where', ['missing-dir/h.jsonl', '.'])
def test_bad_output_path_is_refused(stored, capsys, tmp_path, where):
    target = tmp_path / where
    status, out, err = export(capsys, stored, '--output', str(target))
    assert status == 2 and out == ''
    assert 'error: --output: got' in err
    assert not (tmp_path / 'missing-dir').exists()


def test_a_database_that_is_not_the_conductors_is_refused(tmp_path, capsys):
    missing = tmp_path / 'nodb.conf'
    missing.write_text(f'[database]\nconnection = sqlite:///{tmp_path}/'
                       'none.sqlite\n')
    status, _, err = export(capsys, str(missing))
    assert status == 2 and '[database] connection' in err
    assert not (tmp_path / 'none.sqlite').exists()  # not created
    db_api.Database(f'sqlite:///{tmp_path}/old.sqlite').engine.connect(
    ).close()  # an empty file: no schema
    old = tmp_path / 'old.conf'
    old.write_text(f'[database]\nconnection = sqlite:///{tmp_path}/'
                   'old.sqlite\n')
    status, _, err = export(capsys, str(old))
    assert status == 2 and '--db-sync' in err


def test_a_stored_record_that_does_not_read_is_left_out(stored, capsys,
                                                        tmp_path):
    db = db_api.Database(f'sqlite:///{tmp_path}/livemig.sqlite')
    db.add_migration_record(dict(rec('bad', 1764800060.0),
                                 algorithm='teleport'))
    status, out, err = export(capsys, stored)
    assert status == 1
    assert len(jsonl.loads(out, 'x')) == 5
    assert 'teleport' in err and '1 stored record(s) left out' in err


def test_parsers_reject_what_the_command_rejects():
    from nova_livemig.cmd import history
    assert history.parse_limit(None) is None
    assert history.parse_since('0') == 0.0
    with pytest.raises(exception.InvalidInput):
        history.parse_since(str(10 ** 12))


# -- the whole chain -------------------------------------------------------

def test_agents_migrate_the_conductor_records_the_command_exports(
        tmp_path, capsys):
    from nova_livemig import rpc
    from nova_livemig.agent import manager as agent_mod
    from nova_livemig.cmd import conductor as conductor_cmd
    from nova_livemig.drivers import fake
    from tests.unit import test_conductor_endpoint as endpoint_tests

    overrides = {'fake_driver__time_scale': 0.05,
                 'fake_driver__fail_vms': ['vm2'],
                 'agent__report_interval_s': 0.2,
                 'agent__monitor_interval_s': 0.02,
                 'agent__progress_interval_s': 0.1}
    cconf = endpoint_tests.make_conf(tmp_path)
    for name, value in (('executor', 'agent'), ('tick_s', 0.05),
                        ('job_poll_interval_s', 5.0), ('max_attempts', 1)):
        cconf.set_override(name, value, 'conductor')
    transport = rpc.get_transport(cconf)
    db = db_api.from_conf(cconf)
    svc = conductor_cmd.Service(cconf, db, transport)
    agents = []
    try:
        svc.start()
        for host in ('a', 'b', 'c'):
            aconf = fakehosts.make_conf(tmp_path, host, **overrides)
            agents.append(agent_mod.Agent(aconf, fake.FakeDriver(aconf),
                                          transport))
            agents[-1].start()
        cond = svc.conductor
        fixtures.wait_until(lambda: _reported(cond, 'abc'),
                            what='reports of a, b and c')
        view = cond.create_plan('drain', hosts=['a'])
        steps = {s['vm']: s for s in view['steps']}
        assert {'vm1', 'vm2'} <= set(steps)
        cond.execute_plan(view['id'])
        fixtures.wait_until(
            lambda: cond.show_plan(view['id'])['state'] in (
                'completed', 'failed'), timeout_s=30.0,
            what='the drain to end')
    finally:
        for agent in agents:
            agent.stop(timeout_s=2.0)
        svc.stop()
        rpc.cleanup(transport)
    ran = [s for s in cond.show_plan(view['id'])['steps']
           if s['state'] != 'skipped']
    conf = tmp_path / 'export.conf'
    conf.write_text(f'[database]\nconnection = sqlite:///{tmp_path}/'
                    'c.sqlite\n')
    status, out, err = export(capsys, str(conf))
    assert status == 0, err
    got = {r.step_id: r for r in jsonl.loads(out, 'export')}
    assert sorted(got) == sorted(s['id'] for s in ran)
    for step in ran:
        r = got[step['id']]
        assert r.vm == step['vm'] and r.after.completed == (
            step['state'] == 'completed')
        assert r.before.memory_mib == 4096 and r.before.path_gbit_s > 0
    done = [r for r in got.values() if r.after.completed]
    failed = [r for r in got.values() if r.vm == 'vm2']
    assert done and failed and not failed[0].after.completed
    # the fake driver counted zero pages; the records carry them
    assert all(r.after.zero_pages and r.resident_mib() < 4096
               for r in done)
    assert json.loads(out.splitlines()[0])['version'] == 1


def _reported(cond, hosts):
    try:
        return set(hosts) <= set(cond.live.snapshot().hosts)
    except exception.LivemigError:
        time.sleep(0.05)
        return False
