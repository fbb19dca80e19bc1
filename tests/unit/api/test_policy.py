"""The policy defaults: a reader lists and shows, only an admin changes
anything; every route has its documented rule; the committed sample is
what the code generates; an operator's policy file overrides a rule."""

import pathlib

from oslo_config import cfg
from oslo_context import context
from oslo_policy import generator
from oslo_policy import policy as oslo_policy
import pytest

from nova_livemig import conf as conf_mod
from nova_livemig.api import policies
from nova_livemig.api import policy
from nova_livemig.api import router

ROOT = pathlib.Path(__file__).resolve().parents[3]
SAMPLE = ROOT / 'etc' / 'nova-livemig' / 'policy.yaml.sample'
GENERATOR_CONF = ROOT / 'etc' / 'nova-livemig' / \
    'nova-livemig-policy-generator.conf'

#: the rules a reader may use; every other documented rule is an admin's
READER_RULES = {
    'livemig:plan:list', 'livemig:plan:show', 'livemig:step:list',
    'livemig:snapshot:show', 'livemig:history:list',
    'livemig:calibration:show', 'livemig:periodic:list',
    'livemig:whatif:create'}
ADMIN_RULES = {'livemig:plan:create', 'livemig:plan:execute',
               'livemig:plan:abort', 'livemig:plan:delete',
               'livemig:calibration:refit', 'livemig:periodic:dry_run'}


def make_conf(tmp_path, policy_file=None):
    # The policy file is given in a config file of this conf alone:
    # oslo_policy.opts.set_defaults would change the default of every
    # later conf of the process.
    files = []
    if policy_file is not None:
        conf_file = tmp_path / 'nova-livemig.conf'
        conf_file.write_text(f'[oslo_policy]\npolicy_file = {policy_file}\n')
        files = [str(conf_file)]
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf, messaging=False)
    conf([], default_config_files=files, default_config_dirs=[])
    return conf, policy.make_enforcer(conf)


def ctx(*roles):
    return context.RequestContext(user_id='u', project_id='p',
                                  roles=list(roles))


def documented():
    return [r for r in policies.list_rules()
            if isinstance(r, oslo_policy.DocumentedRuleDefault)]


def test_every_documented_rule_is_a_reader_or_an_admin_rule():
    assert {r.name for r in documented()} == READER_RULES | ADMIN_RULES


@pytest.mark.parametrize('rule', sorted(READER_RULES | ADMIN_RULES))
def test_personas(tmp_path, rule):
    _, enforcer = make_conf(tmp_path)
    target = {'project_id': 'p'}
    admin = ctx('admin', 'member', 'reader')
    assert enforcer.authorize(rule, target, admin)
    assert enforcer.authorize(rule, target, ctx('reader')) is (
        rule in READER_RULES)
    assert not enforcer.authorize(rule, target, ctx('member'))
    assert not enforcer.authorize(rule, target, ctx())


def test_a_reader_cannot_execute_or_abort(tmp_path):
    _, enforcer = make_conf(tmp_path)
    for rule in ('livemig:plan:execute', 'livemig:plan:abort'):
        with pytest.raises(oslo_policy.PolicyNotAuthorized):
            enforcer.authorize(rule, {}, ctx('reader'), do_raise=True)


def test_every_route_has_its_documented_rule():
    operations = {(op['method'], op['path'])
                  for r in documented() for op in r.operations}
    routes = {(method, path) for path, methods in router.ROUTES.items()
              for method in methods if path not in router.PUBLIC}
    assert operations == routes


def test_an_operator_file_overrides_a_default(tmp_path):
    override = tmp_path / 'policy.yaml'
    override.write_text('"livemig:plan:create": "rule:livemig_reader"\n')
    _, enforcer = make_conf(tmp_path, override)
    assert enforcer.authorize('livemig:plan:create', {}, ctx('reader'))
    assert not enforcer.authorize('livemig:plan:execute', {},
                                  ctx('reader'))


def test_committed_policy_sample_is_current(tmp_path):
    out = tmp_path / 'policy.yaml.sample'
    generator.generate_sample(
        ['--config-file', str(GENERATOR_CONF), '--output-file', str(out)],
        conf=cfg.ConfigOpts())
    assert SAMPLE.read_text() == out.read_text(), (
        'etc/nova-livemig/policy.yaml.sample is stale: regenerate it with '
        'oslopolicy-sample-generator --config-file '
        'etc/nova-livemig/nova-livemig-policy-generator.conf')
