# Sourced by the tests that start the desktop app on Xvfb.

# wait_for_window PID SECONDS: prints the id of the window titled
# "Inference Runtime" once the window manager tree lists it; fails when
# the app PID exits first or the time runs out (the reason on stderr).
wait_for_window() {
  local pid="$1" seconds="$2" window=""
  for _ in $(seq $((seconds * 4))); do
    kill -0 "$pid" 2>/dev/null || { echo "the app exited early" >&2; return 1; }
    window="$(xwininfo -root -tree 2>/dev/null | awk '/"Inference Runtime"/ {print $1; exit}')"
    [ -n "$window" ] && { echo "$window"; return 0; }
    sleep 0.25
  done
  echo "no window titled \"Inference Runtime\" after ${seconds}s" >&2
  return 1
}
