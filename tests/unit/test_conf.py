"""Option groups are private to each ConfigOpts."""

from oslo_config import cfg

from nova_livemig import conf as conf_mod
from nova_livemig.conf import planner


def _conf():
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([])
    return conf


def test_overrides_do_not_leak_between_configs():
    first, second = _conf(), _conf()
    for group, opt in (('planner', 'max_downtime_ms'),
                       ('cost_model', 'switchover_ms')):
        default = second[group][opt]
        first.set_override(opt, default + 7, group=group)
        assert first[group][opt] == default + 7
        assert second[group][opt] == default


def test_planning_options_follow_the_switches():
    conf = _conf()
    conf.set_override('allow_postcopy', False, group='planner')
    conf.set_override('allow_throttle', False, group='planner')
    conf.set_override('max_downtime_ms', 120.0, group='planner')
    options = planner.options_from(conf)
    # compress was never measured: left out, and the plan says why
    assert options.algorithms == ('precopy',)
    assert [name for name, _why in options.left_out] == ['compress']
    assert options.max_downtime_ms == 120.0
    conf.set_override('require_evidence', False, group='planner')
    assert planner.options_from(conf).algorithms == ('precopy', 'compress')
