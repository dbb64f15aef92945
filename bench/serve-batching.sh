#!/usr/bin/env bash
# Continuous batching in `ggmi serve`: total tokens/s of 8 concurrent
# streamed completions against one stream on the same server, timed back
# to back in every run (serve's BenchmarkServeStreams). Prints the median
# of RUNS runs of each rate and the median of the per-run ratios.
#
#   MODEL=/path/rand-110M-q8_0.gguf bash bench/serve-batching.sh
#
# Environment: MODEL (a .gguf or .bin; default stories260K from ../shared),
# RUNS (5), TOKENS (64 per stream). bench/llamacpp/run.sh makes the 110M
# q8_0 file (WORK=DIR keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
GGMI_BENCH_MODEL=${MODEL:-} GGMI_BENCH_TOKENS=${TOKENS:-64} nice -n 10 \
	go test ./serve -run XXX -bench BenchmarkServeStreams -benchtime 1x -count "${RUNS:-5}" |
	tee /dev/stderr |
	awk 'BEGIN { n = 0 }
	/^BenchmarkServeStreams/ {
		for (i = 1; i < NF; i++) {
			if ($(i+1) == "ratio") r[n] = $i
			if ($(i+1) == "tok/s-1stream") a[n] = $i
			if ($(i+1) == "tok/s-8streams") b[n] = $i
		}
		n++
	}
	function median(x, n,   i, j, t) {
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
		return n % 2 ? x[int(n/2)] : (x[n/2-1] + x[n/2]) / 2
	}
	END {
		if (n == 0) { print "no benchmark output" > "/dev/stderr"; exit 1 }
		printf "| runs | 1 stream tok/s (median) | 8 streams tok/s (median) | ratio (median of runs) |\n| --- | --- | --- | --- |\n"
		printf "| %d | %.1f | %.1f | %.2f |\n", n, median(a, n), median(b, n), median(r, n)
	}'
