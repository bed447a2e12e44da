#!/usr/bin/env bash
# The installation half of e2e/dist/linux.sh, run as root in a private mount
# namespace (unshare -m): /usr, /etc and /var become overlays whose changes
# go to WORK and vanish with the namespace, so the .deb is installed with
# apt-get for real without staying installed.
#
#   unshare -m --propagation private e2e/dist/install.sh DEB WORK
#
# With IR_DIST_NO_OVERLAY=1 (where overlays cannot be mounted) it installs
# on the machine itself and purges the package when done.
#
# WORK holds "double click.gguf" and "second.gguf", the models to open.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
deb="$1"
work="$2"
fail() { echo "dist/install: $*" >&2; exit 1; }
say() { echo "dist/install: $*"; }

if [ -n "${IR_DIST_NO_OVERLAY:-}" ]; then
  # No overlay possible (e2e/dist/linux.sh checked that the package was not
  # installed before): install for real and purge on the way out.
  trap 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q inference-runtime >/dev/null 2>&1 || true' EXIT
else
  for d in usr etc var; do
    mkdir -p "$work/overlay/$d/upper" "$work/overlay/$d/work"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=$work/overlay/$d/upper,workdir=$work/overlay/$d/work" "/$d" ||
      fail "cannot overlay /$d"
  done
fi
dpkg-query -W -f='${Status}' inference-runtime 2>/dev/null | grep -q 'install ok installed' &&
  say "note: inference-runtime was installed already; this replaces it in the overlay only"

# apt-get resolves Depends; what this machine lacks it downloads (into the
# overlay).
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >"$work/apt.log" 2>&1; then
  cat "$work/apt.log" >&2
  fail "apt-get install $deb failed"
fi
say "installed $(dpkg-query -W -f='${Package} ${Version}' inference-runtime) with apt-get"

# A clean user: no mimeapps.list of the caller's may decide the default.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" XDG_CACHE_HOME="$work/home/.cache"
unset XDG_DATA_DIRS XDG_CONFIG_DIRS XDG_CURRENT_DESKTOP DESKTOP_SESSION DBUS_SESSION_BUS_ADDRESS DISPLAY
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"

[ "$(command -v ir)" = /usr/bin/ir ] || fail "ir on the PATH is $(command -v ir || echo missing), not /usr/bin/ir"
ir --version || fail "ir --version failed"
model="$work/double click.gguf"
[ "$(xdg-mime query filetype "$model")" = application/x-gguf ] || fail "xdg-mime says $model is $(xdg-mime query filetype "$model")"
[ "$(xdg-mime query default application/x-gguf)" = inference-runtime.desktop ] ||
  fail "the default for application/x-gguf is '$(xdg-mime query default application/x-gguf)'"
[ -s /usr/share/icons/hicolor/48x48/apps/inference-runtime.png ] || fail "no icon installed"

export IR_HOME="$work/irhome"
mkdir -p "$IR_HOME"
dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" "$here/open.sh" "$model" "$work/second.gguf"
