#!/usr/bin/env bash
# Installs what the benchmark comparisons need: Debian's scikit-learn (the
# reference for EM and the reference protocol), Debian's PyTorch (the
# reference for training speed), hyperfine and bc.
set -euo pipefail
if /usr/bin/python3 -c 'import sklearn, torch' 2>/dev/null && command -v hyperfine >/dev/null && command -v bc >/dev/null; then
	exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn python3-numpy python3-scipy python3-torch hyperfine bc >/dev/null
