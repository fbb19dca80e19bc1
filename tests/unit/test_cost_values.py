"""The shared values of the cost models, their options and plugins."""

import dataclasses

from oslo_config import cfg
import pytest

from nova_livemig import algorithms
from nova_livemig import cost
from nova_livemig import exception
from nova_livemig.conf import cost_model

NAMES = ('precopy', 'autoconverge', 'compress', 'postcopy', 'hybrid')


def test_every_param_is_an_option_with_its_default():
    fields = {f.name: f.default for f in dataclasses.fields(cost.CostParams)}
    opts = {o.name: o.default for o in cost_model.OPTS}
    assert opts == fields


def test_params_from_config():
    conf = cfg.ConfigOpts()
    cost_model.register_opts(conf)
    conf(['--config-file', '/dev/null'], default_config_files=[])
    conf.set_override('sync_step_ms', 20.0, group='cost_model')
    conf.set_override('throttle_max_pct', 90.0, group='cost_model')
    params = cost_model.params_from(conf)
    assert params.sync_step_ms == 20.0
    assert params.throttle_max_pct == 90.0
    assert params.goodput_fraction == cost.CostParams().goodput_fraction


def test_load_algorithms_in_order():
    loaded = algorithms.load_algorithms(['hybrid', 'precopy'])
    assert list(loaded) == ['hybrid', 'precopy']
    assert all(isinstance(a, algorithms.Algorithm) for a in loaded.values())
    assert [a.name for a in loaded.values()] == ['hybrid', 'precopy']


def test_load_algorithms_unknown():
    with pytest.raises(exception.PluginLoadError, match='installed: auto'):
        algorithms.load_algorithms(['precopy', 'teleport'])


def test_plugin_flags():
    loaded = algorithms.load_algorithms(NAMES)
    assert {n for n, a in loaded.items() if a.uses_postcopy} == {
        'postcopy', 'hybrid'}
    assert {n for n, a in loaded.items() if a.throttles_guest} == {
        'autoconverge'}


@pytest.mark.parametrize('field, value', [
    ('bandwidth_gbit_s', -1.0), ('memory_mib', 0), ('dirty_rate_mib_s', -2),
    ('max_downtime_ms', 0.0), ('wws_mib', -5.0)])
def test_every_model_rejects_bad_input(field, value):
    inp = dataclasses.replace(cost.MigrationInput(1024, 10.0, 10.0),
                              **{field: value})
    for algo in algorithms.load_algorithms(NAMES).values():
        with pytest.raises(exception.InvalidInput, match=field):
            algo.predict(inp, cost.CostParams())


def test_every_model_fills_every_field():
    inp = cost.MigrationInput(2048, 30.0, 5.0, wws_mib=256,
                              resident_mib=1024, cpu_util=0.5)
    for name, algo in algorithms.load_algorithms(NAMES).items():
        r = algo.predict(inp, cost.CostParams())
        assert r.algorithm == name
        assert r.total_s > 0 and r.downtime_ms > 0 and r.bytes_sent > 0
        assert 0.0 <= r.slowdown <= 1.0
        assert r.converges


def test_prediction_primitive_round_trip():
    r = cost.Prediction('postcopy', 12.5, 7.25, 10, True, 0, 0.4,
                        (cost.RISK_VM_LOST,))
    assert cost.Prediction.from_primitive(r.to_primitive()) == r
