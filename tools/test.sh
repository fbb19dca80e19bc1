#!/bin/bash
# Run every test of nova-livemig on a fresh Debian 12 machine, as root:
# installs the system packages the tests need (RabbitMQ, libvirt/QEMU and
# the namespace testbed, shellcheck), brings up the testbed, runs the unit
# and functional tests, then Nova's in-process harness, and tears down.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

step() { printf '\n=== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

step "system packages"
apt-get update -qq
apt-get install -y -qq shellcheck > /dev/null
bash tools/install-rabbitmq.sh
bash tools/testbed/install.sh

step "python environment"
bash tools/setup.sh
.venv/bin/pip install -q libvirt-python 2>&1 | grep -v '^WARNING: Location' || true

step "testbed up"
bash tools/testbed/down.sh > /dev/null 2>&1 || true
trap 'step "testbed down"; bash tools/testbed/down.sh || true' EXIT
bash tools/testbed/up.sh 3

step "unit and functional tests"
status=0
.venv/bin/python -m pytest -p no:cacheprovider -q -rfEs || status=$?

step "Nova harness tests"
bash tools/run-nova-tests.sh || status=$?
exit $status
