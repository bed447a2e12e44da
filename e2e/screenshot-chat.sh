#!/usr/bin/env bash
# Screenshot of the production desktop app showing a real conversation:
# the dev build fills a fresh data folder with a chat answered by a model
# (e2e/seed-chat.mjs), then the production binary opens that folder under
# Xvfb and e2e/smoke.sh photographs its window.
#
#   e2e/screenshot-chat.sh [binary] [dev-binary] [screenshot.png]
set -euo pipefail
cd "$(dirname "$0")/.."
binary="${1:-bin/inference-runtime}"
dev="${2:-bin/inference-runtime-dev}"
shot="${3:-bin/chat.png}"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
IR_HOME="$home" IR_E2E_BINARY="$dev" xvfb-run -a -s "-screen 0 1280x800x24" node e2e/seed-chat.mjs
# The conversation loads a moment after the first paint.
SMOKE_HOME="$home" SMOKE_SETTLE=3 e2e/smoke.sh "$binary" "$shot"
