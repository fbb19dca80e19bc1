"""The request and response samples of the API reference are real: each
call of :data:`CALLS` is made against the API (a real conductor endpoint
over ``fake://`` RPC, keystonemiddleware with its token fixture), its
response, with ids and times put to fixed values, must equal
``doc/api_samples/<name>-resp.json``; every request body is read from
``doc/api_samples/<name>-req.json``; and ``doc/api-ref.md`` shows each
sample file exactly, in the ```json block after its ``<!-- name -->``
marker.

After a deliberate change of the API, regenerate every sample and the
blocks of the reference with::

    NOVA_LIVEMIG_API_SAMPLES=regen .venv/bin/python -m pytest \\
        tests/unit/api/test_api_samples.py
"""

import copy
import json
import os
import pathlib
import re

import pytest
import webob

from nova_livemig.history import record
from tests.unit.api import gabbi_fixtures
from tests.unit.api import stack

ROOT = pathlib.Path(__file__).resolve().parents[3]
SAMPLES = ROOT / 'doc' / 'api_samples'
API_REF = ROOT / 'doc' / 'api-ref.md'
REGEN = os.environ.get('NOVA_LIVEMIG_API_SAMPLES') == 'regen'

ADMIN, READER = stack.ADMIN_TOKEN, stack.READER_TOKEN
#: (sample name, method, path, token, status); a path's ``{name}`` is
#: the id of the plan that sample answered with; a sample with a
#: ``-req.json`` file sends it as its body
CALLS = [
    ('versions', 'GET', '/', None, 200),
    ('version-v1', 'GET', '/v1', None, 200),
    ('plan-create', 'POST', '/v1/plans', ADMIN, 201),
    ('plan-create-dry-run', 'POST', '/v1/plans', ADMIN, 201),
    ('plans-list', 'GET', '/v1/plans?limit=1', READER, 200),
    ('plans-list-filtered', 'GET', '/v1/plans?state=planned', READER, 200),
    ('plan-show', 'GET', '/v1/plans/{plan-create}', READER, 200),
    ('steps-list', 'GET', '/v1/plans/{plan-create}/steps', READER, 200),
    ('plan-execute', 'POST', '/v1/plans/{plan-create}/execute', ADMIN, 202),
    ('plan-abort', 'POST', '/v1/plans/{plan-create}/abort', ADMIN, 202),
    ('plan-delete', 'DELETE', '/v1/plans/{plan-create-dry-run}', ADMIN,
     204),
    ('snapshot-show', 'GET', '/v1/snapshot', READER, 200),
    ('history-list', 'GET', '/v1/history?limit=1', READER, 200),
    ('calibration-refit', 'POST', '/v1/calibration/refit', ADMIN, 200),
    ('calibration-show', 'GET', '/v1/calibration', READER, 200),
    ('periodic-list', 'GET', '/v1/periodic', READER, 200),
    ('periodic-dry-run', 'POST', '/v1/periodic/consolidate/dry-run', ADMIN,
     201),
    ('whatif', 'POST', '/v1/whatif', READER, 200),
    ('error-bad-request', 'POST', '/v1/plans', ADMIN, 400),
    ('error-forbidden', 'POST', '/v1/plans/{plan-create}/abort', READER,
     403),
]

UUID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                  r'[0-9a-f]{12}$')
#: fields that hold a time: an epoch, or seconds since something
EPOCH_FIELDS = {'created_at', 'started_at', 'finished_at', 'measured_at',
                'last_run_at', 'next_run_at', 'fitted_at'}
EPOCH = 1767225600.0  # 2026-01-01T00:00:00Z
ELAPSED_FIELDS = {'elapsed_s'}


def normalized(data):
    """``data`` with each distinct id (a UUID) replaced by a fixed one, in
    the order they appear, and every time by a fixed value."""
    ids = {}

    def fix(value, key=None):
        if isinstance(value, dict):
            return {k: fix(value[k], k) for k in sorted(value)}
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, str):
            for found in re.findall(r'[0-9a-f]{8}-[0-9a-f-]{27}', value):
                if UUID.match(found):
                    ids.setdefault(found, '%08x-0000-4000-8000-%012x' % (
                        len(ids) + 1, len(ids) + 1))
                    value = value.replace(found, ids[found])
            return value
        if key in EPOCH_FIELDS and isinstance(value, (int, float)):
            return EPOCH
        if key in ELAPSED_FIELDS and isinstance(value, (int, float)):
            return 1.5
        return value
    return fix(data)


def dumps(data):
    return json.dumps(data, indent=2, sort_keys=True) + '\n'


def _block(name):
    return re.compile(r'(<!-- ' + re.escape(name) + r' -->\n```json\n)'
                      r'(.*?)(```)', re.S)


@pytest.fixture(scope='module')
def responses(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('samples')
    running = stack.Stack(tmp, {
        ('planner', 'calibration_file'): str(tmp / 'cal.json'),
        ('periodic', 'schedule'): gabbi_fixtures.SCHEDULE}, run_engine=False)
    running.report({'a': ['v1'], 'b': [], 'c': []})
    data = copy.deepcopy(record.EXAMPLE)
    data.update(step_id='step-1', finished_at=1000.0)
    running.service.conductor.db.add_migration_record(data)
    ids, out = {}, {}
    try:
        for name, method, path, token, status in CALLS:
            req = webob.Request.blank(path.format(**ids), method=method)
            if token:
                req.headers['X-Auth-Token'] = token
            body = SAMPLES / f'{name}-req.json'
            if body.exists():
                req.content_type = 'application/json'
                req.body = body.read_bytes()
            resp = req.get_response(running.app)
            assert resp.status_int == status, (name, resp.text)
            got = resp.json if resp.body else None
            if got and 'plan' in got and 'id' in got['plan']:
                ids[name] = got['plan']['id']
            out[name] = got
    finally:
        running.stop()
    return out


@pytest.mark.parametrize('name', [c[0] for c in CALLS])
def test_response_sample_is_current(responses, name):
    path = SAMPLES / f'{name}-resp.json'
    got = responses[name]
    if got is None:
        assert not path.exists(), f'{name} answers no body'
        return
    text = dumps(normalized(got))
    if REGEN:
        path.write_text(text)
    assert path.exists() and path.read_text() == text, (
        f'{path.relative_to(ROOT)} is stale: see this module\'s docstring')


def test_api_ref_shows_every_sample_as_it_is():
    names = sorted(p.name for p in SAMPLES.glob('*.json'))
    assert names, 'no samples'
    ref = API_REF.read_text()
    for name in names:
        text = (SAMPLES / name).read_text()
        found = _block(name).search(ref)
        if REGEN and found:
            ref = ref[:found.start(2)] + text + ref[found.end(2):]
            API_REF.write_text(ref)
            found = _block(name).search(ref)
        assert found, f'doc/api-ref.md lacks the block of {name}'
        assert found.group(2) == text, (
            f'doc/api-ref.md shows a stale {name}: see this module\'s '
            'docstring')


def test_every_request_sample_is_used():
    used = {f'{c[0]}-req.json' for c in CALLS}
    assert {p.name for p in SAMPLES.glob('*-req.json')} <= used
