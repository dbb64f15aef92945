#!/usr/bin/env bash
# Training throughput of ggmi against PyTorch on a GPT-2 124M-shaped model
# (12 layers, dim 768, 12 heads, vocabulary 50257, context 1024, random
# weights), batches of 8 × 256 tokens, AdamW and gradient clipping, both at
# THREADS threads (default 2) on the same machine at the same time.
#
#   bash bench/train/run_gpt2.sh [steps] [warmup]
#
# PyTorch (/usr/bin/python3, Debian's python3-torch) runs once with
# `steps` timed steps after `warmup` untimed ones (defaults 3 and 1); while
# it runs, ggmi runs again and again with the same settings, so both see
# the same load. Every step prints its wall and CPU seconds to standard
# error; the summary gives the median tokens/s of each (ggmi: median over
# its runs of the per-run medians) and the ratio, the median CPU seconds
# per step, and the load average at the start and the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/ensure-go.sh
STEPS=${1:-3}
WARMUP=${2:-1}
THREADS=${THREADS:-2}
PY=${PYTHON:-/usr/bin/python3}
"$PY" -c 'import torch' 2>/dev/null || { echo "PyTorch missing: apt-get install -y python3-torch" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
go build -o "$TMP/ggmi-train" ./bench/train
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${TORCH_OMP_WAIT_POLICY:-PASSIVE} \
	"$PY" bench/train/torch_train.py --preset gpt2-124m --threads "$THREADS" --steps "$STEPS" --warmup "$WARMUP" \
	>"$TMP/torch.json" &
TORCH=$!
runs=0
while [ "$runs" -lt 1 ] || kill -0 "$TORCH" 2>/dev/null; do
	"$TMP/ggmi-train" -preset gpt2-124m -threads "$THREADS" -steps "$STEPS" -warmup "$WARMUP" | tee -a "$TMP/ggmi.json"
	runs=$((runs + 1))
done
wait "$TORCH"
cat "$TMP/torch.json"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$TMP/ggmi.json" "$TMP/torch.json" <<'PYEOF'
import json, statistics, sys
g = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
p = [json.loads(l) for l in open(sys.argv[2]) if l.strip()][0]
gt = statistics.median(r["tokens_per_s"] for r in g)
gc = statistics.median(r["median_step_cpu_s"] for r in g)
print()
print(f"{'':>8}  {'tokens/s':>9}  {'s/step':>7}  {'CPU s/step':>10}  runs")
print(f"{'ggmi':>8}  {gt:>9.1f}  {2048 / gt:>7.1f}  {gc:>10.1f}  {len(g)}")
print(f"{'pytorch':>8}  {p['tokens_per_s']:>9.1f}  {p['median_step_s']:>7.1f}  {p['median_step_cpu_s']:>10.1f}  1 (torch {p['torch']})")
print(f"ggmi / pytorch: {gt / p['tokens_per_s']:.2f} (tokens/s), {p['median_step_cpu_s'] / gc:.2f} (CPU time per step)")
PYEOF
