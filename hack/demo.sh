#!/bin/sh
# Runs one container from a freshly built busybox bundle.
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "the demo creates namespaces and cgroups: run it as root" >&2
	exit 1
fi
skiff=${SKIFF:-$(pwd)/skiff}
dir=$(mktemp -d /tmp/skiff-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT
go run ./tests/mkbundle "$dir" sh -c '
echo "hello from a skiff container"
echo "  hostname: $(hostname)   pid: $$   user: $(id)"
echo "  capabilities: $(grep CapEff /proc/self/status)"
echo "  root filesystem: $(echo $(ls /))"'
echo "\$ skiff run --bundle $dir demo"
"$skiff" run --bundle "$dir" "skiff-demo-$$"
