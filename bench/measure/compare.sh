#!/bin/sh
# Go versus numpy on the same inputs: exact biased HSIC (Gaussian kernels,
# bandwidths given explicitly) and the Vendi score, n GSM8K questions and
# answers embedded with LSA (100 dimensions).
#
#   bench/measure/compare.sh [N] [RUNS]       (from the repository root; N = 5000, RUNS = 5)
#
# Go runs with GOMAXPROCS=2; numpy with its BLAS's default threads. Prints
# the medians, the ratio numpy/Go and the relative differences, and fails
# when a value differs by more than 1e-9 relative.
set -eu
N=${1:-5000}
RUNS=${2:-5}
PY=${PYTHON:-/usr/bin/python3}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
go build -o "$DIR/measure-bench" ./bench/measure
GOMAXPROCS=2 "$DIR/measure-bench" export -dir "$DIR" -n "$N" -runs "$RUNS" > /dev/null
"$PY" bench/measure/hsic_vendi.py "$DIR" "$RUNS" > /dev/null
"$PY" - "$DIR" <<'PYEOF'
import json, sys, os
d = sys.argv[1]
g = json.load(open(os.path.join(d, "go.json")))
p = json.load(open(os.path.join(d, "numpy.json")))
ok = True
print(f"n = {g['n']}, runs = {g['runs']} (medians), numpy {p['numpy']}, Go GOMAXPROCS = {g['gomaxprocs']}")
for k in ("hsic", "vendi"):
    rel = abs(g[k] - p[k]) / abs(p[k])
    ratio = p[k + "_median_seconds"] / g[k + "_median_seconds"]
    print(f"{k:6s} Go {g[k + '_median_seconds']:.4f} s  numpy {p[k + '_median_seconds']:.4f} s  "
          f"numpy/Go {ratio:.2f}x  value Go {g[k]!r} numpy {p[k]!r}  rel. diff {rel:.2e}")
    ok = ok and rel <= 1e-9
print("equal to 1e-9 relative:", "yes" if ok else "NO")
sys.exit(0 if ok else 1)
PYEOF
