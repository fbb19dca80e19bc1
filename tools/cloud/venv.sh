#!/bin/bash
# Build (or reuse) the virtualenv the small cloud runs from: the released
# OpenStack services pinned in tools/cloud/requirements.txt plus this repo,
# editable, the way tools/nova-venv.sh builds Nova's harness venv (and
# rebuilt, like it, only when the pins, requirements.txt or setup.cfg
# change).
#
# Usage: tools/cloud/venv.sh [VENV]      (default: .venv-cloud in the repo)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
PINS=$top/tools/cloud/requirements.txt exec bash "$top/tools/nova-venv.sh" \
    "${1:-$top/.venv-cloud}"
