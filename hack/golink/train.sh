#!/bin/bash
# Writes hack/golink/hot-functions.txt: the Go functions a container's life
# calls, in the order of their first call (`make layout`; as root, needs
# perf). The training binary is skiff linked with every function on a page
# of its own (SKIFF_LINK_ALIGN=4096) and mapped page by page (build tag
# nofaultaround), so each page fault that `perf record` sees in its text is
# the first call of one function. The scenario is what engines and the
# benchmark do: run; create, start, exec twice, state, list, kill, delete
# (with --log, --log-format json and --pid-file as containerd and podman
# pass them); delete of a created container; run --detach, delete --force.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-hack/golink/hot-functions.txt}
bin=.build/skiff-train
[[ $(id -u) == 0 ]] || { echo "train.sh: creates containers: run it as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "train.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
[[ -x .build/golink/link ]] || { echo "train.sh: no .build/golink/link (make skiff builds it)" >&2; exit 1; }
SKIFF_GOLINK=$PWD/.build/golink/link SKIFF_LINK_ALIGN=4096 go build -trimpath \
	-toolexec="$PWD/hack/golink/toolexec" -tags="${GOTAGS:?},nofaultaround" \
	-ldflags "-X main.layout=training -linkmode external -extldflags -static" -o "$bin" .
work=$(mktemp -d /tmp/skiff-train.XXXXXX)
root=$work/state
cleanup() {
	for id in t-run t-c t-d t-e; do "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT
go run ./tests/mkbundle "$work/true" /bin/true
go run ./tests/mkbundle "$work/sleep" /bin/sleep 100
cat >"$work/scenario" <<SH
#!/bin/sh
set -e
s="$PWD/$bin --root $root"
\$s run --bundle $work/true t-run </dev/null >/dev/null
\$s --log $work/log --log-format json create --bundle $work/sleep --pid-file $work/pid t-c </dev/null >/dev/null
\$s --log $work/log --log-format json start t-c
\$s exec t-c /bin/true
\$s exec t-c /bin/true
\$s state t-c >/dev/null
\$s list >/dev/null
\$s --log $work/log --log-format json kill t-c KILL
\$s --log $work/log --log-format json delete t-c
\$s create --bundle $work/true t-d </dev/null >/dev/null
\$s delete --force t-d
\$s run --detach --bundle $work/sleep t-e </dev/null >/dev/null
\$s delete --force t-e
SH
chmod +x "$work/scenario"
# A binary the linker has just written sits in the page cache in large
# folios, which the kernel maps whole: read it back from the disk first.
sync
dd if="$bin" iflag=nocache count=0 status=none
perf record -q -e exceptions:page_fault_user -a -o "$work/perf.data" -- "$work/scenario"
{
	echo "# Go functions of a container's life, in the order of their first call:"
	echo "# skiff's linker puts them first in the text (hack/golink, README.md)."
	echo "# Written by hack/golink/train.sh (make layout) for $(go env GOVERSION), $(git rev-parse --short HEAD)."
	perf script -i "$work/perf.data" -F comm,trace 2>/dev/null |
		go run ./hack/golink/hotfuncs -binary "$bin" -skip-comm true,sleep,scenario,perf,perf-exec
} >"$out.new"
mv "$out.new" "$out"
echo "train.sh: $(grep -vc '^#' "$out") functions in $out"
