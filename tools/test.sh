#!/bin/bash
# Run every test of nova-livemig on a fresh Debian 12 machine, as root:
# installs the system packages the tests need (RabbitMQ, MariaDB and
# PostgreSQL, libvirt/QEMU and the namespace testbed, shellcheck), brings
# up the testbed, runs the unit and functional tests under coverage, then
# Nova's in-process harness, builds the documentation (warnings are
# errors), prints the coverage report, and tears down. Any failure fails
# the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

step "system packages"
apt-get update -qq
apt-get install -y -qq shellcheck > /dev/null
bash tools/install-rabbitmq.sh
bash tools/testbed/install.sh
bash tools/databases.sh  # MariaDB and PostgreSQL, test user, URLs

step "python environment"
bash tools/setup.sh
.venv/bin/pip install -q libvirt-python 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/pip install -q -e '.[mysql,postgresql]' 2>&1 \
    | grep -v '^WARNING: Location' || true
.venv/bin/pip install -q -r doc/requirements.txt 2>&1 \
    | grep -v '^WARNING: Location' || true

step "testbed up"
bash tools/testbed/down.sh > /dev/null 2>&1 || true
trap 'step "testbed down"; bash tools/testbed/down.sh || true' EXIT
bash tools/testbed/up.sh 3

step "unit and functional tests (under coverage)"
status=0
rm -f .coverage
.venv/bin/python -m coverage run -m pytest -p no:cacheprovider -q -rfEs \
    || status=$?

step "Nova harness tests"
bash tools/run-nova-tests.sh || status=$?

step "small OpenStack cloud on the testbed (tools/cloud, tests/cloud)"
if bash tools/cloud/up.sh; then
    .venv-cloud/bin/python -m pytest -p no:cacheprovider -q -rfEs tests/cloud \
        || status=$?
else
    status=1
fi
bash tools/cloud/down.sh --purge || status=$?

step "documentation (sphinx-build -W)"
.venv/bin/sphinx-build -W --keep-going -q -b html -d doc/build/doctrees \
    doc/source doc/build/html || status=$?

step "coverage of the unit and functional tests"
.venv/bin/python -m coverage report || status=$?
exit $status
