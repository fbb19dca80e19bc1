"""``agent``: steps carried out by nova-livemig agents over RPC.

The step is cast to the agent of its *source* host (``live_migrate``),
which runs the migration and casts progress and the result back to the
conductor; ``abort_migration`` and ``get_job`` go to the same agent.
"""

from nova_livemig import executors
from nova_livemig.agent import rpcapi


class AgentExecutor(executors.Executor):
    name = 'agent'

    def __init__(self, conf, transport=None):
        super().__init__(conf, transport)
        # get_job is asked by the plan runner: a dead agent must not hold
        # it for rpc_response_timeout (60 s by default)
        timeout = max(1.0, min(conf.conductor.job_poll_interval_s, 10.0))
        self.api = rpcapi.AgentAPI(transport, timeout=timeout)

    def start(self, step):
        self.api.live_migrate({}, step['source'], step)

    def abort(self, step):
        self.api.abort_migration({}, step['source'], step['step_id'])

    def job(self, step):
        return self.api.get_job({}, step['source'], step['step_id'])
