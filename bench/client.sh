#!/usr/bin/env bash
# Client throughput of the llm package against a local server with a fixed
# 50 ms latency at concurrency 64 (ideal 1280 req/s), next to bare net/http
# on the same server: runs the benchmarks alternately COUNT times (7 by
# default) and prints the median ratio to the ideal and the median CPU per
# request (client and server together) of each. The client runs twice per
# round: with Go's default garbage-collector target and with the one
# `ggmi generate` sets (GOGC=400, cmd/ggmi/cmd_generate.go).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
count="${1:-7}"
out="$(mktemp)"
trap 'rm -f "$out" "$out.test"' EXIT
go test -c -o "$out.test" ./llm/ >/dev/null
for _ in $(seq "$count"); do
	"$out.test" -test.run xxx -test.bench 'RawHTTPThroughput' -test.count 1 | grep -E '^Benchmark' | tee -a "$out"
	"$out.test" -test.run xxx -test.bench 'ClientThroughput' -test.count 1 | grep -E '^Benchmark' | tee -a "$out"
	GOGC=400 "$out.test" -test.run xxx -test.bench 'ClientThroughput' -test.count 1 | grep -E '^Benchmark' |
		sed 's/^BenchmarkClientThroughput/BenchmarkClientThroughput(GOGC=400,as-ggmi-generate)/' | tee -a "$out"
done
awk 'function median(s,   n, v, i, j, t) {
		n = split(substr(s, 2), v, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	{ for (i = 1; i <= NF; i++) { if ($i == "ratio") r[$1] = r[$1] " " $(i-1); if ($i == "cpu-µs/req") c[$1] = c[$1] " " $(i-1) }; runs[$1]++ }
	END {
		for (b in r) printf "%s median ratio %.4f (%.0f req/s), median CPU %.1f µs per request, %d runs\n", b, median(r[b]), median(r[b]) * 1280, median(c[b]), runs[b]
	}' "$out"
