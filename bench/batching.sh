#!/bin/sh
# batching.sh measures serving several streams of one model at once:
# aggregate greedy decode tokens/s at 1, 2, 4 and 8 concurrent streams
# through one batched step loop (continuous batching), the time to first
# token of a follow-up turn after a 2,000-token history with and without
# the cached prefix, and prompt-lookup speculative decoding's speed-up on a
# repetitive prompt.
#
# usage: bench/batching.sh [MODEL.gguf]
#
# Without MODEL it makes the Llama-1B shape with Q4_0 weights
# (`ir synth llama-1b Q4_0`) in $WORK. The weights are random, so greedy
# replies repeat themselves: prompt lookup drafts them better than it would
# a real model's.
#
# Settings (environment):
#   THREADS  CPU threads (default 2)
#   TG       tokens generated per stream (default 32)
#   HISTORY  tokens of history before the follow-up turn (default 2000)
#   WORK     folder for the generated files (default a temp folder, removed)
#   DRAFT    a draft model of MODEL's vocabulary (GGUF): also measure
#            speculative decoding with it, e.g. MODEL the Llama-1B shape in
#            F16 and DRAFT the same shape in Q4_0 (`ir synth` gives both the
#            same weights, so the draft guesses well and reads a third of
#            the bytes)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
THREADS="${THREADS:-2}"; TG="${TG:-32}"; HISTORY="${HISTORY:-2000}"
work="${WORK:-}"
if [ -z "$work" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
(cd "$root" && go build -o "$work/batching" ./bench/batching)
model="${1:-}"
if [ -z "$model" ]; then
  (cd "$root" && go build -tags sqlite_fts5 -o "$work/ir" ./cmd/ir)
  model="$work/llama-1b-Q4_0.gguf"
  [ -f "$model" ] || "$work/ir" synth llama-1b Q4_0 "$model"
fi
"$work/batching" -threads "$THREADS" -n "$TG" -history "$HISTORY" -draft "${DRAFT:-}" "$model"
