#!/bin/sh
# cpu.sh compares this runtime's CPU speed with llama.cpp's on the same GGUF
# files, on this machine, in one session.
#
# usage: bench/cpu.sh LLAMA_BENCH_PATH MODEL.gguf [MODEL.gguf...]
#
# For every model, thread count and depth it runs `ir bench` and
# `llama-bench` in turn (ours, theirs, ours, theirs, ...) RUNS times each, one
# repetition per run, so that drift in the machine's load hits both alike, and
# prints a Markdown table of the medians with the ratio ours / llama.cpp.
#
# Settings (environment):
#   RUNS     runs of each test per engine (default 3; the median is reported)
#   THREADS  thread counts (default "2"), e.g. "1 2"
#   DEPTHS   context depths before each test (default "0"), e.g. "0 1024 4096"
#   PP       prompt tokens of the prefill test (default 512; 0 skips it)
#   TG       generated tokens of the decode test (default 128; 0 skips it)
#   KV       KV cache type of both engines (default f16, llama-bench's default)
#   IR       path of the ir binary (default: built from this checkout)
#   CEILING  1: before each pair of decode runs, measure how fast this
#            machine streams memory with the same threads (the ceiling of
#            decode, which reads every weight once per token; it moves with
#            the other tenants of a shared machine), and add its median and
#            each engine's share of it: file bytes x tokens/s / ceiling
#   MIN_STREAM  with CEILING=1: GB/s; before each pair of decode runs, wait
#            (measuring every 5 s, for at most WAIT seconds, default 600)
#            until the machine streams at least that fast, so that decode is
#            compared when other tenants leave memory bandwidth to use
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 LLAMA_BENCH_PATH MODEL.gguf [MODEL.gguf...]" >&2
	exit 2
fi
LLAMA=$1
shift
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
DEPTHS=${DEPTHS:-0}
PP=${PP:-512}
TG=${TG:-128}
KV=${KV:-f16}

if [ ! -x "$LLAMA" ]; then
	echo "$0: $LLAMA is not an executable llama-bench" >&2
	exit 2
fi
for m in "$@"; do
	if [ ! -f "$m" ]; then
		echo "$0: model $m not found" >&2
		exit 2
	fi
done

CEILING=${CEILING:-0}
MIN_STREAM=${MIN_STREAM:-0}
WAIT=${WAIT:-600}
if [ "$MIN_STREAM" != 0 ] && [ "$CEILING" != 1 ]; then
	echo "$0: MIN_STREAM needs CEILING=1 (the wait measures the streaming rate)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${IR:-}" ]; then
	(cd "$root" && go build -o "$tmp/ir" ./cmd/ir)
	IR=$tmp/ir
fi
if [ "$CEILING" = 1 ]; then
	(cd "$root" && go test -c -o "$tmp/cpu.test" ./inference/compute/cpu)
fi

# stream prints the memory streaming rate in GB/s with $1 threads.
stream() {
	"$tmp/cpu.test" -test.run '^$' -test.bench "MemoryBandwidth/t$1\$" -test.benchtime 5x |
		sed -n 's/.*[[:space:]]\([0-9.]*\) MB\/s.*/\1/p' | awk '{printf "%.1f\n", $1 / 1000}'
}

# stream_at_least prints the streaming rate with $1 threads once it reaches
# MIN_STREAM GB/s, or the last one measured after WAIT seconds.
stream_at_least() {
	waited=0
	while :; do
		s=$(stream "$1")
		if awk -v s="$s" -v m="$MIN_STREAM" 'BEGIN {exit !(s >= m)}' || [ "$waited" -ge "$WAIT" ]; then
			echo "$s"
			return
		fi
		sleep 5
		waited=$((waited + 5))
	done
}

# avg_ts prints the first "avg_ts" number of the JSON on standard input.
avg_ts() {
	tr ',' '\n' | sed -n 's/.*"avg_ts": *\([0-9.eE+-]*\).*/\1/p' | head -n 1
}

# median prints the median of the numbers on standard input, one a line.
median() {
	sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# one runs one engine once and prints tokens per second.
# args: engine model threads depth prompt gen
one() {
	case $1 in
	ours) "$IR" bench "$2" -t "$3" -d "$4" -p "$5" -n "$6" -r 1 --kv-type "$KV" --json | avg_ts ;;
	# Depth 0 is llama-bench's default: leaving -d out also serves builds
	# from before the flag existed (and forks without it).
	llama)
		depth=""
		[ "$4" = 0 ] || depth="-d $4"
		# shellcheck disable=SC2086 # depth is empty or two words
		"$LLAMA" -m "$2" -t "$3" $depth -p "$5" -n "$6" -r 1 -ctk "$KV" -ctv "$KV" -o json 2>/dev/null | avg_ts ;;
	esac
}

if [ "$CEILING" = 1 ]; then
	echo "| model | test | threads | depth | ours t/s | llama.cpp t/s | ours / llama.cpp | stream GB/s | ours % | llama.cpp % |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
else
	echo "| model | test | threads | depth | ours t/s | llama.cpp t/s | ours / llama.cpp |"
	echo "|---|---|---:|---:|---:|---:|---:|"
fi
for m in "$@"; do
	for t in $THREADS; do
		for d in $DEPTHS; do
			for test in pp tg; do
				if [ "$test" = pp ]; then p=$PP n=0 name=pp$PP; else p=0 n=$TG name=tg$TG; fi
				[ "$p$n" = 00 ] && continue
				: >"$tmp/ours"
				: >"$tmp/llama"
				: >"$tmp/stream"
				i=0
				while [ "$i" -lt "$RUNS" ]; do
					if [ "$CEILING" = 1 ] && [ "$n" -gt 0 ]; then
						stream_at_least "$t" >>"$tmp/stream"
					fi
					one ours "$m" "$t" "$d" "$p" "$n" >>"$tmp/ours"
					one llama "$m" "$t" "$d" "$p" "$n" >>"$tmp/llama"
					i=$((i + 1))
				done
				a=$(median <"$tmp/ours")
				b=$(median <"$tmp/llama")
				r=$(awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}')
				row=$(printf '| %s | %s | %s | %s | %.2f | %.2f | %s |' "$(basename "$m")" "$name" "$t" "$d" "$a" "$b" "$r")
				if [ "$CEILING" = 1 ]; then
					if [ -s "$tmp/stream" ]; then
						c=$(median <"$tmp/stream")
						bytes=$(wc -c <"$m")
						row="$row$(awk -v c="$c" -v f="$bytes" -v a="$a" -v b="$b" 'BEGIN {printf " %.1f | %.0f | %.0f |", c, 100 * f * a / 1e9 / c, 100 * f * b / 1e9 / c}')"
					else
						row="$row | | |"
					fi
				fi
				echo "$row"
			done
		done
	done
done
