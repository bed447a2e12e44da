#!/usr/bin/env bash
# serve.sh compares serving several clients at once over HTTP: `ir serve`
# and llama-server, both started with --parallel PARALLEL on the same GGUF
# and the same threads and KV cache type, driven by the same client
# (bench/serveclient: N concurrent greedy /v1/completions requests). For
# each number of streams it runs the client against ours, then theirs,
# ROUNDS times in turn, and prints a Markdown table of the median aggregate
# decode rates (completion tokens the server reports ÷ wall time) and the
# ratio ours / llama-server.
#
# usage: bench/serve.sh [LLAMA_SERVER_PATH] [MODEL.gguf]
#
# Without LLAMA_SERVER_PATH (or with "-") only ours is measured. Without
# MODEL it makes the Llama-1B shape with Q4_0 weights (`ir synth llama-1b
# Q4_0`) in $WORK; its weights are random, so replies are noise, but every
# token costs what a real model's does.
#
# Settings (environment):
#   PARALLEL  sequences each server decodes at once (default 4)
#   STREAMS   concurrent requests to measure (default "1 2 4 8")
#   TG        max_tokens per request (default 64)
#   THREADS   CPU threads of each server (default 2)
#   KV        KV cache type of both (default f16, llama-server's default)
#   CTX       context per sequence (default 1024)
#   ROUNDS    alternating rounds (default 3)
#   WORK      folder for the generated files (default a temp folder, removed)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
PARALLEL="${PARALLEL:-4}"; STREAMS="${STREAMS:-1 2 4 8}"; TG="${TG:-64}"
THREADS="${THREADS:-2}"; KV="${KV:-f16}"; CTX="${CTX:-1024}"; ROUNDS="${ROUNDS:-3}"
llama="${1:--}"
model="${2:-}"
if [ "$llama" != "-" ] && [ ! -x "$llama" ]; then
  echo "$0: $llama is not an executable llama-server" >&2
  exit 2
fi
work="${WORK:-}"
if [ -z "$work" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap 'cleanup; [ -n "${WORK:-}" ] || rm -rf "$work"' EXIT

(cd "$root" && go build -tags sqlite_fts5 -o "$work/ir" ./cmd/ir && go build -o "$work/serveclient" ./bench/serveclient)
if [ -z "$model" ]; then
  model="$work/llama-1b-Q4_0.gguf"
  [ -f "$model" ] || "$work/ir" synth llama-1b Q4_0 "$model"
fi
model="$(realpath "$model")"

# ours: a data folder of its own with the model imported in place.
rm -rf "$work/home"
"$work/ir" --home "$work/home" import "$model" --name bench --in-place >/dev/null
"$work/ir" --home "$work/home" serve --port 0 --quiet --parallel "$PARALLEL" --queue $((4 * PARALLEL)) \
  --threads "$THREADS" --kv-type "$KV" --ctx "$CTX" >"$work/ir.out" 2>"$work/ir.err" &
pids+=($!)
ours=""
for _ in $(seq 1 300); do
  ours="$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/ir.out")"
  [ -n "$ours" ] && break
  sleep 0.1
done
[ -n "$ours" ] || { cat "$work/ir.err" >&2; echo "$0: ir serve did not start" >&2; exit 1; }

theirs=""
if [ "$llama" != "-" ]; then
  port=$(( 20000 + RANDOM % 20000 ))
  # In $work: some builds write a llama.log into the folder they run in.
  (cd "$work" && exec "$llama" -m "$model" --host 127.0.0.1 --port "$port" -np "$PARALLEL" -c $((CTX * PARALLEL)) \
    -t "$THREADS" -ctk "$KV" -ctv "$KV" >"$work/llama.out" 2>&1) &
  pids+=($!)
  theirs="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do
    curl -sf "$theirs/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -sf "$theirs/health" >/dev/null || { tail -20 "$work/llama.out" >&2; echo "$0: llama-server did not start" >&2; exit 1; }
fi

# rate URL STREAMS prints one measurement's tokens/s.
rate() { "$work/serveclient" -url "$1" -model bench -streams "$2" -n "$TG" | sed -n 's/.*: \([0-9.]*\) tokens\/s$/\1/p'; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# One request each first: ir serve loads the model on first use.
rate "$ours" 1 >/dev/null
[ -z "$theirs" ] || rate "$theirs" 1 >/dev/null

echo "Aggregate decode, ${TG} tokens per request, --parallel $PARALLEL, $THREADS threads, KV $KV, $(basename "$model")"
echo
echo "| streams | ours t/s | llama-server t/s | ours / llama-server |"
echo "|---:|---:|---:|---:|"
for s in $STREAMS; do
  : >"$work/a"; : >"$work/b"
  for _ in $(seq 1 "$ROUNDS"); do
    # A failed request (the client says why on stderr) leaves the round
    # out of that server's median rather than ending the script.
    rate "$ours" "$s" >>"$work/a" || true
    [ -z "$theirs" ] || rate "$theirs" "$s" >>"$work/b" || true
  done
  a=$(median <"$work/a"); b=$(median <"$work/b")
  if [ "$a" = "-" ] || [ "$b" = "-" ]; then ratio="-"; else ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}'); fi
  echo "| $s | $a | $b | $ratio |"
done
