#!/bin/sh
# memory.sh prints how much resident memory a model costs against the size
# of its file: the peak resident set of `ir bench` (load, a 64-token
# prompt, 16 generated tokens, 2 threads) divided by the file's bytes, for
# random-weight models of the Llama-1B shape in Q4_0, Q4_K_M and F16, with
# the file mapped (the default) and read into memory (--no-mmap, Ollama's
# use_mmap=false).
#
# usage: bench/memory.sh [TYPE...]   (default: Q4_0 Q4_K_M F16)
#
# The limit column is 1.1 x the file + 100 MB (the KV cache of 81 tokens,
# a few MB, is left out, which only makes the limit stricter); a peak over
# it is marked. Packed weights (the CPU backend's panels) must cost the
# file's size once either way: with MLOCK=1 each model is also run with
# --mlock (the packed copies locked in place of the file's pages; needs
# RLIMIT_MEMLOCK of the file's size), and with PACK0=1 with IR_CPU_PACK=0
# for comparison.
#
# Settings (environment):
#   IR     path of the ir binary (default: built from this checkout)
#   DIR    where the models are written and kept (default: a temporary
#          folder, removed at the end)
#   SHAPE  the shape given to `ir synth` (default llama-1b)
#   MLOCK  1: also run each model with --mlock
#   PACK0  1: also run each model with IR_CPU_PACK=0
set -eu

TYPES=${*:-Q4_0 Q4_K_M F16}
SHAPE=${SHAPE:-llama-1b}
PACK0=${PACK0:-0}
MLOCK=${MLOCK:-0}
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

# peak_kb prints the peak resident set in KiB of ir bench on model $1 with
# the flags that follow.
peak_kb() {
	f=$1
	shift
	/usr/bin/time -v "$IR" bench "$f" -p 64 -n 16 -t 2 -r 1 "$@" >/dev/null 2>"$tmp/time.txt" || {
		cat "$tmp/time.txt" >&2
		exit 1
	}
	sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$tmp/time.txt"
}

# limit_col prints a table cell: peak (KiB $1) / file size ($2), marked
# when over 1.1 x the file + 100 MB.
limit_col() {
	awk -v k="$1" -v s="$2" 'BEGIN {
		peak = k * 1024
		printf " %.3f%s |", peak / s, (peak > 1.1 * s + 100e6) ? " (over)" : ""
	}'
}

head='| model | file MB | limit MB | peak MB | peak / file | --no-mmap peak MB | --no-mmap peak / file |'
rule='| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
[ "$MLOCK" = 1 ] && head="$head --mlock peak / file |" && rule="$rule ---: |"
[ "$PACK0" = 1 ] && head="$head IR_CPU_PACK=0 peak / file |" && rule="$rule ---: |"
echo "$head"
echo "$rule"
for t in $TYPES; do
	f=$DIR/$SHAPE-$t.gguf
	[ -f "$f" ] || "$IR" synth "$SHAPE" "$t" "$f" >/dev/null
	size=$(wc -c <"$f")
	kb=$(peak_kb "$f")
	kbn=$(peak_kb "$f" --no-mmap)
	row=$(awk -v m="$SHAPE $t" -v s="$size" -v k="$kb" -v n="$kbn" 'BEGIN {
		printf "| %s | %.0f | %.0f | %.0f |", m, s / 1e6, (1.1 * s + 100e6) / 1e6, k * 1024 / 1e6
	}')
	row="$row$(limit_col "$kb" "$size")$(awk -v n="$kbn" 'BEGIN { printf " %.0f |", n * 1024 / 1e6 }')$(limit_col "$kbn" "$size")"
	if [ "$MLOCK" = 1 ]; then
		row="$row$(limit_col "$(peak_kb "$f" --mlock)" "$size")"
	fi
	if [ "$PACK0" = 1 ]; then
		row="$row$(limit_col "$(IR_CPU_PACK=0 peak_kb "$f")" "$size")"
	fi
	echo "$row"
done
