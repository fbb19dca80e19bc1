"""``agent``: steps carried out by nova-livemig agents over RPC.

The step is cast to the agent of its *source* host (``live_migrate``),
which runs the migration and casts progress and the result back to the
conductor; ``abort_migration`` and ``get_job`` go to the same agent. The
step's fence (its start-by time and the conductor's epoch) travels in the
RPC context (:func:`nova_livemig.agent.steps.fence_context`): the agent
refuses the step after that time, so a cast that waited in the broker
while the agent was down never runs after the conductor gave it up.
"""

from nova_livemig import executors
from nova_livemig.agent import rpcapi
from nova_livemig.agent import steps


class AgentExecutor(executors.Executor):
    name = 'agent'

    def __init__(self, conf, transport=None):
        super().__init__(conf, transport)
        # get_job is asked by the plan runner: a dead agent must not hold
        # it for rpc_response_timeout (60 s by default)
        timeout = max(1.0, min(conf.conductor.job_poll_interval_s, 10.0))
        self.api = rpcapi.AgentAPI(transport, timeout=timeout)

    def start(self, step, fence=None):
        self.api.live_migrate(steps.fence_context({}, fence),
                              step['source'], step)

    def abort(self, step):
        self.api.abort_migration({}, step['source'], step['step_id'])

    def job(self, step):
        return self.api.get_job({}, step['source'], step['step_id'])
