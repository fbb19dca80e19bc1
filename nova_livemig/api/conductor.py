"""The API's side of the bus: calls to the conductor over RPC
(:class:`~nova_livemig.conductor.rpcapi.ConductorAPI`), their remote
errors turned into HTTP ones.

=========================== ======================================
conductor raises            the client gets
=========================== ======================================
``InvalidInput`` (state)    409 Conflict (a plan in the wrong state)
``InvalidInput``, ...       400 Bad Request, naming the field
``NotFound``                404 Not Found
no answer in time           503 Service Unavailable
anything else               500, the type only (the conductor logs it)
=========================== ======================================
"""

from oslo_log import log as logging

from nova_livemig import exception
from nova_livemig import loglines
from nova_livemig.api import errors

LOG = logging.getLogger(__name__)

#: remote exception types that are the caller's mistake
BAD_REQUEST = ('InvalidInput', 'InvalidSnapshot', 'InvalidPlan')
#: the field of an ``InvalidInput`` that says a plan is in the wrong state
STATE_FIELD = 'plan state:'


def _message(err):
    text = (err.value or err.exc_type or '').splitlines()
    return loglines.printable(text[0] if text else err.exc_type)[:2000]


def status_of(exc_type, message):
    """The HTTP status of a remote exception type and its message.

    >>> status_of('InvalidInput', "plan state: got 'completed'; ...")
    409
    >>> status_of('NotFound', "unknown plan 'x'"), status_of('KeyError', '')
    (404, 500)
    """
    if exc_type == 'InvalidInput' and message.startswith(STATE_FIELD):
        return 409
    if exc_type in BAD_REQUEST:
        return 400
    if exc_type == 'NotFound':
        return 404
    return 500


class Conductor:
    """Calls the conductor on behalf of a request.

    :param api: a :class:`~nova_livemig.conductor.rpcapi.ConductorAPI`
    """

    def __init__(self, api):
        self.api = api

    def call(self, context, method, **args):
        """``api.method(ctxt, **args)``; remote errors become
        :class:`~nova_livemig.api.errors.ApiError`.

        :param context: the request's
            :class:`oslo_context.context.RequestContext`
        """
        import oslo_messaging  # the API's one edge to the bus
        ctxt = {'request_id': context.request_id,
                'user': context.user_id, 'project': context.project_id}
        try:
            return getattr(self.api, method)(ctxt, **args)
        except oslo_messaging.RemoteError as err:
            message = _message(err)
            status = status_of(err.exc_type, message)
            if status == 500:
                LOG.error('conductor %s failed: %s', method, err.exc_type)
                message = (f'the conductor failed ({err.exc_type}); its log '
                           'has the details')
            raise errors.ApiError(status, message) from None
        except exception.LivemigError as err:
            # the fake driver (one process) raises the error itself
            message = '\n'.join(loglines.message_lines(err))
            raise errors.ApiError(status_of(type(err).__name__, message),
                                  message) from None
        except oslo_messaging.MessagingTimeout:
            raise errors.ApiError(
                503, 'the conductor did not answer in time (is '
                     'nova-livemig-conductor running?)') from None
