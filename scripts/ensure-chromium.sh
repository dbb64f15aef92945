# Sourced by scripts/test.sh: installs Debian's Chromium for the test that
# renders report.html in a real browser, when no Chromium is on the machine
# and apt-get is available. GGMI_NO_BROWSER=1 skips the installation (the
# browser test then skips with a message).
if [ "${GGMI_NO_BROWSER:-}" = 1 ]; then
	echo "ensure-chromium: skipped (GGMI_NO_BROWSER=1)" >&2
elif command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then
	:
elif command -v apt-get >/dev/null 2>&1; then
	echo "ensure-chromium: installing Debian's chromium for the report's browser test" >&2
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	command -v chromium >/dev/null 2>&1 || { echo "ensure-chromium: could not install chromium" >&2; exit 1; }
else
	echo "ensure-chromium: no chromium and no apt-get; the browser test will skip" >&2
fi
