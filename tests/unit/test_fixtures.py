"""The shared harness: skip-or-fail under CI, the polling wait, and the
functional tests' testbed fixtures on a fake state file (no testbed)."""

import json
import subprocess
import sys

import pytest

from tests import fixtures

#: a test module run in a subprocess with the functional fixtures
PROBE = '''
import pytest
pytestmark = pytest.mark.testbed(nodes=3)
def test_three_nodes(state):
    assert len(state['nodes']) >= 3
'''


def test_skip_or_fail_skips_outside_ci(monkeypatch):
    monkeypatch.setenv('CI', 'false')
    with pytest.raises(pytest.skip.Exception, match='^no bus$'):
        fixtures.skip_or_fail('no bus', 'rabbitmq')


def test_skip_or_fail_fails_under_ci(monkeypatch):
    monkeypatch.setenv('CI', 'TRUE')
    with pytest.raises(pytest.fail.Exception,
                       match=r'no bus \(CI=true: the rabbitmq tests'):
        fixtures.skip_or_fail('no bus', 'rabbitmq')


def test_wait_until_returns_the_value_or_names_what_it_waited_for():
    calls = []
    assert fixtures.wait_until(lambda: calls.append(1) or len(calls) > 2
                               and 'ready') == 'ready'
    assert len(calls) == 3
    with pytest.raises(AssertionError, match='the moon not met within'):
        fixtures.wait_until(lambda: None, timeout_s=0.05, what='the moon')


def _probe(tmp_path, state, ci):
    (tmp_path / 'conftest.py').write_text(
        'from tests.functional.conftest import libvirt, state  # noqa\n')
    (tmp_path / 'test_probe.py').write_text(PROBE)
    (tmp_path / 'pytest.ini').write_text(
        '[pytest]\nmarkers =\n    testbed: x\n')
    path = tmp_path / 'state.json'
    if state is not None:
        path.write_text(json.dumps(state))
    env = {'CI': ci, 'TESTBED_STATE': str(path),
           'PYTHONPATH': str(fixtures.ROOT), 'PATH': '/usr/bin:/bin'}
    return subprocess.run(
        [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-q',
         '-rs', '-W', 'ignore', str(tmp_path)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False).stdout


def test_testbed_mark_asks_for_nodes_and_ci_makes_a_missing_one_fail(
        tmp_path):
    pytest.importorskip('libvirt')
    two = {'nodes': [{'name': 'node1'}, {'name': 'node2'}]}
    out = _probe(tmp_path, two, 'true')
    assert 'these tests need a testbed of 3 nodes' in out and '1 skipped' \
        in out, out
    out = _probe(tmp_path, dict(two, nodes=two['nodes'] * 2), 'true')
    assert '1 passed' in out, out
    (tmp_path / 'state.json').unlink()
    out = _probe(tmp_path, None, 'false')
    assert 'no testbed state file' in out and '1 skipped' in out, out
    out = _probe(tmp_path, None, 'true')
    assert '(CI=true: the testbed tests must run)' in out, out
    assert '1 error' in out, out
