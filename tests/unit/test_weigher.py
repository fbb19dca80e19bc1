"""The Nova weigher's logic, without nova.

:class:`nova_livemig.weigher.cost_table.CostTable` holds everything the weigher
decides; the last tests load :mod:`nova_livemig.weigher` itself against a
stand-in for the three nova modules it imports.
"""

import importlib
import json
import logging
import os
import sys
import time

from oslo_config import cfg
import pytest

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig import model
from nova_livemig.weigher import cost_table
from tests.hostile import nova_stub


class LineRate(algorithms.Algorithm):
    """A stand-in cost model: memory over the path's payload rate, with a
    downtime of one dirty second's worth of pages."""

    name = 'linerate'

    def predict(self, inp, params):
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params)
        downtime_ms = inp.dirty_rate_mib_s * cost.MIB / rate * 1000
        return cost.Prediction(
            algorithm=self.name, total_s=inp.memory_mib * cost.MIB / rate,
            downtime_ms=downtime_ms, bytes_sent=inp.memory_mib * cost.MIB,
            converges=True)


ALGORITHMS = {'linerate': LineRate()}
NOW = 1_000_000.0


def snapshot_doc(gbit_s, vm_host='host1', dirty_rate_mib_s=10.0):
    """Three hosts on one switch; ``gbit_s`` maps host -> uplink speed."""
    return {
        'version': 1,
        'hosts': [{'name': h, 'vcpus': 16, 'memory_mib': 65536}
                  for h in ('host1', 'host2', 'host3')],
        'vms': [{'id': 'vm1', 'host': vm_host, 'vcpus': 2,
                 'memory_mib': 4096, 'cpu_util': 0.5,
                 'dirty_rate_mib_s': dirty_rate_mib_s}],
        'network': {'switches': ['tor'], 'links': [
            {'a': h, 'b': 'tor', 'gbit_s': g} for h, g in gbit_s.items()]},
    }


def publish(path, doc, mtime=NOW):
    path.write_text(json.dumps(doc))
    os.utime(path, (mtime, mtime))


OPTIONS = cost_table.plan.PlanningOptions(algorithms=('linerate',))


def table(path, algorithms=ALGORITHMS, options=OPTIONS):
    return cost_table.CostTable(str(path), max_age_s=600, options=options,
                               algorithms=algorithms, clock=lambda: NOW)


FAST_HOST3 = {'host1': 25.0, 'host2': 1.0, 'host3': 25.0}


@pytest.fixture
def snap_file(tmp_path):
    path = tmp_path / 'snapshot.json'
    publish(path, snapshot_doc(FAST_HOST3))
    return path


def test_cheaper_path_costs_less(snap_file):
    t = table(snap_file)
    assert t.cost_s('vm1', 'host3') < t.cost_s('vm1', 'host2')
    # 4 GiB at 0.96 * 25 Gbit/s, and at 0.96 * 1 Gbit/s
    assert t.cost_s('vm1', 'host3') == pytest.approx(1.43, abs=0.01)
    assert t.cost_s('vm1', 'host2') == pytest.approx(35.8, abs=0.1)
    assert t.cost_s('vm1', 'host1') == 0.0


def test_boot_is_neutral(snap_file):
    """A new instance is not in the snapshot yet: no opinion."""
    assert table(snap_file).cost_s('new-instance-uuid', 'host3') is None


def test_stale_file_is_neutral(snap_file):
    publish(snap_file, snapshot_doc(FAST_HOST3), mtime=NOW - 601)
    assert table(snap_file).cost_s('vm1', 'host3') is None


def test_missing_or_invalid_file_is_neutral(tmp_path, snap_file):
    assert table(tmp_path / 'absent.json').cost_s('vm1', 'host3') is None
    publish(snap_file, {'version': 2})
    assert table(snap_file).cost_s('vm1', 'host3') is None


def test_no_cost_model_is_neutral(snap_file):
    assert table(snap_file, algorithms={}).cost_s('vm1', 'host3') is None


def test_unknown_host_counts_as_costliest(snap_file):
    t = table(snap_file)
    assert t.cost_s('vm1', 'host9') == t.cost_s('vm1', 'host2')


def test_missing_the_downtime_target_counts_after_meeting_it(tmp_path):
    # 40 MiB/s dirty, 50 at the high bound that choose() checks: 17 ms of
    # downtime at 25 Gbit/s, 437 ms at 1 Gbit/s
    path = tmp_path / 'snapshot.json'
    publish(path, snapshot_doc({'host1': 25.0, 'host2': 1.0, 'host3': 25.0},
                               dirty_rate_mib_s=40.0))
    opts = cost_table.plan.PlanningOptions(max_downtime_ms=100.0,
                                          algorithms=('linerate',))
    t = table(path, options=opts)
    assert t.cost_s('vm1', 'host2') == pytest.approx(
        t.cost_s('vm1', 'host3') + 35.8, abs=0.1)


def test_file_read_once_and_again_when_it_changes(snap_file, monkeypatch):
    loads = []
    real_load = model.load
    monkeypatch.setattr(model, 'load',
                        lambda p: loads.append(p) or real_load(p))
    t = table(snap_file)
    for host in ('host1', 'host2', 'host3', 'host2'):
        t.cost_s('vm1', host)
    assert len(loads) == 1
    # measurements change, the VM has moved to host3: host2 is now cheap
    publish(snap_file, snapshot_doc(
        {'host1': 1.0, 'host2': 25.0, 'host3': 25.0}, vm_host='host3'),
        mtime=NOW - 1)
    assert t.cost_s('vm1', 'host2') < t.cost_s('vm1', 'host1')
    assert t.cost_s('vm1', 'host3') == 0.0
    assert len(loads) == 2


# The weigher itself, against stand-ins for nova.conf and nova.scheduler.


@pytest.fixture
def weigher_mod(monkeypatch, snap_file):
    weigher = nova_stub.load_weigher(monkeypatch)
    weigher.CONF.set_override('snapshot_path', str(snap_file),
                              'nova_livemig')
    # the weigher loads the plugins its options name, and reads the clock
    monkeypatch.setattr(cost_table, 'load_algorithms',
                        lambda names: {names[0]: LineRate()})
    publish(snap_file, snapshot_doc(FAST_HOST3), mtime=time.time())
    yield weigher
    sys.modules.pop('nova_livemig.weigher.migration_cost', None)


spec = nova_stub.spec
host = nova_stub.host


def test_weigher_returns_minus_seconds(weigher_mod):
    w = weigher_mod.MigrationCostWeigher()
    weights = {h: w._weigh_object(host(h), spec('vm1'))
               for h in ('host2', 'host3')}
    assert weights['host3'] > weights['host2']
    assert weights['host3'] == pytest.approx(-1.43, abs=0.01)
    assert w.weight_multiplier(host('host3')) == 1.0


def test_weigher_is_neutral_for_boot_and_rebuild(weigher_mod):
    w = weigher_mod.MigrationCostWeigher()
    assert w._weigh_object(host('host3'), spec('new-uuid')) == 0.0
    rebuild = spec('vm1', {'_nova_check_type': ['rebuild']})
    assert w._weigh_object(host('host3'), rebuild) == 0.0


def test_weigher_keeps_the_name_nova_conf_uses(weigher_mod):
    """nova.conf names ``nova_livemig.weigher.MigrationCostWeigher``."""
    import nova_livemig.weigher as package
    assert package.MigrationCostWeigher is weigher_mod.MigrationCostWeigher
    with pytest.raises(AttributeError):
        package.NoSuchWeigher


def test_weigher_registers_the_options_of_conf_weigher(weigher_mod):
    from nova_livemig.conf import weigher as weigher_conf
    conf = weigher_mod.CONF
    assert {o.name for o in weigher_conf.OPTS} <= set(conf.nova_livemig)
    assert conf.nova_livemig.snapshot_max_age_s == 600
    conf.set_override('migration_cost_weight_multiplier', 2.5,
                      'nova_livemig')
    w = weigher_mod.MigrationCostWeigher()
    assert w.weight_multiplier(host('host3')) == 2.5


def test_weigher_options_load_without_nova(monkeypatch):
    """The sample generator reads the options without nova installed."""
    for name in [n for n in sys.modules
                 if n == 'nova' or n.startswith('nova.')]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, 'nova', None)  # import nova fails
    monkeypatch.delitem(sys.modules, 'nova_livemig.conf.weigher',
                        raising=False)
    weigher_conf = importlib.import_module('nova_livemig.conf.weigher')
    conf = cfg.ConfigOpts()
    weigher_conf.register_opts(conf)
    conf([])
    assert conf.nova_livemig.snapshot_path.endswith('snapshot.json')
    from nova_livemig.conf import opts
    assert [g.name for g, _ in opts.list_weigher_opts()] == ['nova_livemig']
    assert 'nova_livemig' not in [getattr(g, 'name', g)
                                  for g, _ in opts.list_opts()]


def _calibration(path, goodput, evidence=None):
    path.write_text(json.dumps({
        'version': 1, 'records': 40,
        'constants': {'goodput_fraction': {'value': goodput,
                                           'stderr': 0.01, 'records': 40}},
        'evidence': evidence or {}}))


def test_the_weigher_predicts_with_the_planner_s_calibration(tmp_path,
                                                             snap_file):
    cal = tmp_path / 'calibration.json'
    table = cost_table.CostTable(str(snap_file), max_age_s=600,
                                 clock=lambda: NOW,
                                 calibration_path=str(cal))
    # no file: the defaults, and compress (never measured) is not used
    plain = table.cost_s('vm1', 'host3')
    assert 'compress' not in table.options.algorithms
    assert table.options.params == cost.CostParams()
    # a calibration with half the goodput: the same move costs more
    _calibration(cal, 0.48, evidence={'compress': 5})
    slow = table.cost_s('vm1', 'host3')
    assert table.options.params.goodput_fraction == 0.48
    assert 'compress' in table.options.algorithms
    assert slow > plain * 1.5
    # an invalid calibration: back to the defaults, no exception
    cal.write_text('{"version": 1, "constants": {"setup_s": '
                   '{"value": -5, "records": 1}}}')
    assert table.cost_s('vm1', 'host3') == pytest.approx(plain)
    cal.unlink()
    assert table.cost_s('vm1', 'host3') == pytest.approx(plain)


# Whatever goes wrong, the weigher has no opinion and says so once per
# version of the file: it runs inside nova-scheduler's weighing, where an
# exception fails the request and a warning per host floods the log.


def cost_warnings(caplog):
    return [r for r in caplog.records if r.levelno >= logging.WARNING
            and r.name == cost_table.__name__]


def ask_often(t):
    """Two requests for vm1, each weighing the three hosts."""
    return [t.cost_s('vm1', h) for _ in range(2)
            for h in ('host1', 'host2', 'host3')]


@pytest.mark.parametrize('error', [MemoryError(), RecursionError('deep'),
                                   ValueError('odd'), OverflowError()])
def test_a_snapshot_that_cannot_be_loaded_is_one_warning(
        snap_file, monkeypatch, caplog, error):
    def load(path):
        raise error
    monkeypatch.setattr(model, 'load', load)
    t = table(snap_file)
    with caplog.at_level(logging.WARNING):
        assert ask_often(t) == [None] * 6
    [warned] = cost_warnings(caplog)
    assert type(error).__name__ in warned.getMessage()


def test_a_cost_that_cannot_be_computed_is_one_warning_per_file(
        snap_file, monkeypatch, caplog):
    def broken(self, state, vm):
        raise ZeroDivisionError('float division by zero')
    monkeypatch.setattr(cost_table.CostTable, '_costs_for', broken)
    t = table(snap_file)
    with caplog.at_level(logging.WARNING):
        assert ask_often(t) == [None] * 6
        assert len(cost_warnings(caplog)) == 1
        # a new version of the file: one more warning, then quiet again
        publish(snap_file, snapshot_doc(FAST_HOST3), mtime=NOW - 1)
        assert ask_often(t) == [None] * 6
    assert len(cost_warnings(caplog)) == 2
    monkeypatch.undo()
    publish(snap_file, snapshot_doc(FAST_HOST3), mtime=NOW - 2)
    assert t.cost_s('vm1', 'host3') == pytest.approx(1.43, abs=0.01)


def test_an_invalid_file_is_one_warning_until_it_changes(snap_file, caplog):
    snap_file.write_text('{"version": 1.0}')
    t = table(snap_file)
    with caplog.at_level(logging.WARNING):
        assert ask_often(t) == [None] * 6
    [warned] = cost_warnings(caplog)
    assert '$.version: got 1.0' in warned.getMessage()
    publish(snap_file, snapshot_doc(FAST_HOST3))
    assert t.cost_s('vm1', 'host3') == pytest.approx(1.43, abs=0.01)


def test_a_fifo_is_no_opinion_without_waiting(tmp_path, caplog):
    fifo = tmp_path / 'snapshot.json'
    os.mkfifo(fifo)
    with caplog.at_level(logging.WARNING):
        assert ask_often(table(fifo)) == [None] * 6
    [warned] = cost_warnings(caplog)
    assert 'a FIFO' in warned.getMessage()


def test_a_broken_calibration_keeps_the_default_constants(
        snap_file, tmp_path, monkeypatch):
    cal = tmp_path / 'calibration.json'
    _calibration(cal, 0.48)

    def load(path, field):
        raise MemoryError()
    monkeypatch.setattr(cost_table.document, 'load', load)
    t = cost_table.CostTable(str(snap_file), max_age_s=600,
                             clock=lambda: NOW, calibration_path=str(cal))
    assert t.cost_s('vm1', 'host3') is not None
    assert t.options.params == cost.CostParams()


def test_the_weigher_is_neutral_when_its_table_fails(weigher_mod,
                                                     monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError('no table')
    monkeypatch.setattr(cost_table, 'CostTable', broken)
    w = weigher_mod.MigrationCostWeigher()
    with caplog.at_level(logging.WARNING):
        assert [w._weigh_object(host(h), spec('vm1'))
                for h in ('host2', 'host3') * 2] == [0.0] * 4
    assert len([r for r in caplog.records
                if r.name == weigher_mod.__name__]) == 1
