#!/bin/sh
# Builds the Go linker with skiff's function-layout hook (layout.go.in) into
# $1 (default .build/golink/link): the installed Go source with one call
# added to textaddress, through `go build -overlay`, so GOROOT is not
# changed. Exits 1, with the reason, if this Go's linker does not have the
# place the call goes (then the stock linker is used; see the Makefile).
set -eu
out=${1:-.build/golink/link}
here=$(cd "$(dirname "$0")" && pwd)
go=${GO:-go}
ld=$("$go" env GOROOT)/src/cmd/link/internal/ld
mkdir -p "$(dirname "$out")/overlay"
work=$(cd "$(dirname "$out")/overlay" && pwd)
if [ ! -f "$ld/data.go" ]; then
	echo "golink: no Go linker source at $ld (the Go install lacks its source: install Go from the go.dev tarball, or Debian's golang-src); using the stock linker" >&2
	exit 1
fi
anchor='	if \*flagRandLayout != 0 {'
if [ "$(grep -c "^$anchor\$" "$ld/data.go")" != 1 ]; then
	echo "golink: $ld/data.go has no single '-randlayout' branch to put the layout hook before; using the stock linker" >&2
	exit 1
fi
sed "s/^$anchor\$/	skiffLayout(ctxt)\n&/" "$ld/data.go" >"$work/data.go"
cp "$here/layout.go.in" "$work/skifflayout.go"
cat >"$work/overlay.json" <<JSON
{"Replace": {"$ld/data.go": "$work/data.go", "$ld/zz_skifflayout.go": "$work/skifflayout.go"}}
JSON
CGO_ENABLED=0 GOFLAGS= GOEXPERIMENT= "$go" build -trimpath -overlay="$work/overlay.json" -o "$out" cmd/link
