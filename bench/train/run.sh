#!/usr/bin/env bash
# Training throughput of ggmi against PyTorch on CPU, same model shapes
# (stories260K: dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab
# 512), batch 8×256, AdamW and gradient clipping, 1 and 2 threads.
#
#   bash bench/train/run.sh [steps] [rounds]
#
# Each (implementation, threads) run reports the median step time of
# `steps` timed steps after 3 warm-up steps; the two implementations run
# alternately `rounds` times and the table shows the median over rounds.
# PyTorch runs with OMP_WAIT_POLICY=PASSIVE by default (set
# TORCH_OMP_WAIT_POLICY=ACTIVE to change it): on a shared machine, OpenMP
# threads that spin while waiting make its 2-thread runs several times
# slower.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/ensure-go.sh
bash bench/setup.sh
STEPS=${1:-20}
ROUNDS=${2:-3}
PY=${PYTHON:-/usr/bin/python3}
BIN=$(mktemp -d)/ggmi-train
trap 'rm -rf "$(dirname "$BIN")"' EXIT
go build -o "$BIN" ./bench/train
"$PY" -c 'import torch' 2>/dev/null || { echo "PyTorch missing: apt-get install -y python3-torch" >&2; exit 1; }
CKPT=../shared/models/stories260K/stories260K.bin
if [ -f "$CKPT" ]; then
	# Same function: both score stories260K on one fixed sequence.
	echo "same model check (loss of $CKPT on a fixed sequence):"
	"$BIN" -check-bin "$CKPT"
	"$PY" bench/train/torch_train.py --check-bin "$CKPT"
fi
OUT=$(mktemp)
for threads in 1 2; do
	for round in $(seq "$ROUNDS"); do
		"$BIN" -threads "$threads" -steps "$STEPS" | tee -a "$OUT"
		OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=${TORCH_OMP_WAIT_POLICY:-PASSIVE} \
			"$PY" bench/train/torch_train.py --threads "$threads" --steps "$STEPS" | tee -a "$OUT"
	done
done
"$PY" - "$OUT" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print()
print(f"{'threads':>7}  {'ggmi tok/s':>11}  {'pytorch tok/s':>13}  {'ggmi/pytorch':>12}")
for th in (1, 2):
    g = statistics.median(r["tokens_per_s"] for r in rows if r["impl"] == "ggmi" and r["threads"] == th)
    p = statistics.median(r["tokens_per_s"] for r in rows if r["impl"] == "pytorch" and r["threads"] == th)
    print(f"{th:>7}  {g:>11.0f}  {p:>13.0f}  {g / p:>12.2f}")
PYEOF
rm -f "$OUT"
