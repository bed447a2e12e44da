#!/usr/bin/env bash
# Smoke test: start the production desktop binary on a private X display,
# wait for its window, take a screenshot, and fail if the window is blank.
#
#   e2e/smoke.sh [binary] [screenshot.png]
#
# SMOKE_HOME uses that data folder instead of an empty temporary one;
# SMOKE_SETTLE waits that many seconds after the first paint and takes the
# screenshot again (for content that loads after start-up).
#
# Runs its own Xvfb (xvfb-run) and a temporary IR_HOME, so it works on a
# headless CI machine and never touches the user's data; it fails when the
# app writes into the XDG data or cache folder instead of IR_HOME.
set -euo pipefail

binary="$(realpath "${1:-bin/inference-runtime}")"
shot="$(realpath -m "${2:-bin/smoke.png}")"
timeout_s="${SMOKE_TIMEOUT:-60}"

if [ -z "${SMOKE_INNER:-}" ]; then
  [ -x "$binary" ] || { echo "smoke: $binary is not built" >&2; exit 1; }
  home="${SMOKE_HOME:-}"
  # The user's XDG folders as the app sees them: nothing of the app's may
  # land there, the web view's files included; they belong in its data folder.
  xdg="$(mktemp -d)"
  scratch=("$xdg")
  if [ -z "$home" ]; then
    home="$(mktemp -d)"
    scratch+=("$home")
  fi
  trap 'rm -rf "${scratch[@]}"' EXIT
  mkdir -p "$(dirname "$shot")"
  SMOKE_INNER=1 IR_HOME="$home" XDG_DATA_HOME="$xdg/data" XDG_CACHE_HOME="$xdg/cache" \
    xvfb-run -a -s "-screen 0 1280x800x24" "$0" "$binary" "$shot"
  strays="$(find "$xdg" -mindepth 2 -maxdepth 2 -name 'inference-runtime*')"
  if [ -n "$strays" ]; then
    printf 'smoke: the app wrote outside its data folder (%s):\n%s\n' "$home" "$strays" >&2
    exit 1
  fi
  exit
fi

# --- inside Xvfb from here on ---
log="$IR_HOME/app-output.log"
"$binary" >"$log" 2>&1 &
app=$!
cleanup() {
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
}
trap cleanup EXIT

fail() {
  echo "smoke: $*" >&2
  echo "--- app output ---" >&2
  cat "$log" >&2 || true
  exit 1
}

# The window exists once the window manager tree lists its title.
. "$(dirname "$(realpath "$0")")/window.sh"
window="$(wait_for_window "$app" "$timeout_s" 2>"$IR_HOME/window.err")" || fail "$(cat "$IR_HOME/window.err")"

# The webview paints after the window maps: poll until the window's pixels
# vary (a blank window is a single colour), or give up.
stddev=0
colours=0
for _ in $(seq $((timeout_s * 2))); do
  kill -0 "$app" 2>/dev/null || fail "the app exited"
  if import -window "$window" "$shot" 2>/dev/null; then
    read -r stddev colours < <(convert "$shot" -format '%[fx:standard_deviation] %k\n' info:)
    # Text, icons and the sidebar give thousands of colours; a blank or
    # single-colour window gives a handful.
    if awk -v s="$stddev" -v c="$colours" 'BEGIN { exit !(s > 0.02 && c > 64) }'; then
      if [ -n "${SMOKE_SETTLE:-}" ]; then
        sleep "$SMOKE_SETTLE"
        import -window "$window" "$shot"
      fi
      echo "smoke: window $window rendered (stddev $stddev, $colours colours); screenshot $shot"
      exit 0
    fi
  fi
  sleep 0.5
done
fail "window $window stayed blank (stddev $stddev, $colours colours); screenshot $shot"
