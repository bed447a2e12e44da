#!/usr/bin/env bash
# The desktop half of e2e/dist/install.sh, on Xvfb with a D-Bus session:
# starts the installed app, opens MODEL with xdg-open as a file manager
# would, and waits for the running app to have imported it.
#
#   open.sh MODEL        (IR_HOME set; inference-runtime and ir on the PATH)
set -euo pipefail
model="$1"
timeout_s=90
log="$IR_HOME/app-output.log"
fail() {
  echo "dist/open: $*" >&2
  echo "--- app output ---" >&2; cat "$log" >&2 || true
  echo "--- app log ---" >&2; cat "$IR_HOME"/logs/desktop*.log >&2 2>/dev/null || true
  exit 1
}

inference-runtime >"$log" 2>&1 &
app=$!
trap 'kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true' EXIT
. "$(dirname "$(realpath "$0")")/../window.sh"
window="$(wait_for_window "$app" "$timeout_s" 2>"$IR_HOME/window.err")" || fail "$(cat "$IR_HOME/window.err")"
# The page must have loaded for the hand-over to show progress; the app
# keeps files until then, so this only makes the test's timing honest.
sleep 2

# What a double-click does: xdg-open finds the desktop entry for the file's
# type and runs its Exec line, a second inference-runtime, which hands the
# file to this one and exits.
timeout 60 xdg-open "$model" || fail "xdg-open $model failed ($?)"
for _ in $(seq $((timeout_s * 2))); do
  if ir list 2>/dev/null | grep -qi 'double'; then
    break
  fi
  sleep 0.5
done
ir list | grep -qi 'double' || fail "the model is not in the library after xdg-open: $(ir list 2>&1)"
kill -0 "$app" 2>/dev/null || fail "the running app is gone"
grep -q '"second instance"' "$IR_HOME"/logs/desktop*.log || fail "the running app did not hear of a second instance"
# The second start ended after handing over (xdg-open waited for it): the
# app runs once.
n=0
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/inference-runtime ] && n=$((n + 1))
done
[ "$n" -eq 1 ] || fail "$n inference-runtime processes, want 1"
n="$(grep -c '"starting"' "$IR_HOME"/logs/desktop*.log)"
[ "$n" -eq 1 ] || fail "$n app starts in the log, want 1"
echo "dist/open: xdg-open imported \"$(basename "$model")\" into the running app: $(ir list | grep -i double)"
