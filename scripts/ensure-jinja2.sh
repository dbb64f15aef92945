# Sourced by scripts/test.sh: installs Debian's python3-jinja2, the reference
# the chat package's templates are compared with (Python's jinja2 renders the
# same conversations; package chat's test then checks the prompts are equal).
# Without it that comparison skips with a message and the golden files are
# still checked. Runtime never uses Python.
if /usr/bin/python3 -c 'import jinja2' >/dev/null 2>&1; then
	:
elif command -v apt-get >/dev/null 2>&1; then
	echo "ensure-jinja2: installing Debian's python3-jinja2 for the chat template parity test" >&2
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-jinja2 >/dev/null
	/usr/bin/python3 -c 'import jinja2' || { echo "ensure-jinja2: could not install python3-jinja2" >&2; exit 1; }
else
	echo "ensure-jinja2: no python3-jinja2 and no apt-get; the jinja2 comparison will skip" >&2
fi
