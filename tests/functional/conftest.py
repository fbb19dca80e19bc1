"""Fixtures of the functional tests: a private RabbitMQ node and the
libvirt/QEMU namespace testbed.

Tests marked ``rabbitmq`` take the session-scoped ``rabbitmq`` fixture (a
:class:`tests.functional.rabbitmq.RabbitServer`; ``.url`` is its
transport URL, ``.restart()`` restarts it). Tests marked ``testbed`` take
``libvirt`` (the libvirt-python module) and ``state`` (the testbed's state
file, read by :func:`tests.fixtures.load_testbed`); a module marked
``testbed(nodes=3)`` needs three nodes, two otherwise, and is skipped on a
smaller testbed. Without RabbitMQ, libvirt-python or a testbed that is up
they are skipped, except under ``CI=true``, where that is a failure.
"""

import pytest

from tests import fixtures
from tests.functional import rabbitmq as rabbitmq_mod


@pytest.fixture(scope='session')
def rabbitmq(tmp_path_factory):
    why_not = rabbitmq_mod.installed()
    if why_not:
        fixtures.skip_or_fail(why_not, 'rabbitmq')
    server = rabbitmq_mod.RabbitServer(tmp_path_factory.mktemp('rabbitmq'))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope='session')
def libvirt():
    try:
        import libvirt
    except ImportError:
        fixtures.skip_or_fail('libvirt-python is not installed', 'testbed')
    return libvirt


@pytest.fixture(scope='module')
def state(request, libvirt):
    testbed = fixtures.load_testbed()
    try:
        state = testbed.load_state()
    except testbed.TestbedNotUp as exc:
        fixtures.skip_or_fail(str(exc), 'testbed')
    mark = request.node.get_closest_marker('testbed')
    nodes = mark.kwargs.get('nodes', 2) if mark else 2
    if len(state['nodes']) < nodes:
        pytest.skip(f'these tests need a testbed of {nodes} nodes')
    return state
