#!/bin/bash
# Run tests/nova (nova-livemig inside Nova's in-process functional harness)
# in the venv tools/nova-venv.sh builds or reuses. Extra arguments go to
# pytest, e.g. tools/run-nova-tests.sh -k executor
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
venv=${NOVA_VENV:-$top/.venv-nova}

start=$SECONDS
"$top/tools/nova-venv.sh" "$venv"
echo "nova venv: $((SECONDS - start)) s"

cd "$top"
start=$SECONDS
rc=0
"$venv/bin/python" -m pytest tests/nova -q -p no:cacheprovider "$@" || rc=$?
echo "tests/nova: $((SECONDS - start)) s"
exit $rc
