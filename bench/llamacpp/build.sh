#!/usr/bin/env bash
# Builds llama.cpp's reference runner for bench/llamacpp: Ollama (whose
# runner for the llama, gpt2 and qwen2 families is llama.cpp, linked through
# cgo) from the Go module proxy, compiled for this CPU. Nothing of it enters
# the repository: everything lives in a cache directory outside it.
#
#   bash bench/llamacpp/build.sh          prints the path of the ollama binary
#
# Idempotent: when $LLAMACPP_CACHE/bin/ollama exists it only prints the path.
# A cold build takes about 10 minutes on 2 cores.
#
# Environment:
#   LLAMACPP_CACHE     cache directory (default /work/.cache/ollama-ref, or
#                      $XDG_CACHE_HOME/ggmi-ollama-ref when /work is absent)
#   OLLAMA_VERSION     Ollama module version (default v0.17.4)
#   NODE_LLAMA_CPP     version of the npm package node-llama-cpp whose bundled
#                      llama.cpp sources supply miniaudio.h and gguf-py
#                      (default 3.21.1)
#
# Needs: go, gcc/g++, git, npm, and the Debian packages nlohmann-json3-dev and
# libstb-dev (installed with apt-get when missing and running as root). The
# module zip leaves out llama.cpp's vendor/ folder, so its headers come from
# Debian (nlohmann/json.hpp, stb/stb_image.h) and from the npm package
# (miniaudio/miniaudio.h). The module's own cgo flags are only -O3: without
# -march=native llama.cpp runs without SIMD (3-10x slower), an unfair baseline.
set -euo pipefail
default_cache=/work/.cache/ollama-ref
[ -d /work ] || default_cache=${XDG_CACHE_HOME:-$HOME/.cache}/ggmi-ollama-ref
cache=${LLAMACPP_CACHE:-$default_cache}
version=${OLLAMA_VERSION:-v0.17.4}
nlc=${NODE_LLAMA_CPP:-3.21.1}
bin=$cache/bin/ollama

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache"
cd "$cache"

# llama.cpp sources as bundled in node-llama-cpp (a git bundle in the tarball).
if [ ! -f llama.cpp/vendor/miniaudio/miniaudio.h ]; then
	mkdir -p npm
	(cd npm && npm pack --silent "node-llama-cpp@$nlc" >/dev/null)
	tar -xzf "npm/node-llama-cpp-$nlc.tgz" -C npm package/llama/gitRelease.bundle
	rm -rf llama.cpp
	git clone -q npm/package/llama/gitRelease.bundle llama.cpp
fi
mkdir -p include/miniaudio
cp llama.cpp/vendor/miniaudio/miniaudio.h include/miniaudio/

if [ ! -f /usr/include/nlohmann/json.hpp ] || [ ! -f /usr/include/stb/stb_image.h ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y -qq nlohmann-json3-dev libstb-dev >/dev/null ||
			{ apt-get update -qq && apt-get install -y -qq nlohmann-json3-dev libstb-dev >/dev/null; }
	else
		echo "build.sh: install the Debian packages nlohmann-json3-dev and libstb-dev" >&2
		exit 1
	fi
fi

echo "build.sh: building github.com/ollama/ollama@$version with -O2 -march=native (about 10 minutes cold)" >&2
mkdir -p "$cache/bin"
CGO_ENABLED=1 \
	CGO_CFLAGS="-O2 -march=native" \
	CGO_CXXFLAGS="-O2 -march=native" \
	CGO_CPPFLAGS="-I$cache/include" \
	GOBIN="$cache/bin.tmp" GOFLAGS=-mod=mod \
	nice -n 10 go install "github.com/ollama/ollama@$version"
mv "$cache/bin.tmp/ollama" "$bin"
rmdir "$cache/bin.tmp" 2>/dev/null || true
echo "$bin"
