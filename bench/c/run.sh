#!/usr/bin/env bash
# Greedy generation speed with stories260K on one core: the C reference
# bench/c/run.c (built with -O3 -march=native -ffast-math and with plain -O3)
# against the Go engine's BenchmarkGreedyStories260K, in one run. Both
# generate 256 tokens from BOS per iteration, repeated for at least 1 s.
# First checks that C and Go generate the same 200 token ids; then runs
# paired rounds (C, C, Go back to back) for a ratio less sensitive to other
# jobs on a shared machine (PAIRED=0 skips them).
#
#   bash bench/c/run.sh [MODEL.bin]     (default ../shared/models/stories260K/stories260K.bin)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/ensure-go.sh
model=${1:-../shared/models/stories260K/stories260K.bin}
runs=${RUNS:-5}
cc=${CC:-gcc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# The machine may be shared: print its load, since other work slows both.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
"$cc" -O3 -march=native -ffast-math -o "$out/run_fast" bench/c/run.c -lm
"$cc" -O3 -o "$out/run_o3" bench/c/run.c -lm

go run ./bench/c/greedyids -n 200 "$model" >"$out/go.ids"
for b in run_fast run_o3; do
	"$out/$b" "$model" -n 200 -ids >"$out/$b.ids"
	if ! cmp -s "$out/go.ids" "$out/$b.ids"; then
		echo "run.sh: $b generates other token ids than the Go engine" >&2
		diff "$out/go.ids" "$out/$b.ids" | head >&2
		exit 1
	fi
done
echo "token ids: C (both builds) and Go agree on 200 greedy steps from BOS"

for b in run_fast run_o3; do
	for i in $(seq "$runs"); do
		"$out/$b" "$model" -n 256 -t 1 | tee -a "$out/$b.log" | sed "s/^/$b: /"
	done
done
GOMAXPROCS=1 go test -run xxx -bench Greedy -count "$runs" ./llama/ | tee "$out/go.log"

fast=$(awk '{print $2}' "$out/run_fast.log" | median)
o3=$(awk '{print $2}' "$out/run_o3.log" | median)
gov=$(awk '/^BenchmarkGreedy/ {for (i = 2; i <= NF; i++) if ($i == "tokens/s") print $(i - 1)}' "$out/go.log" | median)
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "greedy generation, stories260K, one core: medians of $runs runs (tokens/s)"
printf '%-46s %8.0f\n' "C  $cc -O3 -march=native -ffast-math" "$fast" "C  $cc -O3" "$o3" "Go GOMAXPROCS=1 (BenchmarkGreedyStories260K)" "$gov"
awk -v g="$gov" -v f="$fast" -v o="$o3" 'BEGIN {printf "ratio Go/C: %.2f (C -O3 -march=native -ffast-math), %.2f (C -O3)\n", g / f, g / o}'

# Paired rounds: C (both builds) and Go one right after the other, so that a
# change of the machine's load hits all three; the median of the per-round
# ratios is less sensitive to other jobs than the ratio of the medians.
[ "${PAIRED:-1}" = 0 ] && exit 0
go test -c -o "$out/llama.test" ./llama/
echo
echo "paired rounds (tokens/s): C fast, C -O3, Go, Go/C fast, Go/C -O3"
for i in $(seq "$runs"); do
	f=$("$out/run_fast" "$model" -n 256 -t 1 | awk '{print $2}')
	o=$("$out/run_o3" "$model" -n 256 -t 1 | awk '{print $2}')
	g=$(cd llama && GOMAXPROCS=1 "$out/llama.test" -test.run xxx -test.bench Greedy -test.count 1 |
		awk '/^BenchmarkGreedy/ {for (i = 2; i <= NF; i++) if ($i == "tokens/s") print $(i - 1)}')
	echo "$f $o $g" | awk '{printf "round: %8.0f %8.0f %8.0f %6.2f %6.2f\n", $1, $2, $3, $3 / $1, $3 / $2}' | tee -a "$out/paired.log"
done
pf=$(awk '{print $5}' "$out/paired.log" | median)
po=$(awk '{print $6}' "$out/paired.log" | median)
echo "paired ratio Go/C (median of $runs rounds): $pf (C -O3 -march=native -ffast-math), $po (C -O3)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
