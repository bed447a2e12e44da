#!/usr/bin/env bash
# The desktop half of e2e/dist/install.sh, on Xvfb with a D-Bus session,
# doing what double-clicks in a file manager do:
#
#   open.sh FIRST.gguf SECOND.gguf   (IR_HOME set; the package installed)
#
# xdg-open FIRST with no app running starts the installed app, which
# imports it once its window has loaded; xdg-open SECOND then runs a second
# inference-runtime, which hands the file to the running app and exits.
set -euo pipefail
first="$1"
second="$2"
timeout_s=90
log="$IR_HOME/app-output.log"
app=""
fail() {
  echo "dist/open: $*" >&2
  echo "--- app output ---" >&2; cat "$log" >&2 || true
  echo "--- app log ---" >&2; cat "$IR_HOME"/logs/desktop*.log >&2 2>/dev/null || true
  exit 1
}
# installed_apps: the ids of the processes running /usr/bin/inference-runtime
# (the package's, which only this mount namespace has).
installed_apps() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/inference-runtime ] && echo "${p#/proc/}"
  done
  return 0
}
# imported NAME: wait until ir list shows a model whose name has NAME.
imported() {
  for _ in $(seq $((timeout_s * 2))); do
    ir list 2>/dev/null | grep -qi "$1" && return 0
    sleep 0.5
  done
  fail "no model named like '$1' after ${timeout_s}s: $(ir list 2>&1)"
}
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null || true
  [ -n "${opener:-}" ] && wait "$opener" 2>/dev/null || true
}
trap cleanup EXIT

# No app running: xdg-open starts it (and waits for it, so in the background).
xdg-open "$first" >"$log" 2>&1 &
opener=$!
for _ in $(seq $((timeout_s * 4))); do
  app="$(installed_apps | sed -n 1p)"
  [ -n "$app" ] && break
  kill -0 "$opener" 2>/dev/null || fail "xdg-open $first ended without starting the app"
  sleep 0.25
done
[ -n "$app" ] || fail "xdg-open $first started no app"
. "$(dirname "$(realpath "$0")")/../window.sh"
wait_for_window "$app" "$timeout_s" >/dev/null 2>"$IR_HOME/window.err" || fail "$(cat "$IR_HOME/window.err")"
imported "$(basename "$first" .gguf | tr ' ' '-')"
echo "dist/open: xdg-open started the app, which imported \"$(basename "$first")\""

# The app is running: a second xdg-open hands the file over and returns.
timeout 60 xdg-open "$second" || fail "xdg-open $second failed ($?)"
imported "$(basename "$second" .gguf | tr ' ' '-')"
kill -0 "$app" 2>/dev/null || fail "the running app is gone"
grep -q '"second instance"' "$IR_HOME"/logs/desktop*.log || fail "the running app did not hear of a second instance"
n="$(installed_apps | wc -l)"
[ "$n" -eq 1 ] || fail "$n inference-runtime processes, want 1"
n="$(grep -c '"starting"' "$IR_HOME"/logs/desktop*.log)"
[ "$n" -eq 1 ] || fail "$n app starts in the log, want 1 (the second start hands over before it logs)"
echo "dist/open: xdg-open handed \"$(basename "$second")\" to the running app, which imported it"
