"""What every resource handler does: call the conductor for the request
(after :func:`nova_livemig.api.policy.authorize`, which comes first, before
the body is even read)."""

from nova_livemig.api import auth


def call(req, method, **args):
    """Call the conductor's ``method`` for ``req``.

    :returns: what the conductor answered
    """
    conductor = req.environ['livemig.conductor']
    return conductor.call(auth.context_of(req), method, **args)


def conf_of(req):
    return req.environ['livemig.conf']
