"""The conductor refits the cost model from its own history: the fit is
written to ``[planner] calibration_file`` and planned with, a fit is due
after enough new records or after the interval, a restart counts from the
file, a replaced file is read and a bad one changes nothing."""

import dataclasses
import json
import os
import time

import pytest

from nova_livemig import cost
from nova_livemig.calibration import document
from nova_livemig.conductor import service
from nova_livemig.db import api as db_api
from nova_livemig.history import record
from tests import fixtures
from tests.unit import conductor_fixtures as cf
from tests.unit import test_calibration as history
from tests.unit import test_conductor_endpoint as endpoint_tests

T0 = 1_000_000.0


def make(tmp_path, **overrides):
    conf = endpoint_tests.make_conf(tmp_path)
    conf.set_override('algorithms', ['precopy', 'compress'], 'planner')
    conf.set_override('calibration_file', str(tmp_path / 'cal.json'),
                      'planner')
    for name, value in overrides.items():
        conf.set_override(name, value, 'conductor')
    db = db_api.from_conf(conf)
    clock = fixtures.Clock(T0)
    cond = service.Conductor(conf, db, cf.RecordingExecutor(), clock=clock)
    return cond, db, clock


def store(db, records, at):
    """Keep ``records`` as the conductor's own, finished at ``at``."""
    for i, rec in enumerate(records):
        rec = dataclasses.replace(rec, step_id=f's-{at}-{i}',
                                  finished_at=at + i * 1e-3)
        assert db.add_migration_record(record.to_primitive(rec))


def compress_history():
    return history._history(algos=('precopy', 'compress'))


def test_refit_writes_the_file_and_plans_with_it(tmp_path):
    cond, db, clock = make(tmp_path)
    assert cond.options.algorithms == ('precopy',)
    assert dict(cond.options.left_out)['compress']
    default_goodput = cond.options.params.goodput_fraction
    store(db, compress_history(), T0 - 100)
    assert cond.refitter.due(clock())
    cal = cond.refitter.run_once()
    assert cal is not None and cal.records == len(compress_history())
    # the file holds the fit, and the conductor plans with it
    assert document.load(str(tmp_path / 'cal.json')) == cal
    fitted = cal.constants['goodput_fraction'].value
    assert fitted == pytest.approx(history.TRUE.goodput_fraction, rel=0.05)
    assert fitted != pytest.approx(default_goodput, rel=0.01)
    assert cond.options.params.goodput_fraction == fitted
    assert cond.engine.options is cond.options
    # the history holds completed compress migrations: evidence
    assert cond.options.algorithms == ('precopy', 'compress')
    assert cond.options.left_out == ()
    # nothing new: no refit
    assert not cond.refitter.due(clock())
    assert cond.refitter.run_once() is None


def test_a_fit_is_due_after_enough_records_or_the_interval(tmp_path):
    cond, db, clock = make(tmp_path, refit_after_records=5,
                           refit_interval_s=3600)
    store(db, compress_history(), T0 - 100)
    cond.refitter.run_once()
    store(db, compress_history()[:4], T0 + 10)
    clock.now = T0 + 20
    assert cond.refitter.new_records() == 4
    assert not cond.refitter.due(clock())       # 4 < 5, 20 s < 1 h
    clock.now = T0 + 3601
    assert cond.refitter.due(clock())           # the interval passed
    store(db, compress_history()[4:5], T0 + 30)
    clock.now = T0 + 40
    assert cond.refitter.due(clock())           # 5 new records
    assert cond.refitter.run_once().records == \
        len(compress_history()) + 5


def test_interval_zero_never_refits(tmp_path):
    cond, db, clock = make(tmp_path, refit_interval_s=0)
    store(db, compress_history(), T0 - 100)
    assert not cond.refitter.due(clock())
    assert cond.refitter.run_once() is None
    assert not (tmp_path / 'cal.json').exists()


def test_refit_reads_only_the_newest_records(tmp_path):
    cond, db, clock = make(tmp_path, refit_max_records=10)
    store(db, compress_history(), T0 - 100)
    assert cond.refitter.run_once().records == 10


def test_a_restarted_conductor_counts_from_the_file(tmp_path):
    cond, db, clock = make(tmp_path)
    store(db, compress_history(), T0 - 100)
    first = cond.refitter.run_once()
    again, _, clock2 = make(tmp_path)
    # the options come from the file at once, and no refit is due
    assert again.options.algorithms == ('precopy', 'compress')
    again.refitter.reload()
    assert again.refitter.fitted_at == first.fitted_at
    assert not again.refitter.due(clock2())


def test_a_replaced_file_is_read_and_a_bad_one_changes_nothing(tmp_path):
    cond, db, clock = make(tmp_path)
    path = tmp_path / 'cal.json'
    store(db, compress_history(), T0 - 100)
    cal = cond.refitter.run_once()
    # an operator's own calibration replaces it
    data = document.to_primitive(cal)
    data['constants']['setup_s']['value'] = 2.5
    path.write_text(json.dumps(data))
    os.utime(path, ns=(1, 1))
    cond.refitter.run_once()
    assert cond.options.params.setup_s == 2.5
    before = cond.options
    # then a broken one: logged, the constants stay
    for text in ('{"version": 1, "constants": {"setup_s": {"value": 1e999',
                 json.dumps(dict(data, version=99)),
                 '\xff not json'):
        path.write_text(text, errors='surrogateescape')
        os.utime(path, ns=(len(text), len(text)))
        assert cond.refitter.run_once() is None
        assert cond.options is before


def test_no_refit_without_a_calibration_file(tmp_path):
    conf = endpoint_tests.make_conf(tmp_path)
    cond = service.Conductor(conf, db_api.from_conf(conf),
                             cf.RecordingExecutor())
    assert cond.refitter is None


def test_the_running_conductor_refits_in_the_background(tmp_path):
    cond, db, clock = make(tmp_path)
    store(db, compress_history(), T0 - 100)
    cond.refitter.check_s = 0.05
    cond.start()
    try:
        deadline = time.monotonic() + 20
        while 'compress' not in cond.options.algorithms:
            assert time.monotonic() < deadline, 'no refit happened'
            time.sleep(0.05)
    finally:
        cond.stop()
    assert (tmp_path / 'cal.json').exists()
    assert cost.CostParams().goodput_fraction != \
        cond.options.params.goodput_fraction
