# Sourced by the other scripts: puts a Go toolchain new enough for go.mod on
# PATH, installing one when the machine has none. Uses only Debian's
# packages and the Go module proxy (the toolchain is an ordinary module).
# The go directive of go.mod (e.g. 1.26.0) is the version needed.
go_directive=$(sed -nE 's/^go ([0-9]+\.[0-9]+(\.[0-9]+)?)$/\1/p' go.mod)
need_minor=$(echo "$go_directive" | cut -d. -f2)
case "$go_directive" in
*.*.*) toolchain_version=${GGMI_GO_TOOLCHAIN:-$go_directive} ;;
*) toolchain_version=${GGMI_GO_TOOLCHAIN:-$go_directive.0} ;;
esac

if ! command -v go >/dev/null 2>&1; then
	if [ -x "${GGMI_GO_ROOT:-/usr/local/go}/bin/go" ]; then
		export PATH="${GGMI_GO_ROOT:-/usr/local/go}/bin:$PATH"
	else
		echo "ensure-go: no Go on this machine; installing Debian's golang-go" >&2
		if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
		$SUDO apt-get update -qq
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null
	fi
fi
command -v go >/dev/null 2>&1 || { echo "ensure-go: cannot find or install Go" >&2; exit 1; }

go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if [ "${go_minor:-0}" -lt "$need_minor" ] 2>/dev/null; then
	echo "ensure-go: $(go env GOVERSION) is older than go1.$need_minor; fetching go$toolchain_version through the module proxy" >&2
	arch=$(go env GOARCH)
	dir=$(cd /tmp && GO111MODULE=on GOFLAGS= go mod download -json "golang.org/toolchain@v0.0.1-go$toolchain_version.linux-$arch" |
		sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')
	if [ -z "$dir" ] || [ ! -f "$dir/bin/go" ]; then
		echo "ensure-go: could not fetch the Go toolchain" >&2
		exit 1
	fi
	# Module zips carry no file modes: make the tools executable.
	chmod -R u+w "$dir" 2>/dev/null || true
	chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
	export PATH="$dir/bin:$PATH"
	export GOTOOLCHAIN=local
fi
echo "ensure-go: using $(go version)" >&2
