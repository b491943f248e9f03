#!/usr/bin/env bash
# Create or reuse .venv/ and install the project: `scripts/venv.sh` for running it, `scripts/venv.sh dev`
# for testing it (adds the test and lint tools). Reinstalls only when pyproject.toml changed since the
# last install of that kind (stamp files), so repeated runs start at once.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras="${1:-}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is required (found: $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
scripts/system-deps.sh
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
kind=".installed${extras:+-$extras}"
stamp=".venv/$kind-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  # --no-compile: byte-compiling every dependency costs ~30 s; modules compile on first import instead.
  .venv/bin/python -m pip install --quiet --no-compile --disable-pip-version-check -e "$spec"
  rm -f ".venv/$kind"-*
  touch "$stamp"
fi
