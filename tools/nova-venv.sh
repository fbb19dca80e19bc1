#!/bin/bash
# Build (or reuse) the venv that runs Nova's in-process functional harness
# against nova-livemig: nova and its test needs pinned by hand in
# tools/nova-test-requirements.txt (only PyPI is reachable, so OpenStack's
# upper-constraints cannot be fetched), plus this repo installed editable so
# that its stevedore plugins are registered.
#
# Usage: tools/nova-venv.sh [VENV]       (default: .venv-nova in the repo)
# Env:   PYTHON  interpreter to build with (default: python3; nova needs 3.11+)
#        PINS    the pins file (default: tools/nova-test-requirements.txt;
#                tools/cloud/venv.sh passes tools/cloud/requirements.txt)
#
# Idempotent: the venv is rebuilt only when the pins, requirements.txt or
# setup.cfg change (their checksum is kept in VENV/.nova-venv-stamp).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$top/.venv-nova}
python=${PYTHON:-python3}
stamp=$venv/.nova-venv-stamp
pins=${PINS:-$top/tools/nova-test-requirements.txt}
want=$(cat "$pins" "$top/requirements.txt" \
           "$top/setup.cfg" | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "nova venv up to date: $venv"
    exit 0
fi

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q -r "$pins"
# pbr needs a version; the repo may have no tags (or no commits) yet.
PBR_VERSION=${PBR_VERSION:-0.0.1.dev0} \
    "$venv/bin/pip" install -q -e "$top" \
    -c "$pins"
"$venv/bin/pip" check
echo "$want" > "$stamp"
echo "nova venv ready: $venv"
