#!/usr/bin/env bash
# Install Gradient Desktop into .venv on a fresh machine and start it.
# With no partner configured yet it opens the demo against the embedded Gradient sandbox.
#
# Fast on the second start: `pip install -e .` runs only when pyproject.toml changed since the
# last install (its hash is kept in .venv/.installed-pyproject.sha256). On Linux it checks the
# system libraries Qt's X11 (xcb) platform plugin needs (scripts/qt_libs.sh); as root it installs
# the missing ones with apt-get, otherwise it names the exact packages and the command.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# shellcheck source=scripts/qt_libs.sh
. scripts/qt_libs.sh

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-pyproject.sha256
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/gradient-desktop ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
  echo "$want" >"$stamp"
fi
check_system_libraries
exec .venv/bin/gradient-desktop "$@"
