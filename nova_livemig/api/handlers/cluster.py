"""What the conductor knows of the cluster: the snapshot it plans on
(``/v1/snapshot``), the migration history (``/v1/history``), the
calibration of the cost model (``/v1/calibration``, refit on request) and
the scheduled policies (``/v1/periodic``, a dry run on request)."""

from nova_livemig import exception
from nova_livemig import validation as v
from nova_livemig.api import body
from nova_livemig.api import errors
from nova_livemig.api import policy as policy_mod
from nova_livemig.api import responses
from nova_livemig.api.handlers import common

#: history records per page unless ``limit`` says otherwise
DEFAULT_LIMIT = 50
HISTORY_QUERY = {'limit': v.optional(body.LIMIT, DEFAULT_LIMIT),
                 'since': v.optional(body.EPOCH)}


def _answer(req, rule, method, key, query=None):
    """Authorize ``rule``, check the query string against the field table
    ``query`` (its fields are the arguments of ``method``), call the
    conductor's ``method``, answer ``{key: what it returned}``."""
    policy_mod.authorize(req, rule)
    args = body.query(req, query or {})
    return responses.json_response({key: common.call(req, method, **args)})


def show_snapshot(req):
    return _answer(req, 'livemig:snapshot:show', 'show_snapshot', 'snapshot')


def list_history(req):
    return _answer(req, 'livemig:history:list', 'list_history', 'history',
                   HISTORY_QUERY)


def show_calibration(req):
    return _answer(req, 'livemig:calibration:show', 'show_calibration',
                   'calibration')


def refit_calibration(req):
    return _answer(req, 'livemig:calibration:refit', 'refit_calibration',
                   'calibration')


def list_periodic(req):
    return _answer(req, 'livemig:periodic:list', 'list_periodic',
                   'periodic')


def periodic_dry_run(req, policy):
    """Plan the scheduled ``policy`` now, as a dry run: a record only."""
    policy_mod.authorize(req, 'livemig:periodic:dry_run')
    try:
        name = v.NAME.check('path.policy', policy)
    except exception.InvalidInput as err:
        raise errors.of(err) from None
    scheduled = [e['policy'] for e in common.call(req, 'list_periodic')]
    if name not in scheduled:
        raise errors.ApiError(
            404, f'path.policy: got {name!r}; allowed: a scheduled policy ('
                 + (', '.join(scheduled) or 'none is scheduled') + ')')
    view = common.call(req, 'create_plan', policy=name, vms=[], hosts=[],
                       dry_run=True)
    return responses.json_response(
        {'plan': view}, 202 if view['state'] == 'planning' else 201,
        {'Location': responses.link(req, f'/v1/plans/{view["id"]}')})
