"""Rules of plans and their steps (``/v1/plans``)."""

from nova_livemig.api.policies import base


def _rule(name, check, method, path, description):
    return base.rule(f'livemig:plan:{name}', check, method, path,
                     description)


RULES = [
    _rule('list', base.READER, 'GET', '/v1/plans', 'List plans.'),
    _rule('show', base.READER, 'GET', '/v1/plans/{plan_id}',
          'Show a plan with its steps.'),
    _rule('create', base.ADMIN, 'POST', '/v1/plans',
          'Create a plan from a policy (a dry run records it only).'),
    _rule('execute', base.ADMIN, 'POST', '/v1/plans/{plan_id}/execute',
          'Execute a planned plan: live-migrates VMs.'),
    _rule('abort', base.ADMIN, 'POST', '/v1/plans/{plan_id}/abort',
          'Abort a plan: pending steps are skipped, running ones aborted.'),
    _rule('delete', base.ADMIN, 'DELETE', '/v1/plans/{plan_id}',
          'Delete a plan that is not executing.'),
    base.rule('livemig:step:list', base.READER, 'GET',
              '/v1/plans/{plan_id}/steps', 'List the steps of a plan.'),
]


def list_rules():
    return RULES
