"""The routes of the API: ``{path: {method: handler}}``, matched with
:mod:`routes`. A path that matches no route is a 404; a route asked
with a method it does not have, a 405 with the ``Allow`` header.

Handlers take the :class:`webob.Request` and the path's variables and
return a :class:`webob.Response`.
"""

import routes
import webob

from nova_livemig.api import errors
from nova_livemig.api.handlers import cluster
from nova_livemig.api.handlers import plan
from nova_livemig.api.handlers import root
from nova_livemig.api.handlers import whatif

ROUTES = {
    '/': {'GET': root.versions},
    '/v1': {'GET': root.version_v1},
    '/v1/plans': {'GET': plan.list_plans, 'POST': plan.create_plan},
    '/v1/plans/{plan_id}': {'GET': plan.show_plan,
                            'DELETE': plan.delete_plan},
    '/v1/plans/{plan_id}/execute': {'POST': plan.execute_plan},
    '/v1/plans/{plan_id}/abort': {'POST': plan.abort_plan},
    '/v1/plans/{plan_id}/steps': {'GET': plan.list_steps},
    '/v1/snapshot': {'GET': cluster.show_snapshot},
    '/v1/history': {'GET': cluster.list_history},
    '/v1/calibration': {'GET': cluster.show_calibration},
    '/v1/calibration/refit': {'POST': cluster.refit_calibration},
    '/v1/periodic': {'GET': cluster.list_periodic},
    '/v1/periodic/{policy}/dry-run': {'POST': cluster.periodic_dry_run},
    '/v1/whatif': {'POST': whatif.create},
}

#: paths answered without a token (the version documents)
PUBLIC = ('/', '/v1')


def make_mapper(table):
    mapper = routes.Mapper()
    for path in table:
        mapper.connect(path, route=path)
        if path != '/':
            mapper.connect(path + '/', route=path)
    return mapper


class Router:
    """The WSGI application that dispatches to the handlers."""

    def __init__(self, table=None):
        self.table = table or ROUTES
        self.mapper = make_mapper(self.table)

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        match = self.mapper.match(environ=None, url=req.path_info or '/')
        if match is None:
            raise errors.ApiError(404, f'no resource at {req.path_info!r}')
        methods = self.table[match.pop('route')]
        handler = methods.get(req.method)
        if handler is None:
            allowed = ', '.join(sorted(methods))
            raise errors.ApiError(
                405, f'method {req.method} on {req.path_info!r}; allowed: '
                     f'{allowed}', {'Allow': allowed})
        return handler(req, **match)(environ, start_response)
