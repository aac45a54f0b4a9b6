# Sourced by scripts/app.sh and scripts/test.sh: which system libraries Qt's X11 (xcb) platform
# plugin needs, and installing them (root + apt-get) or naming them (anyone else).
# Qt's own error names only the first library it tries (xcb-cursor0) even when others are the
# ones missing; `ldd PySide6/Qt/plugins/platforms/libqxcb.so | grep "not found"` shows them all.

# shared library -> Debian/Ubuntu package, for everything libqxcb.so and its GL integrations
# load (from `ldd` on PySide6's plugins on a minimal Debian 12; libxcb-cursor is also dlopen'ed).
QT_XCB_LIBS="
libxcb-cursor.so.0:libxcb-cursor0
libxcb-icccm.so.4:libxcb-icccm4
libxcb-keysyms.so.1:libxcb-keysyms1
libxcb-image.so.0:libxcb-image0
libxcb-randr.so.0:libxcb-randr0
libxcb-render-util.so.0:libxcb-render-util0
libxcb-render.so.0:libxcb-render0
libxcb-shape.so.0:libxcb-shape0
libxcb-shm.so.0:libxcb-shm0
libxcb-sync.so.1:libxcb-sync1
libxcb-util.so.1:libxcb-util1
libxcb-xfixes.so.0:libxcb-xfixes0
libxcb-xkb.so.1:libxcb-xkb1
libxcb-glx.so.0:libxcb-glx0
libX11-xcb.so.1:libx11-xcb1
libxkbcommon-x11.so.0:libxkbcommon-x11-0
libxkbcommon.so.0:libxkbcommon0
libEGL.so.1:libegl1
libGL.so.1:libgl1
libfontconfig.so.1:libfontconfig1
libfreetype.so.6:libfreetype6
libdbus-1.so.3:libdbus-1-3
libglib-2.0.so.0:libglib2.0-0
"

missing_qt_packages() {
  local cache ldconfig entry
  ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
  cache=$("$ldconfig" -p 2>/dev/null) || return 0  # cannot tell: let Qt speak for itself
  for entry in $QT_XCB_LIBS; do
    case "$cache" in
      *"${entry%%:*} "*) ;;
      *) printf '%s ' "${entry##*:}" ;;
    esac
  done
}

# Install (root with apt-get) the given Debian packages quietly; the log is shown on failure.
apt_install_quietly() {
  local log rc=0
  log=$(mktemp)
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "$@"; } >"$log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || cat "$log" >&2
  rm -f "$log"
  return "$rc"
}

can_apt_install() {
  [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1
}

# Make sure Qt can open a window on X11: install what is missing, or say what to install and
# exit 1. Nothing to do off Linux or when Qt is told not to use X11.
check_system_libraries() {
  [ "$(uname -s)" = "Linux" ] || return 0
  case "${QT_QPA_PLATFORM:-}" in offscreen* | minimal* | vnc* | wayland*) return 0 ;; esac
  local missing
  missing=$(missing_qt_packages)
  missing=${missing% }
  [ -n "$missing" ] || return 0
  if can_apt_install; then
    echo "== installing the system libraries Qt needs to open a window: $missing"
    # shellcheck disable=SC2086  # one word per package
    apt_install_quietly $missing || {
      echo "!! apt-get could not install: $missing" >&2
      exit 1
    }
    return 0
  fi
  echo "Gradient Desktop needs these system libraries to open a window: $missing" >&2
  echo "Install them, then start again:" >&2
  echo "  sudo apt-get install $missing" >&2
  exit 1
}
