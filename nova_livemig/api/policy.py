"""Authorizing a request against the rules of
:mod:`nova_livemig.api.policies` (and the operator's overrides in
``[oslo_policy] policy_file``)."""

from oslo_policy import policy

from nova_livemig.api import auth
from nova_livemig.api import errors
from nova_livemig.api import policies


def make_enforcer(conf):
    """An :class:`oslo_policy.policy.Enforcer` of ``conf`` with the
    defaults registered."""
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def get_enforcer():
    """The enforcer of ``oslopolicy-policy-generator`` and
    ``oslopolicy-checker`` (entry point ``oslo.policy.enforcer``): the
    configuration files of the command line are theirs to read."""
    from oslo_config import cfg

    from nova_livemig import conf as conf_mod
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf, messaging=False)
    conf([], project='nova-livemig')
    return make_enforcer(conf)


def authorize(req, rule):
    """Raise a 403 unless the request's context may do ``rule``."""
    context = auth.context_of(req)
    enforcer = req.environ['livemig.enforcer']
    target = {'project_id': context.project_id}
    try:
        enforcer.authorize(rule, target, context, do_raise=True)
    except (policy.PolicyNotAuthorized, policy.InvalidScope):
        raise errors.ApiError(
            403, f'policy does not allow {rule} to be performed') from None
