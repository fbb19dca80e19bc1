"""The version documents (``GET /`` and ``GET /v1``), answered without a
token, as every OpenStack service does: the API has one version, ``v1``,
without microversions."""

from nova_livemig.api import responses

VERSION = {'id': 'v1', 'status': 'CURRENT', 'min_version': '',
           'max_version': ''}


def _document(req):
    return dict(VERSION, links=[{'rel': 'self',
                                 'href': responses.link(req, '/v1/')}])


def versions(req):
    return responses.json_response({'versions': [_document(req)]})


def version_v1(req):
    return responses.json_response({'version': _document(req)})
