#!/bin/bash
# Set up nova-livemig for the main job on a fresh machine: a virtualenv in
# .venv with the project and its test tools. Needs only python3 (>= 3.10).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/pip install -q -r requirements.txt -r test-requirements.txt 2>&1 \
    | grep -v '^WARNING: Location' || true
.venv/bin/pip install -q -e . 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/nova-livemig --help > /dev/null
echo "nova-livemig is set up in $(pwd)/.venv"
