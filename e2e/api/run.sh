#!/usr/bin/env bash
# Black-box test of the HTTP API: starts a real `ir serve` on a free
# loopback port with a temporary IR_HOME and one imported model, then drives
# it with the official openai and ollama npm clients (node --test).
#
#   e2e/api/run.sh [path/to/ir]
#
# The model is ../shared/models/stories260K-f32.gguf when present (real
# text), else a synthetic one made by `ir synth`. Without an ir binary
# argument (or $IR_BIN) it builds one. The suite runs once per value of
# --parallel in $IR_E2E_PARALLEL (default "2 4").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

ir="${1:-${IR_BIN:-}}"
if [ -z "$ir" ]; then
  echo "e2e/api: building ir"
  (cd "$root" && go build -tags sqlite_fts5 -o "$work/ir" ./cmd/ir)
  ir="$work/ir"
fi
ir="$(realpath "$ir")"

home="$work/home"
model="$root/../shared/models/stories260K-f32.gguf"
if [ ! -f "$model" ]; then
  echo "e2e/api: $model not found; using a synthetic model"
  model="$work/tiny.gguf"
  "$ir" synth tiny F32 "$model"
fi
"$ir" --home "$home" import "$model" --name e2e-model --in-place >/dev/null
embed_env=()
bert="$root/../shared/models/embed/tiny-bert.gguf"
if [ -f "$bert" ]; then
  "$ir" --home "$home" import "$bert" --name e2e-bert --in-place >/dev/null
  embed_env=(IR_EMBED_MODEL=e2e-bert IR_EMBED_REF="$(realpath "$root/../shared/models/embed/tiny-bert.embed.json")")
fi
# A base and a LoRA adapter for it, for `ollama create`: llama.cpp's tiny
# Llama and its adapter from ../shared, else a synthetic pair.
lora_base="$root/../shared/models/conf-tiny/tiny-llama-f32.gguf"
lora="$root/../shared/models/lora/lora-tiny-llama.gguf"
if [ ! -f "$lora_base" ] || [ ! -f "$lora" ]; then
  echo "e2e/api: $lora_base or $lora not found; using a synthetic base and adapter"
  lora_base="$work/lora-base.gguf"
  lora="$work/lora.gguf"
  "$ir" synth tiny F32 "$lora_base"
  "$ir" synth-lora "$lora_base" "$lora"
fi
"$ir" --home "$home" import "$lora_base" --name e2e-lora-base --in-place >/dev/null
lora_env=(IR_LORA_BASE=e2e-lora-base IR_LORA_FILE="$(realpath "$lora")")
# The tiny Gemma 3 with its vision projector, for images: only from
# ../shared (vision.test.mjs skips without them).
vision_env=()
vision_model="$root/../shared/models/conf-tiny/tiny-gemma3-f32.gguf"
vision_proj="$root/../shared/models/vision/tiny-gemma3-mmproj-f32.gguf"
vision_image="$root/../shared/models/vision/img1-40x28.png"
if [ -f "$vision_model" ] && [ -f "$vision_proj" ] && [ -f "$vision_image" ]; then
  "$ir" --home "$home" import "$vision_model" --name e2e-vision --in-place --mmproj "$vision_proj" >/dev/null
  vision_env=(IR_VISION_MODEL=e2e-vision IR_VISION_IMAGE="$(realpath "$vision_image")")
fi

cd "$here"
if [ ! -d node_modules/openai ] || [ ! -d node_modules/ollama ]; then
  npm ci --no-audit --no-fund
fi

# suite PARALLEL runs the clients against a server that decodes PARALLEL
# generations per model in one batch: 2, as before, and 4, so that the
# batched step loop serves every request the clients make.
suite() {
  local parallel="$1" out="$work/serve-$1.out" err="$work/serve-$1.err" url="" status=0
  # Each run starts from the imports alone, not from what the last one
  # created, copied or deleted.
  local run_home="$work/home-$parallel"
  cp -a "$home" "$run_home"
  "$ir" --home "$run_home" serve --port 0 --parallel "$parallel" --queue $((2 * parallel)) >"$out" 2>"$err" &
  server_pid=$!
  for _ in $(seq 1 300); do
    url="$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$out")"
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$err" >&2; echo "e2e/api: ir serve exited" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "e2e/api: ir serve did not start" >&2; return 1; }
  echo "e2e/api: ir serve --parallel $parallel at $url"
  env IR_URL="$url" IR_MODEL="e2e-model" "${embed_env[@]}" "${lora_env[@]}" "${vision_env[@]}" \
    node --test --test-concurrency=1 api.test.mjs embed.test.mjs vision.test.mjs draft.test.mjs || status=$?
  if [ "$status" -ne 0 ]; then
    kill -0 "$server_pid" 2>/dev/null || echo "e2e/api: ir serve is no longer running" >&2
    echo "e2e/api: last lines of the server's log (--parallel $parallel):" >&2
    tail -n 40 "$err" >&2
  fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  return "$status"
}

status=0
for parallel in ${IR_E2E_PARALLEL:-2 4}; do
  suite "$parallel" || status=1
done
exit "$status"
