"""JSON responses of the handlers."""

import json

import webob


def json_response(data, status=200, headers=None):
    """A :class:`webob.Response` with ``data`` as its JSON body; ``data``
    None gives an empty body (204)."""
    resp = webob.Response(status=status)
    del resp.content_type
    if data is not None:
        resp.content_type = 'application/json'
        resp.charset = 'utf-8'
        resp.text = json.dumps(data, sort_keys=True)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def link(req, path):
    """The absolute URL of ``path`` under the API's root."""
    return req.application_url.rstrip('/') + path
