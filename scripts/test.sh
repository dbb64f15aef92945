#!/usr/bin/env bash
# The test command: formatting, vet, and every test of the module. CI runs
# exactly this (.ci/run). Tests that need ../shared skip when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
. scripts/ensure-chromium.sh

unformatted=$(gofmt -l $(find . -name '*.go' -not -path './runs/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt -l: these files are not formatted:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "gofmt -l: clean"
go vet ./...
echo "go vet: clean"
go test -count=1 -timeout 30m ./...
# The portable code paths of the packages with assembly kernels.
go test -count=1 -timeout 30m -tags purego ./gmm ./llama ./measure
