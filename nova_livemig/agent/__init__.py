"""The agent on each compute node: measures its host, runs and watches the
migrations the conductor sends it through its compute driver, and reports
back. :mod:`.manager` holds the agent and its RPC endpoint,
:mod:`.tuning` its part in migrations nova-compute started, :mod:`.steps`
its records of steps; :mod:`.rpcapi` is the client the conductor uses to
reach it.
"""
