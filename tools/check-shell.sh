#!/bin/bash
# Run shellcheck on every shell script of devstack/ and tools/ (tox -e pep8,
# pre-commit and CI run this). Extra arguments go to shellcheck.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t scripts < <(
    { find devstack tools -name '*.sh' -type f
      echo devstack/settings
      echo devstack/lib/livemig; } | sort -u)
shellcheck --external-sources --source-path=SCRIPTDIR "$@" "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
