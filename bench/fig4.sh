#!/usr/bin/env bash
# The full Fig. 4 protocol (3 sweeps × 14 values × 100 rounds) timed with
# ggmi, side by side with the Python reference protocol in the same run.
# Prints wall-clock medians and ratios. RUNS (default 3) sets the number of
# ggmi repetitions; REF_ROUNDS (default 2) the reference rounds per value.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
bash bench/setup.sh
go build -o bin/ggmi ./cmd/ggmi
runs=${RUNS:-3}
ref_rounds=${REF_ROUNDS:-2}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() { # prints wall seconds of one run of the command
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}

echo "machine: $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for est in mc hist; do
	times=$(for _ in $(seq "$runs"); do timeit bin/ggmi simulate -q --out '' --estimator "$est"; done)
	echo "ggmi full protocol, estimator $est: median $(echo "$times" | median) s wall over $runs runs ($(echo $times | tr '\n' ' '))"
done

# Per round, one core each, the same work (hist estimator, K=J=L=2).
ggmi_base=$(timeit bin/ggmi simulate -q --out '' --sweep none --rounds 50 --estimator hist --workers 1)
ref_base=$(/usr/bin/python3 bench/fig4_reference.py base 20)
echo "one round at K=J=L=2, one core: ggmi $(echo "$ggmi_base / 50" | bc -l | cut -c1-7) s (hist estimator); reference: $ref_base"

ref=$(/usr/bin/python3 bench/fig4_reference.py sweep "$ref_rounds")
echo "reference protocol, $ref_rounds rounds per value, extrapolated to 100: $ref"
