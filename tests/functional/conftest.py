"""Fixtures of the functional tests: a private RabbitMQ node.

Tests marked ``rabbitmq`` take the session-scoped ``rabbitmq`` fixture (a
:class:`tests.functional.rabbitmq.RabbitServer`; ``.url`` is its
transport URL, ``.restart()`` restarts it). Without RabbitMQ installed
they are skipped, except under ``CI=true``, where that is a failure.
"""

import os

import pytest

from tests.functional import rabbitmq as rabbitmq_mod


@pytest.fixture(scope='session')
def rabbitmq(tmp_path_factory):
    why_not = rabbitmq_mod.installed()
    if why_not:
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(f'{why_not} (CI=true: the rabbitmq tests must run)')
        pytest.skip(why_not)
    server = rabbitmq_mod.RabbitServer(tmp_path_factory.mktemp('rabbitmq'))
    server.start()
    yield server
    server.stop()
