"""``noop``: plans nothing. For tests and for checking a deployment."""

from nova_livemig import plan
from nova_livemig import policies


class Noop(policies.Policy):
    name = 'noop'

    def plan(self, snapshot, graph, request, options, algorithms):
        return plan.Plan(policy=self.name)
