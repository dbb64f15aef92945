#!/usr/bin/env bash
# EM speed and quality, ggmi against scikit-learn on the same data in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
bash bench/setup.sh
go run ./bench/emcompare "$@"
