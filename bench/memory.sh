#!/bin/sh
# memory.sh prints how much resident memory a model costs against the size
# of its file: the peak resident set of `ir bench` (load, a 64-token
# prompt, 16 generated tokens, 2 threads) divided by the file's bytes, for
# random-weight models of the Llama-1B shape in Q4_0, Q4_K_M and F16.
#
# usage: bench/memory.sh [TYPE...]   (default: Q4_0 Q4_K_M F16)
#
# The limit column is 1.1 x the file + 100 MB (the KV cache of 81 tokens,
# a few MB, is left out, which only makes the limit stricter); a peak over
# it is marked. Packed weights (the CPU backend's panels) must cost the
# file's size once: with PACK0=1 each model is also run with IR_CPU_PACK=0
# for comparison.
#
# Settings (environment):
#   IR     path of the ir binary (default: built from this checkout)
#   DIR    where the models are written and kept (default: a temporary
#          folder, removed at the end)
#   SHAPE  the shape given to `ir synth` (default llama-1b)
#   PACK0  1: also run each model with IR_CPU_PACK=0
set -eu

TYPES=${*:-Q4_0 Q4_K_M F16}
SHAPE=${SHAPE:-llama-1b}
PACK0=${PACK0:-0}
if [ ! -x /usr/bin/time ]; then
	echo "$0: needs GNU time (/usr/bin/time -v)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DIR=${DIR:-$tmp}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${IR:-}" ]; then
	(cd "$root" && go build -tags sqlite_fts5 -o "$tmp/ir" ./cmd/ir)
	IR=$tmp/ir
fi

# peak_kb prints the peak resident set in KiB of ir bench on model $1.
peak_kb() {
	/usr/bin/time -v "$IR" bench "$1" -p 64 -n 16 -t 2 -r 1 >/dev/null 2>"$tmp/time.txt" || {
		cat "$tmp/time.txt" >&2
		exit 1
	}
	sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$tmp/time.txt"
}

printf '| model | file MB | peak MB | peak / file | limit MB |%s\n' "$([ "$PACK0" = 1 ] && printf ' IR_CPU_PACK=0 peak / file |')"
printf '| --- | ---: | ---: | ---: | ---: |%s\n' "$([ "$PACK0" = 1 ] && printf ' ---: |')"
for t in $TYPES; do
	f=$DIR/$SHAPE-$t.gguf
	[ -f "$f" ] || "$IR" synth "$SHAPE" "$t" "$f" >/dev/null
	size=$(wc -c <"$f")
	kb=$(peak_kb "$f")
	extra=
	if [ "$PACK0" = 1 ]; then
		kb0=$(IR_CPU_PACK=0 peak_kb "$f")
		extra=$(awk -v k="$kb0" -v s="$size" 'BEGIN { printf " %.3f |", k * 1024 / s }')
	fi
	awk -v m="$SHAPE $t" -v k="$kb" -v s="$size" -v x="$extra" 'BEGIN {
		peak = k * 1024; limit = 1.1 * s + 100e6
		over = peak > limit ? " (over)" : ""
		printf "| %s | %.0f | %.0f | %.3f | %.0f%s |%s\n", m, s / 1e6, peak / 1e6, peak / s, limit / 1e6, over, x
	}'
done
