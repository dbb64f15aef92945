#!/usr/bin/env bash
# The main job: the reverse-bottleneck paper's Gaussian-mixture lab, the full
# Fig. 4 protocol under all three KL estimators, with report and figures in
# runs/gmm-lab/. Extra arguments go to `ggmi simulate`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
go build -o bin/ggmi ./cmd/ggmi
exec bin/ggmi simulate --estimator mc,hist,hist-shared --out runs/gmm-lab "$@"
