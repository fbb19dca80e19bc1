"""Plans and their steps (``/v1/plans``).

A plan is created from a policy and its arguments; the conductor plans it
on its live model (a plan may show ``planning`` until its worker is
done: the answer is then 202, else 201). A list is a page of summaries,
newest first, ``limit``/``marker`` paged, filtered by ``state`` and
``policy``; its ``plans_links`` hold the next page while there may be one.
"""

from nova_livemig import exception
from nova_livemig import validation as v
from nova_livemig.api import body
from nova_livemig.api import errors
from nova_livemig.api import policy
from nova_livemig.api import responses
from nova_livemig.api.handlers import common

#: plans per page unless ``limit`` says otherwise
DEFAULT_LIMIT = 50
#: plans the conductor is asked for per page when a filter is given, and
#: the most a filtered list looks at before it answers a short page
SCAN_PAGE = 1000
SCAN_MAX = 10 * SCAN_PAGE
STATES = ('planning', 'planned', 'dry-run', 'executing', 'aborting',
          'completed', 'failed', 'aborted')

LIST_QUERY = {
    'limit': v.optional(body.LIMIT, DEFAULT_LIMIT),
    'marker': v.optional(body.PLAN_ID),
    'state': v.optional(v.one_of(STATES)),
    'policy': v.optional(v.NAME),
}
CREATE_BODY = {
    'policy': v.required(v.NAME),
    'hosts': v.optional(body.NAMES, []),
    'vms': v.optional(body.NAMES, []),
    'dry_run': v.optional(v.BOOLEAN, False),
}


def _plan_id(plan_id):
    try:
        return body.PLAN_ID.check('path.plan_id', plan_id)
    except exception.InvalidInput as err:
        raise errors.of(err) from None


def _matches(plan, q):
    return ((q['state'] is None or plan['state'] == q['state'])
            and (q['policy'] is None or plan['policy'] == q['policy']))


def _page(req, q):
    """``(plans, more)``: a page of summaries matching the filters, and
    whether there may be more after it."""
    conductor = req.environ['livemig.conductor']
    context = req.environ['livemig.context']
    filtered = q['state'] is not None or q['policy'] is not None
    limit, marker, found, scanned = q['limit'], q['marker'], [], 0
    while True:
        ask = SCAN_PAGE if filtered else limit - len(found)
        try:
            page = conductor.call(context, 'list_plans', limit=ask,
                                  marker=marker)
        except errors.ApiError as err:
            if err.status == 404:  # the marker names no plan
                raise errors.ApiError(400, f'query.marker: {err.message}; '
                                      'allowed: the id of a plan of the '
                                      'previous page') from None
            raise
        for plan in page:
            scanned += 1
            marker = plan['id']
            if _matches(plan, q):
                found.append(plan)
                if len(found) == limit:
                    return found, True
        if len(page) < ask:
            return found, False
        if scanned >= SCAN_MAX:
            return found, True


def list_plans(req):
    policy.authorize(req, 'livemig:plan:list')
    q = body.query(req, LIST_QUERY)
    plans, more = _page(req, q)
    out = {'plans': plans}
    if more and plans:
        params = {k: q[k] for k in ('state', 'policy') if q[k] is not None}
        params.update(limit=q['limit'], marker=plans[-1]['id'])
        query = '&'.join(f'{k}={val}' for k, val in sorted(params.items()))
        out['plans_links'] = [{'rel': 'next', 'href': responses.link(
            req, f'/v1/plans?{query}')}]
    return responses.json_response(out)


def create_plan(req):
    policy.authorize(req, 'livemig:plan:create')
    data = body.check(body.json_body(req, common.conf_of(req).api
                                     .max_body_bytes), CREATE_BODY)
    view = common.call(req, 'create_plan',
                       policy=data['policy'], vms=data['vms'],
                       hosts=data['hosts'], dry_run=data['dry_run'])
    status = 202 if view['state'] == 'planning' else 201
    return responses.json_response(
        {'plan': view}, status,
        {'Location': responses.link(req, f'/v1/plans/{view["id"]}')})


def show_plan(req, plan_id):
    policy.authorize(req, 'livemig:plan:show')
    view = common.call(req, 'show_plan',
                       plan_id=_plan_id(plan_id))
    return responses.json_response({'plan': view})


def execute_plan(req, plan_id):
    policy.authorize(req, 'livemig:plan:execute')
    view = common.call(req, 'execute_plan',
                       plan_id=_plan_id(plan_id))
    return responses.json_response({'plan': view}, 202)


def abort_plan(req, plan_id):
    policy.authorize(req, 'livemig:plan:abort')
    view = common.call(req, 'abort_plan',
                       plan_id=_plan_id(plan_id))
    return responses.json_response({'plan': view}, 202)


def delete_plan(req, plan_id):
    policy.authorize(req, 'livemig:plan:delete')
    common.call(req, 'delete_plan',
                plan_id=_plan_id(plan_id))
    return responses.json_response(None, 204)


def list_steps(req, plan_id):
    policy.authorize(req, 'livemig:step:list')
    view = common.call(req, 'show_plan',
                       plan_id=_plan_id(plan_id))
    return responses.json_response({'steps': view['steps']})
