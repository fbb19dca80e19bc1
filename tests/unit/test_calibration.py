"""The calibration fit recovers constants the history was made with, is
robust to outliers, says what it left at its defaults, and its files are
read as strictly as any operator input."""

import dataclasses
import json
import os

import pytest

from nova_livemig import algorithms
from nova_livemig import calibration
from nova_livemig import cost
from nova_livemig import exception
from nova_livemig.calibration import document
from nova_livemig.calibration import evidence
from nova_livemig.calibration import fit
from nova_livemig.cmd import cli
from nova_livemig.history import jsonl
from nova_livemig.history import record

ALGOS = algorithms.load_algorithms(list(record.ALGORITHMS))
#: the "cloud" the synthetic history comes from: none of these is a default
TRUE = cost.CostParams(goodput_fraction=0.9, setup_s=0.5, switchover_ms=3.0,
                       pause_backlog_mib=3.0, migration_dirty_factor=1.3)
RESIDENT = 0.5


#: the pause backlog the agents set QEMU's limit with (the default)
AGENT_BACKLOG_MIB = cost.CostParams().pause_backlog_mib


def _history(params=TRUE, algos=('precopy', 'postcopy')):
    """Records of migrations as the model with ``params`` runs them, the
    guests half resident; ``before`` holds only what a cloud knows. The
    agents lowered QEMU's limit for the default backlog, so a converged
    pre-copy pauses the rest of the true backlog longer."""
    agent = dataclasses.replace(params, pause_backlog_mib=AGENT_BACKLOG_MIB)
    extra_mib = params.pause_backlog_mib - AGENT_BACKLOG_MIB
    out = []
    n = 0
    for memory in (256, 512, 1024):
        for gbit in (0.2, 0.5, 1.0):
            for dirty in (0.0, 5.0, 10.0, 20.0):
                for algo in algos:
                    n += 1
                    resident = memory * RESIDENT
                    inp = cost.MigrationInput(memory, dirty, gbit, 300.0,
                                              resident_mib=resident)
                    pred = ALGOS[algo].predict(inp, agent)
                    if pred.converges and algo != 'postcopy':
                        rate = cost.bytes_per_s(gbit, params)
                        late_s = extra_mib * cost.MIB / rate
                        pred = dataclasses.replace(
                            pred, total_s=pred.total_s + late_s,
                            downtime_ms=pred.downtime_ms + late_s * 1000)
                    before = record.Before(
                        memory_mib=memory, dirty_rate_mib_s=dirty,
                        path_gbit_s=gbit, max_downtime_ms=300.0)
                    after = record.After(
                        completed=pred.converges, aborted=not pred.converges,
                        total_s=pred.total_s,
                        downtime_ms=pred.downtime_ms if pred.converges
                        else None,
                        bytes=pred.bytes_sent, iterations=pred.iterations,
                        zero_pages=int((memory - resident) * 256),
                        postcopy_started_s=0.0 if algo == 'postcopy'
                        else None)
                    out.append(record.Record(
                        vm=f'vm-{n}', source='a', destination='b',
                        algorithm=algo, before=before, after=after))
    return out


def _fit(records):
    return fit.fit(records, cost.CostParams(), ALGOS)


def test_fit_recovers_the_constants_of_the_history():
    cal = _fit(_history())
    c = cal.constants
    assert c['goodput_fraction'].value == pytest.approx(0.9, abs=0.03)
    assert c['setup_s'].value == pytest.approx(0.5, abs=0.25)
    assert c['switchover_ms'].value == pytest.approx(3.0, abs=1.0)
    assert c['resident_fraction'].value == pytest.approx(RESIDENT, abs=0.01)
    assert c['migration_dirty_factor'].value == pytest.approx(1.3, abs=0.15)
    assert c['pause_backlog_mib'].value == pytest.approx(3.0, abs=0.6)
    assert all(k.stderr is None or k.stderr >= 0 for k in c.values())
    assert cal.evidence == {'postcopy': 36, 'precopy': 36} or (
        cal.evidence['postcopy'] == 36 and cal.evidence['precopy'] <= 36)
    # what no history here can fit stays at its default, with the reason
    assert 'compress_ratio' in cal.defaulted


def _sweeping_history(overlap):
    """Pre-copies of guests with a 64 MiB working set over 1 Gbit/s, as
    the model with ``dirty_overlap`` runs them (aborted where it gives
    up)."""
    params = dataclasses.replace(TRUE, dirty_overlap=overlap)
    out = []
    for n, dirty in enumerate((20, 40, 60, 70, 80, 90, 100, 120, 150, 250)):
        inp = cost.MigrationInput(512, dirty, 1.0, 300.0, wws_mib=64,
                                  resident_mib=256)
        pred = ALGOS['precopy'].predict(inp, params)
        before = record.Before(memory_mib=512, dirty_rate_mib_s=dirty,
                               wws_mib=64, path_gbit_s=1.0,
                               max_downtime_ms=300.0)
        after = record.After(
            completed=pred.converges, aborted=not pred.converges,
            total_s=pred.total_s,
            downtime_ms=pred.downtime_ms if pred.converges else None,
            bytes=pred.bytes_sent, iterations=pred.iterations,
            zero_pages=256 * 256)
        out.append(record.Record(vm=f'sweep-{n}', source='a',
                                 destination='b', algorithm='precopy',
                                 before=before, after=after))
    return out


@pytest.mark.parametrize('overlap', [0.0, 1.0])
def test_fit_tells_a_sweeping_guest_from_a_random_writer(overlap):
    records = _sweeping_history(overlap)
    # the two laws disagree on some of these runs
    other = _sweeping_history(1.0 - overlap)
    assert ([r.after.completed for r in records]
            != [r.after.completed for r in other])
    cal = _fit(_history() + records)
    assert cal.constants['dirty_overlap'].value == overlap


def test_a_few_wild_migrations_do_not_move_the_fit():
    records = _history()
    clean = _fit(records).constants
    wild = [dataclasses.replace(r, after=dataclasses.replace(
        r.after, total_s=r.after.total_s * 5)) for r in records[:4]]
    noisy = _fit(records[4:] + wild).constants
    for name in ('goodput_fraction', 'setup_s'):
        assert noisy[name].value == pytest.approx(clean[name].value,
                                                  rel=0.1, abs=0.1)


def test_too_little_history_keeps_the_defaults_and_says_why():
    cal = _fit(_history()[:3])
    assert not cal.constants
    assert 'at least 5 needed' in cal.defaulted['goodput_fraction']
    assert cal.params(cost.CostParams()) == cost.CostParams()


def test_fitted_constants_predict_better_than_the_defaults():
    records = _history()
    cal = _fit(records)
    params = cal.params(cost.CostParams())

    def error(p):
        errs = []
        for r in records:
            if r.after.completed:
                pred = fit.predict(r, p, ALGOS)
                errs.append(abs(pred.total_s - r.after.total_s)
                            / r.after.total_s)
        return sorted(errs)[len(errs) // 2]

    assert error(params) < 0.05 < error(cost.CostParams())


def test_evidence_lets_a_measured_algorithm_in():
    keep, left = evidence.usable(('precopy', 'compress'), None)
    assert keep == ('precopy',) and left[0][0] == 'compress'
    cal = calibration.Calibration({}, evidence={'compress': 2})
    assert evidence.usable(('compress',), cal)[0] == ()
    assert '2 completed compress' in evidence.usable(('compress',),
                                                     cal)[1][0][1]
    cal = calibration.Calibration({}, evidence={'compress': 3})
    assert evidence.usable(('compress',), cal) == (('compress',), ())


def test_document_round_trip():
    cal = _fit(_history())
    again = document.loads(document.dumps(cal), 'c.json')
    assert again.evidence == cal.evidence
    for name, c in cal.constants.items():
        assert again.constants[name].value == pytest.approx(c.value,
                                                            abs=1e-6)


HOSTILE_CALIBRATIONS = [
    ('not json', '{"version": 1,', 'JSON text'),
    ('duplicate key', '{"version": 1, "version": 1, "constants": {}}',
     'duplicate key'),
    ('float version', '{"version": 1.0, "constants": {}}', 'version'),
    ('huge integer', '{"version": 1, "records": 1' + '0' * 400
     + ', "constants": {}}', 'digits'),
    ('unknown constant', '{"version": 1, "constants": {"max_iterations": '
     '{"value": 1, "records": 1}}}', 'constants.max_iterations'),
    ('out of bounds', '{"version": 1, "constants": {"goodput_fraction": '
     '{"value": 7, "records": 1}}}', 'constants.goodput_fraction.value'),
    ('nan', '{"version": 1, "constants": {"setup_s": {"value": NaN, '
     '"records": 1}}}', 'NaN'),
    ('bad evidence', '{"version": 1, "constants": {}, "evidence": '
     '{"teleport": 4}}', 'evidence.teleport'),
    ('deep', '[' * 100000 + ']' * 100000, 'JSON text'),
]


@pytest.mark.parametrize('name,text,words', HOSTILE_CALIBRATIONS,
                         ids=[h[0] for h in HOSTILE_CALIBRATIONS])
def test_hostile_calibration_files_are_refused_by_name(
        tmp_path, capsys, name, text, words):
    path = tmp_path / 'cal.json'
    path.write_text(text)
    snap = os.path.join(os.path.dirname(__file__), '..', '..', 'etc',
                        'nova-livemig', 'example-snapshot.json')
    status = cli.run(['plan', '--snapshot', snap, '--policy', 'drain',
                      '--calibration', str(path)])
    err = capsys.readouterr().err
    assert status == 2
    assert words in err
    assert 'Traceback' not in err
    assert len(err) < 5000


def test_a_fifo_is_refused_not_waited_on(tmp_path, capsys):
    fifo = tmp_path / 'history.jsonl'
    os.mkfifo(fifo)
    status = cli.run(['calibrate', '--history', str(fifo), '--output',
                      str(tmp_path / 'cal.json')])
    assert status == 2
    assert 'a FIFO' in capsys.readouterr().err
    assert not (tmp_path / 'cal.json').exists()


HOSTILE_RECORDS = [
    ('huge number', lambda d: d['before'].update(memory_mib=10 ** 15),
     '.before.memory_mib'),
    ('401 digits', lambda d: d['before'].update(memory_mib=10 ** 400),
     ': got'),
    ('bool version', lambda d: d.update(version=True), '.version'),
    ('unknown algorithm', lambda d: d.update(algorithm='teleport'),
     '.algorithm'),
    ('negative bytes', lambda d: d['after'].update(bytes=-1), '.after.bytes'),
    ('bad samples', lambda d: d['before'].update(
        dirty_rate_samples=[{'window_s': 0, 'mib_s': 1}]),
     '.before.dirty_rate_samples'),
    ('completed and aborted', lambda d: d['after'].update(aborted=True),
     '.after.aborted'),
]


@pytest.mark.parametrize('name,spoil,field', HOSTILE_RECORDS,
                         ids=[h[0] for h in HOSTILE_RECORDS])
def test_hostile_history_lines_are_refused_by_line_and_field(
        tmp_path, capsys, name, spoil, field):
    good = json.dumps(record.EXAMPLE)
    bad = json.loads(good)
    spoil(bad)
    path = tmp_path / 'h.jsonl'
    path.write_text(good + '\n' + json.dumps(bad) + '\n')
    out = tmp_path / 'cal.json'
    status = cli.run(['calibrate', '--history', str(path), '--output',
                      str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert f'h.jsonl:2{field}' in err
    assert not out.exists()


def test_invalid_utf8_and_binary_are_refused(tmp_path):
    path = tmp_path / 'h.jsonl'
    path.write_bytes(b'{"version": 1, "vm": "\xff"}\n')
    with pytest.raises(exception.InvalidInput, match='UTF-8'):
        jsonl.load(str(path))


def test_calibrate_then_plan_with_it(tmp_path, capsys):
    hist = tmp_path / 'h.jsonl'
    hist.write_text(jsonl.dumps(_history()))
    out = tmp_path / 'cal.json'
    assert cli.run(['calibrate', '--history', str(hist), '--output',
                    str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'fitted   goodput_fraction' in printed
    assert 'default  compress_ratio' in printed
    cal = document.load(str(out))
    assert cal.records == len(_history())
    snap = os.path.join(os.path.dirname(__file__), '..', '..', 'etc',
                        'nova-livemig', 'example-snapshot.json')
    args = ['plan', '--snapshot', snap, '--policy', 'drain', '--format',
            'json', '--no-schedule']
    assert cli.run(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert cli.run(args + ['--calibration', str(out)]) == 0
    fitted = json.loads(capsys.readouterr().out)
    # the same moves, other figures: the fitted constants were used
    assert ([m['vm'] for m in plain['moves']]
            == [m['vm'] for m in fitted['moves']])
    assert plain['totals']['sum_total_s'] != fitted['totals']['sum_total_s']
