"""The conductor: keeps the live cluster model, plans, and executes plans.

The data flows through its modules in this order: agents' reports reach the
RPC endpoint (:mod:`.manager`), which hands plain values to the service
(:mod:`.service`); the service keeps the live model (:mod:`.livemodel`),
plans on it (:mod:`.planner`), records plans in the database and lets the
runner (:mod:`.runner`) dispatch their steps (:mod:`.dispatch`) to the
executor. Scheduled policies fire from :mod:`.periodic`; :mod:`.views`
shapes plans for people and programs; :mod:`.notifications` builds the
versioned notifications; :mod:`.rpcapi` is the client other processes use.
"""
