# Sourced by scripts/test.sh: installs Debian's python3-torch for the
# PyTorch reference of the llama package's logits and gradient parity test
# (TestTorchParity; /usr/bin/python3 only, never at runtime), when it is
# missing and apt-get is available. GGMI_NO_TORCH=1 skips the installation
# (the test then skips with a message).
if [ "${GGMI_NO_TORCH:-}" = 1 ]; then
	echo "ensure-torch: skipped (GGMI_NO_TORCH=1)" >&2
elif /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
	:
elif command -v apt-get >/dev/null 2>&1; then
	echo "ensure-torch: installing Debian's python3-torch for the PyTorch parity test" >&2
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
	/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || { echo "ensure-torch: could not install python3-torch" >&2; exit 1; }
else
	echo "ensure-torch: no torch and no apt-get; the PyTorch parity test will skip" >&2
fi
