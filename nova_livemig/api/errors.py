"""JSON errors in the OpenStack shape::

    {"error": {"code": 404, "title": "Not Found", "message": "..."}}

(keystonemiddleware answers 401 in the same shape). :class:`ApiError`
is what a handler raises; :class:`JsonErrors` is the outermost middleware
and turns it, any webob HTTP error and any unexpected exception (a 500
whose message says nothing of the inside) into such a body.
"""

import json

from oslo_log import log as logging
import webob
import webob.exc

from nova_livemig import loglines

LOG = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered to the client.

    :param status: the HTTP status code
    :param message: what went wrong, naming the field and what is allowed
    :param headers: extra response headers (``Allow`` of a 405)
    """

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def of(err, status=400):
    """An :class:`ApiError` of a :class:`~nova_livemig.exception.LivemigError`
    (its message, bounded and printable: the field, the value, what is
    allowed)."""
    return ApiError(status, '\n'.join(loglines.message_lines(err)))


def response(status, message, headers=None):
    """A :class:`webob.Response` carrying the JSON error."""
    title = webob.exc.status_map[status].title
    body = {'error': {'code': status, 'title': title,
                      'message': '\n'.join(
                          loglines.printable(line)
                          for line in message.split('\n'))}}
    resp = webob.Response(status=status)
    resp.content_type = 'application/json'
    resp.charset = 'utf-8'
    resp.text = json.dumps(body)
    for name, value in headers.items() if headers else ():
        resp.headers[name] = value
    return resp


class JsonErrors:
    """WSGI middleware: every error leaves as a JSON error body."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except ApiError as err:
            resp = response(err.status, err.message, err.headers)
        except webob.exc.HTTPException as err:
            resp = response(err.code, err.detail or err.explanation)
        except Exception:  # noqa: BLE001 - the client gets a plain 500
            LOG.exception('unexpected error serving %s %s',
                          environ.get('REQUEST_METHOD'),
                          loglines.shorten(environ.get('PATH_INFO', '')))
            resp = response(500, 'internal error; the API service log has '
                                 'the details')
        return resp(environ, start_response)
