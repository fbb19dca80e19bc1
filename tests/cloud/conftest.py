"""The small OpenStack cloud on the testbed (``tools/cloud/up.sh``).

These tests run in the cloud's virtualenv (``.venv-cloud``, which has the
OpenStack clients) against the running cloud::

    bash tools/cloud/up.sh
    .venv-cloud/bin/python -m pytest -p no:cacheprovider tests/cloud

Where the cloud is not up they are skipped, and fail under ``CI=true``.
"""

import json
import os
import pathlib
import subprocess
import sys
import urllib.request

import pytest

from tests.fixtures import skip_or_fail

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLOUD_ETC = pathlib.Path(os.environ.get('CLOUD_ETC',
                                       '/etc/nova-livemig-cloud'))
CLOUD_LOG = pathlib.Path(os.environ.get('CLOUD_LOG',
                                       '/var/log/nova-livemig-cloud'))
BIN = pathlib.Path(sys.executable).parent


def _openrc_env(path):
    """The ``export NAME=value`` lines of an openrc file, as a dict."""
    env = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.removeprefix('export ').partition('=')
        if sep:
            env[name.strip()] = value.strip()
    return env


class Cloud:
    """The running cloud, seen through the ``openstack`` client."""

    def __init__(self, env):
        self.env = env

    def run(self, *args, check=True, microversion=None, timeout=300):
        """``openstack ARGS``; the completed process."""
        cmd = [str(BIN / 'openstack')]
        if microversion:
            cmd += ['--os-compute-api-version', microversion]
        proc = subprocess.run(cmd + list(args), env=self.env, text=True,
                              capture_output=True, timeout=timeout)
        if check and proc.returncode:
            raise AssertionError(f'openstack {" ".join(args)} failed '
                                 f'({proc.returncode}): {proc.stderr[-2000:]}')
        return proc

    def json(self, *args, **kwargs):
        """``openstack ARGS -f json``, parsed."""
        return json.loads(self.run(*args, '-f', 'json', **kwargs).stdout)

    def placement(self, path):
        """GET ``path`` from Placement as the admin; the parsed body."""
        token = self.run('token', 'issue', '-f', 'value', '-c', 'id').stdout
        url = self.json('endpoint', 'list', '--service', 'placement',
                        '--interface', 'public')[0]['URL']
        req = urllib.request.Request(
            url + path, headers={'X-Auth-Token': token.strip(),
                                 'OpenStack-API-Version': 'placement 1.28'})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)


@pytest.fixture(scope='session')
def cloud():
    openrc = CLOUD_ETC / 'admin-openrc'
    if not os.access(openrc, os.R_OK):
        skip_or_fail(f'the cloud is not up ({openrc} missing or not '
                     'readable): run tools/cloud/up.sh as root', 'cloud')
    if not (BIN / 'openstack').exists():
        skip_or_fail('no openstack client here: run these tests with '
                     '.venv-cloud/bin/python', 'cloud')
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(_openrc_env(openrc))
    c = Cloud(env)
    try:
        with urllib.request.urlopen(env['OS_AUTH_URL'], timeout=10):
            pass
    except OSError as exc:
        skip_or_fail(f'the cloud is not up (Keystone: {exc})', 'cloud')
    return c


@pytest.fixture
def server(cloud, request):
    """A factory of servers, deleted after the test:
    ``server(name, image='lm-quiet', host=None)`` returns ``server show``."""
    made = []

    def boot(name, image='lm-quiet', host=None):
        args = ['server', 'create', '--flavor', 'lm.tiny', '--image', image,
                '--nic', 'none', '--wait']
        if host:
            args += ['--host', host]
        made.append(name)
        return cloud.json(*args, name, microversion='2.74')

    yield boot
    for name in made:
        cloud.run('server', 'delete', '--wait', name, check=False)
