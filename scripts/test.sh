#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run it.
# Used verbatim by .ci/run and quoted in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
# shellcheck source=scripts/qt_libs.sh
. scripts/qt_libs.sh

# The real Secret Service test needs dbus-run-session and gnome-keyring (Debian packages).
if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing dbus and gnome-keyring (Debian packages) for the Secret Service test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        dbus dbus-x11 gnome-keyring libsecret-tools >/dev/null) \
      || echo "!! could not install gnome-keyring: the Secret Service test will be skipped"
  else
    echo "!! dbus-run-session/gnome-keyring-daemon missing and not root: the Secret Service test will be skipped"
  fi
fi

# The .desktop file is checked with desktop-file-validate (Debian package desktop-file-utils).
if ! command -v desktop-file-validate >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing desktop-file-utils (Debian package) for the .desktop file check"
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends desktop-file-utils >/dev/null \
      || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          desktop-file-utils >/dev/null)) \
      || echo "!! could not install desktop-file-utils: the .desktop check will be skipped"
  else
    echo "!! desktop-file-validate missing and not root: the .desktop check will be skipped"
  fi
fi

# The xvfb test starts the real app on a real X server: Xvfb plus the libraries Qt's xcb
# platform plugin loads (offscreen tests never load that plugin, so only this catches them).
want_x=$(missing_qt_packages)
command -v Xvfb >/dev/null 2>&1 || want_x="$want_x xvfb"
want_x=$(echo $want_x)  # trim
if [ -n "$want_x" ]; then
  if can_apt_install; then
    echo "== installing $want_x (Debian packages) for the test on a real X server"
    # shellcheck disable=SC2086  # one word per package
    apt_install_quietly $want_x || echo "!! could not install $want_x: the xvfb test will say why it cannot run"
  else
    echo "!! missing $want_x and not root: the xvfb test will be skipped or fail naming them"
  fi
fi

# Usage sources and schedules (issue #13): real PostgreSQL and MariaDB servers (the tests start
# them in throw-away folders on free ports) and a real crontab.
want_db=""
command -v crontab >/dev/null 2>&1 || want_db="cron"
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || want_db="$want_db postgresql"
[ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 || want_db="$want_db mariadb-server"
want_db=$(echo $want_db)  # trim
if [ -n "$want_db" ]; then
  if can_apt_install; then
    echo "== installing $want_db (Debian packages) for the SQL source and schedule tests"
    # shellcheck disable=SC2086  # one word per package
    apt_install_quietly $want_db || echo "!! could not install $want_db: those tests will be skipped"
  else
    echo "!! missing $want_db and not root: the PostgreSQL, MariaDB and crontab tests will be skipped"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
echo "== installing the project and its test dependencies"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,build]'

echo "== running the tests"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = "5" ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
