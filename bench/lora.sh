#!/bin/sh
# lora.sh measures what one active LoRA adapter costs in decode: tokens/s of
# a model alone and with a random adapter, run after run alternating (base,
# adapter, base, adapter, ...) so that drift in the machine's load hits both
# alike, and prints the medians and their ratio.
#
# usage: bench/lora.sh [MODEL.gguf]
#
# Without MODEL it makes the Llama-1B shape with Q4_0 weights
# (`ir synth llama-1b Q4_0`) in $WORK. The adapter is `ir synth-lora` of rank
# RANK on attn_q/k/v/output and ffn_gate/up/down of every layer, F32, as
# llama.cpp's converter writes them.
#
# Settings (environment):
#   RUNS     runs of each (default 5; the median is reported)
#   TG       tokens generated per run (default 64)
#   THREADS  CPU threads (default 2)
#   RANK     adapter rank (default 8)
#   IR       path of the ir binary (default: built from this checkout)
#   WORK     folder for the generated files (default a temp folder, removed)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
RUNS="${RUNS:-5}"; TG="${TG:-64}"; THREADS="${THREADS:-2}"; RANK="${RANK:-8}"
work="${WORK:-}"
if [ -z "$work" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
ir="${IR:-}"
if [ -z "$ir" ]; then
  (cd "$root" && go build -tags sqlite_fts5 -o "$work/ir" ./cmd/ir)
  ir="$work/ir"
fi
model="${1:-}"
if [ -z "$model" ]; then
  model="$work/llama-1b-Q4_0.gguf"
  [ -f "$model" ] || "$ir" synth llama-1b Q4_0 "$model"
fi
lora="$work/lora-r$RANK.gguf"
"$ir" synth-lora --rank "$RANK" "$model" "$lora"
home="$work/home"

# rate prints the decode tokens/s of one run.
rate() {
  "$ir" --home "$home" run "$model" "Once upon a time" -n "$TG" --temp 0 -t "$THREADS" --ctx 512 --verbose "$@" 2>&1 >/dev/null |
    sed -n 's/^eval rate: *\([0-9.]*\) tokens\/s.*/\1/p'
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

rate >/dev/null # warm the page cache
: >"$work/base.txt"; : >"$work/lora.txt"
i=0
while [ "$i" -lt "$RUNS" ]; do
  rate >>"$work/base.txt"
  rate --lora "$lora" >>"$work/lora.txt"
  i=$((i + 1))
done
b="$(median <"$work/base.txt")"; l="$(median <"$work/lora.txt")"
echo "model $(basename "$model"), rank-$RANK adapter on 7 weights x every layer, $TG tokens, $THREADS threads, $RUNS runs each"
echo "cpu $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo 2>/dev/null | head -1)"
echo "base alone:   $(tr '\n' ' ' <"$work/base.txt")-> median $b tokens/s"
echo "with adapter: $(tr '\n' ' ' <"$work/lora.txt")-> median $l tokens/s"
awk -v b="$b" -v l="$l" 'BEGIN {printf "decode time with the adapter / base alone: %.3f\n", b / l}'
