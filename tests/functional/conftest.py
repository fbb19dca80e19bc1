"""Fixtures of the functional tests: a private RabbitMQ node and the
libvirt/QEMU namespace testbed.

Tests marked ``rabbitmq`` take the session-scoped ``rabbitmq`` fixture (a
:class:`tests.functional.rabbitmq.RabbitServer`; ``.url`` is its
transport URL, ``.restart()`` restarts it; with ``openssl`` installed it
also listens for TLS: ``.tls_url``, its CA in ``.tls_ca``, a CA that did
not sign it in ``.wrong_ca``). Tests marked ``testbed`` take
``libvirt`` (the libvirt-python module) and ``state`` (the testbed's state
file, read by :func:`tests.fixtures.load_testbed`); a module marked
``testbed(nodes=3)`` needs three nodes, two otherwise, and is skipped on a
smaller testbed. Without RabbitMQ, libvirt-python or a testbed that is up
they are skipped, except under ``CI=true``, where that is a failure.
"""

import pytest

from tests import fixtures
from tests.functional import rabbitmq as rabbitmq_mod
from tests.functional import tls


@pytest.fixture(scope='session')
def rabbitmq(tmp_path_factory):
    why_not = rabbitmq_mod.installed()
    if why_not:
        fixtures.skip_or_fail(why_not, 'rabbitmq')
    base = tmp_path_factory.mktemp('rabbitmq')
    ca = wrong_ca = listener = None
    if tls.missing() is None:
        # a throwaway CA and the broker's certificate; the TLS listener
        # joins the plain one at start (no second broker to wait for)
        ca = tls.make_ca(base / 'tls', 'nova-livemig test CA')
        wrong_ca = tls.make_ca(base / 'tls', 'some other CA')
        cert = tls.issue(ca, base / 'tls', 'broker',
                         ['127.0.0.1', 'localhost'])
        listener = (ca.cert, cert.cert, cert.key)
    server = rabbitmq_mod.RabbitServer(base, tls=listener)
    server.tls_ca = ca.cert if ca else None
    server.wrong_ca = wrong_ca.cert if wrong_ca else None
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
