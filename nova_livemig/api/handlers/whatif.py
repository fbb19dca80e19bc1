"""What-if (``POST /v1/whatif``): plan on a posted snapshot, as the
offline ``nova-livemig plan --snapshot`` does (its core,
:mod:`nova_livemig.cmd.whatif`), with the API service's ``[planner]``
options. Nothing is recorded, nothing is contacted: the conductor is not
called.
"""

import dataclasses
import types

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import exception
from nova_livemig import graph as graph_mod
from nova_livemig import model
from nova_livemig import policies
from nova_livemig import validation as v
from nova_livemig.api import body
from nova_livemig.api import errors
from nova_livemig.api import policy as policy_mod
from nova_livemig.api import responses
from nova_livemig.api.handlers import common
from nova_livemig.cmd import outcome
from nova_livemig.cmd import whatif
from nova_livemig.conf import planner

OBJECT = v.Kind('a JSON object (a snapshot, format v1)',
                lambda x: x if isinstance(x, dict) else v.INVALID)
DOWNTIME_MS = v.number(minimum=0, maximum=whatif.MAX_DOWNTIME_MS,
                       exclusive=True)
BODY = {
    'snapshot': v.required(OBJECT),
    'policy': v.required(v.NAME),
    'hosts': v.optional(body.NAMES, []),
    'vms': v.optional(body.NAMES, []),
    'max_downtime_ms': v.optional(DOWNTIME_MS),
    'schedule': v.optional(v.BOOLEAN, True),
}


def _known(field, names, known):
    for i, name in enumerate(names):
        if name not in known:
            raise exception.InvalidInput(
                f'{field}[{i}]', name, 'a name of the snapshot: '
                + ', '.join(list(known)[:10]))


def plan(data, conf):
    """The what-if plan document of a checked request body
    (:data:`BODY`); ``doc/plan-format.md`` with ``schedule``."""
    snapshot = model.from_primitive(data['snapshot'])
    _known('body.vms', data['vms'], snapshot.vms)
    _known('body.hosts', data['hosts'], snapshot.hosts)
    options = planner.options_from(conf)
    if data['max_downtime_ms'] is not None:
        options = dataclasses.replace(
            options, max_downtime_ms=data['max_downtime_ms'])
    chosen = policies.load_policy(data['policy'], 'body.policy')
    request = policies.PlanRequest(vms=tuple(data['vms']),
                                   hosts=tuple(data['hosts']))
    algorithms = algorithms_mod.load_algorithms(options.algorithms)
    graph = graph_mod.LinkGraph(snapshot)
    result = chosen.plan(snapshot, graph, request, options, algorithms)
    args = types.SimpleNamespace(graph=None,
                                 no_schedule=not data['schedule'])
    sched = whatif._schedule(args, snapshot, graph, result, options,
                             algorithms)
    if sched is None:
        out = outcome.of_plan(result, snapshot)
    else:
        out = outcome.of_schedule(snapshot, result, sched, options,
                                  algorithms)
    doc = whatif.to_primitive(result, out, sched)
    doc['left_out'] = options.left_out_primitive()
    return doc


def create(req):
    policy_mod.authorize(req, 'livemig:whatif:create')
    conf = common.conf_of(req)
    data = body.check(body.json_body(req, conf.api.max_body_bytes), BODY)
    try:
        doc = plan(data, conf)
    except exception.LivemigError as err:
        raise errors.of(err) from None
    return responses.json_response({'plan': doc})
