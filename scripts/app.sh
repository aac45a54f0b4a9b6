#!/usr/bin/env bash
# Install Gradient Desktop into .venv on a fresh machine and start it.
# With no partner configured yet it opens the demo against the embedded Gradient sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/gradient-desktop "$@"
