"""The policy rules of the REST API, defaults in code (oslo.policy).

Two personas, as the OpenStack secure-RBAC defaults have them: a
*reader* (the ``reader`` role on a project) lists and shows; only an
*admin* (the ``admin`` role) creates, executes, aborts and deletes plans
and refits the cost model. Operators override a rule in the file
``[oslo_policy] policy_file`` names; ``oslopolicy-sample-generator
--namespace nova_livemig`` writes every default
(``etc/nova-livemig/policy.yaml.sample``).
"""

import itertools

from nova_livemig.api.policies import base
from nova_livemig.api.policies import cluster
from nova_livemig.api.policies import plan


def list_rules():
    """Every rule of the API (entry point ``oslo.policy.policies``)."""
    return list(itertools.chain(base.list_rules(), plan.list_rules(),
                                cluster.list_rules()))
