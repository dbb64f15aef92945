#!/usr/bin/env bash
# The test command (README): every test of the module, and the portable
# code paths of the packages with assembly kernels. Installs what it needs
# (Go, Debian's chromium for the report's browser test, Debian's
# python3-jinja2 for the chat templates' parity test, python3-torch for the
# llama package's PyTorch parity test). Tests that need ../shared skip when
# it is absent. CI (.ci/run) runs gofmt -l and go vet,
# then this.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
. scripts/ensure-chromium.sh
. scripts/ensure-jinja2.sh
. scripts/ensure-torch.sh

go test -count=1 -timeout 30m ./...
go test -count=1 -timeout 30m -tags purego ./gmm ./llama ./llama/quant ./measure
