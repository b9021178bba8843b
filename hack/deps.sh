#!/bin/sh
# Installs what building and testing skiff needs on Debian 12, only when it
# is missing: libseccomp's static archive and musl (skiff is linked
# statically against musl, README.md), a static busybox (test and demo
# bundles).
set -eu
need=""
for p in libseccomp-dev libc6-dev musl-tools busybox-static pkg-config gcc; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "skiff needs these packages:$need (run as root, or: sudo apt-get install -y$need)" >&2
		exit 1
	fi
	echo "installing:$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y $need </dev/null || { apt-get update </dev/null && apt-get install -y $need </dev/null; }
fi
command -v go >/dev/null 2>&1 || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "Go is not installed (expected in PATH or /usr/local/go/bin)" >&2; exit 1; }
# The tree the musl build looks in (Makefile, LIBC=musl).
"$(dirname "$0")/musl-tree.sh" "$(dirname "$0")/../.build/musl"
