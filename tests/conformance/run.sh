#!/usr/bin/env bash
# tests/conformance/run.sh - the OCI runtime-tools validation suite against skiff
# (`make conformance`), runc, or both side by side.
#
# Usage: tests/conformance/run.sh [TEST...]
#   RUNTIME=skiff (default) | runc | "skiff runc"   runtimes to test, side by side
#   SKIFF=PATH                the skiff binary (default: ./skiff of the repo)
#   RUNTIME_TOOLS_SRC=DIR     a runtime-tools source tree with validation/ and
#                             cmd/runtimetest (default: Debian's, if it ships them,
#                             else the pinned module from the Go module proxy)
#   CONFORMANCE_OUT=DIR       where the TAP output goes (default /tmp/skiff-conformance-out)
#   TEST_TIMEOUT=S            limit for one validation program (default 180)
#
# Each validation program (one per test, validation/<name>/) is built from source,
# then run with RUNTIME pointing at a small wrapper that adds a private --root, in a
# directory holding `runtimetest` and a busybox rootfs tarball (built here from
# busybox-static). Its TAP output is summarised per test: passed, failed and skipped
# assertions, or "error" when the program died before finishing its plan.
#
# Exit status: 1 if skiff fails an assertion that is not listed in
# expected-failures.txt beside this script (each entry there has its reason), or if
# anything (containers, cgroups, bundles, processes) is left behind; 0 otherwise.

set -u -o pipefail
export LC_ALL=C LANG=C
shopt -s nullglob

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
HERE=${SELF%/*}
REPO=$(cd "$HERE/../.." && pwd)
export PATH=$PATH:/usr/local/go/bin
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

# The version of runtime-tools the counts in README.md were taken with. Debian 12's
# golang-github-opencontainers-runtime-tools-dev (0.9.0+git20220423.g0105384) ships
# only the library packages, not validation/ or cmd/runtimetest, and its commit is
# not in the Go checksum database: so the module is fetched from the Go module proxy
# (verified against sum.golang.org) at this pseudo-version.
RT_MODULE=github.com/opencontainers/runtime-tools
RT_VERSION=v0.9.1-0.20251205004911-5e639034dcdc
DEBIAN_SRC=/usr/share/gocode/src/github.com/opencontainers/runtime-tools

RUNTIMES=${RUNTIME:-skiff}
SKIFF_BIN=${SKIFF:-$REPO/skiff}
OUT=${CONFORMANCE_OUT:-/tmp/skiff-conformance-out}
TEST_TIMEOUT=${TEST_TIMEOUT:-180}
EXPECTED=$HERE/expected-failures.txt

die() { printf 'conformance: %s\n' "$*" >&2; exit 2; }
say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

((EUID == 0)) || die "must run as root (the tests create containers)"
command -v go >/dev/null || die "needs Go"
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || die "needs a static /bin/busybox (apt-get install busybox-static)"

declare -A BIN
read -r -a RTS <<<"$RUNTIMES"
((${#RTS[@]} > 0)) || die "RUNTIME is empty"
for r in "${RTS[@]}"; do
	case $r in
	skiff) [[ -x $SKIFF_BIN ]] || die "no skiff binary at $SKIFF_BIN (make skiff)"; BIN[$r]=$(readlink -f -- "$SKIFF_BIN") ;;
	*) BIN[$r]=$(command -v "$r") || die "runtime $r is not installed" ;;
	esac
done

WORK=$(mktemp -d /tmp/skiff-conformance.XXXXXX) || die mktemp
RUNID=${WORK##*.}
mkdir -p "$OUT"
rm -rf "${OUT:?}"/*

# Cgroups the tests can make: /cgrouptest, testdir/cgrouptest/container below the
# runtime's own cgroup, or one named after a container id (a UUID) when the config has
# no cgroupsPath. Only new directories with those names are ever touched, so that
# other people's cgroups on a shared host are left alone.
UUID='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
snapshot() {
	find /sys/fs/cgroup -mindepth 2 -maxdepth 8 -type d 2>/dev/null |
		grep -E "/(cgrouptest|testdir|$UUID)(/|\$)" | sort >"$1.cg"
}
snapshot "$WORK/before"

# mount points below a directory, deepest first (the rootfsPropagation=shared test
# propagates the container's mounts into the bundle on the host, as the spec says)
mounts_under() {
	awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
cleanup() {
	local r d p n=0
	for r in "${RTS[@]}"; do
		for d in "$WORK/state/$r"/*/; do
			d=${d%/}
			timeout -k 2 15 "${BIN[$r]}" --root "$WORK/state/$r" delete --force "${d##*/}" >/dev/null 2>&1
		done
	done
	snapshot "$WORK/after"
	# cgroups the tests made (deepest first), with any process still in them
	while read -r d; do
		[[ -d $d ]] || continue
		if [[ -r $d/cgroup.procs ]]; then
			while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$d/cgroup.procs"
		fi
		for _ in 1 2 3 4 5; do rmdir "$d" 2>/dev/null && break; sleep 0.2; done
	done < <(comm -13 "$WORK/before.cg" "$WORK/after.cg" | sort -r)
	for d in $(mounts_under "$WORK"); do umount -l "$d"; done
	rm -rf --one-file-system -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------------------------------
# Sources and build
SRC=${RUNTIME_TOOLS_SRC:-}
if [[ -z $SRC && -d $DEBIAN_SRC/validation && -d $DEBIAN_SRC/cmd/runtimetest ]]; then
	SRC=$DEBIAN_SRC
fi
if [[ -z $SRC ]]; then
	say "fetching $RT_MODULE@$RT_VERSION from the Go module proxy"
	mkdir -p "$WORK/mod"
	SRC=$(cd "$WORK/mod" && go mod download -json "$RT_MODULE@$RT_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[[ -n $SRC && -d $SRC/validation ]] || die "cannot download $RT_MODULE@$RT_VERSION (set RUNTIME_TOOLS_SRC to a source tree)"
fi
[[ -d $SRC/validation ]] || die "$SRC has no validation/ directory"
say "building the validation programs from $SRC"
cp -r "$SRC" "$WORK/src" && chmod -R u+w "$WORK/src" || die "copy $SRC"
# module zips keep vendor/modules.txt without the packages: build from the module cache
rm -rf "$WORK/src/vendor"
mkdir -p "$WORK/bin" "$WORK/run" "$WORK/tmp"
(cd "$WORK/src" && go build -o "$WORK/bin/" ./validation/... &&
	CGO_ENABLED=0 go build -tags "netgo osusergo" -o "$WORK/run/runtimetest" ./cmd/runtimetest) >"$WORK/build.log" 2>&1 ||
	{ cat "$WORK/build.log" >&2; die "building the validation programs failed"; }

# the busybox rootfs the tests unpack into every bundle
mkdir -p "$WORK/rootfs"/{bin,dev,proc,sys,etc,tmp}
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -s busybox "$WORK/rootfs/bin/$a"; done
cat >"$WORK/rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/bin/false
daemon:x:2:2:daemon:/sbin:/bin/false
nobody:x:65534:65534:nobody:/var/empty:/bin/false
EOF
cat >"$WORK/rootfs/etc/group" <<'EOF'
root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
tty:x:5:
users:x:100:
nobody:x:65534:
EOF
tar -C "$WORK/rootfs" --owner=0 --group=0 --numeric-owner -czf "$WORK/run/rootfs-$(go env GOARCH).tar.gz" . ||
	die "cannot make the rootfs tarball"

# each runtime behind a wrapper with its own state root
for r in "${RTS[@]}"; do
	mkdir -p "$WORK/state/$r"
	printf '#!/bin/sh\nexec %q --root %q "$@"\n' "${BIN[$r]}" "$WORK/state/$r" >"$WORK/rt-$r"
	chmod +x "$WORK/rt-$r"
done

TESTS=("$@")
if ((${#TESTS[@]} == 0)); then
	for t in "$WORK/bin"/*; do [[ ${t##*/} == runtimetest ]] || TESTS+=("${t##*/}"); done
fi

# ---------------------------------------------------------------------------------------
# Run and summarise. Per test and runtime: <out>/<rt>/<test>.tap, .stderr, and a line
# "pass fail skip planned status" in <out>/<rt>/<test>.sum
summarise() { # tap-file exit-code -> "pass fail skip planned status"
	# A program with the plan 1..0 reports its single verdict as an "error" diagnostic
	# (hooks, poststart, prestart_fail...): that counts as one failed assertion.
	awk -v rc="$2" '
		/^not ok/ { fail++; next }
		/^ok/ { if (tolower($0) ~ /# skip/) skip++; else pass++; next }
		/^1\.\.[0-9]+/ { split($1, a, /\.\./); plan = a[2] }
		/^    "error": / && diag == "" { diag = $0 }
		END {
			# no TAP at all and exit 0: a *_fail program whose runtime refused the
			# config, as the spec requires (process_capabilities_fail...)
			if (plan == "" && pass + fail + skip == 0 && rc == 0) { pass = 1; plan = 1 }
			if (plan == "0" && diag != "") fail++
			n = pass + fail + skip
			st = "ok"
			if (fail > 0) st = "fail"
			if (plan == "" || n < plan + 0 || (rc != 0 && fail == 0)) st = "error"
			if (rc == 124 || rc == 137) st = "timeout"
			if (st == "error" || st == "timeout") fail++
			printf "%d %d %d %s %s\n", pass, fail, skip, (plan == "" ? "-" : plan), st
		}' "$1"
}
# the verdict of a 1..0 program: its error diagnostic, first line
diag_of() {
	sed -n 's/^    "error": "\(.*\)",\{0,1\}$/\1/p' "$1" | head -1 | sed 's/\\n.*//'
}
for r in "${RTS[@]}"; do mkdir -p "$OUT/$r"; done
say "running ${#TESTS[@]} tests against: ${RTS[*]}"
for t in "${TESTS[@]}"; do
	[[ -x $WORK/bin/$t ]] || die "no validation program named $t"
	for r in "${RTS[@]}"; do
		(cd "$WORK/run" && TMPDIR=$WORK/tmp RUNTIME=$WORK/rt-$r timeout -k 5 "$TEST_TIMEOUT" "$WORK/bin/$t" \
			</dev/null >"$OUT/$r/$t.tap" 2>"$OUT/$r/$t.stderr")
		rc=$?
		summarise "$OUT/$r/$t.tap" "$rc" >"$OUT/$r/$t.sum"
		# the not-ok lines, for the comparison: "<test>: <description>"
		grep '^not ok' "$OUT/$r/$t.tap" | sed -E "s/^not ok ([0-9]+) -? ?/$t #\1: /" >"$OUT/$r/$t.failed"
		grep -E '^ok [0-9]+' "$OUT/$r/$t.tap" | grep -vi '# skip' | sed -E "s/^ok ([0-9]+) -? ?/$t #\1: /" >"$OUT/$r/$t.passed"
		# a program that died before its plan counts its missing assertions as failed
		read -r p f s plan st <"$OUT/$r/$t.sum"
		d=$(diag_of "$OUT/$r/$t.tap")
		if [[ $plan == 0 && -n $d ]]; then
			echo "$t #0: $d" >>"$OUT/$r/$t.failed"
		fi
		if [[ $st == ok && ! -s $OUT/$r/$t.tap ]]; then
			echo "$t #1: no TAP, exit 0: the runtime refused the config, as the test requires" >>"$OUT/$r/$t.passed"
		fi
		if [[ $st == error || $st == timeout ]]; then
			echo "$t #-: (program $st: exit $rc, $((p + f + s - 1))/${plan} assertions reported)" >>"$OUT/$r/$t.failed"
		fi
	done
done

# ---------------------------------------------------------------------------------------
# Report
{
	printf '%-36s' "test"
	for r in "${RTS[@]}"; do printf ' | %-28s' "$r (pass/fail/skip)"; done
	echo
	for t in "${TESTS[@]}"; do
		printf '%-36s' "$t"
		for r in "${RTS[@]}"; do
			read -r p f s plan st <"$OUT/$r/$t.sum"
			printf ' | %-28s' "$p/$f/$s $st"
		done
		echo
	done
	printf '%-36s' "TOTAL assertions"
	for r in "${RTS[@]}"; do
		cat "$OUT/$r"/*.sum | awk '{ p += $1; f += $2; s += $3; if ($5 != "ok") bad++ }
			END { printf " | %-28s", sprintf("%d/%d/%d, %d tests not ok", p, f, s, bad) }'
	done
	echo
} | tee "$OUT/summary.txt"

# expected-failures.txt: "TEST: reason" lines; every skiff failure, and every assertion
# runc passes and skiff does not, must be in a listed test
listed() { # lines "test #n: ..." on stdin -> those whose test is not listed
	grep -vE "^($(sed -n 's/^\([a-z0-9_]*\):.*/\1/p' "$EXPECTED" 2>/dev/null | paste -sd'|' || true)) #" || true
}
status=0
if [[ " ${RTS[*]} " == *" skiff "* ]]; then
	cat "$OUT/skiff"/*.failed >"$OUT/skiff.failed"
	unexpected=$(listed <"$OUT/skiff.failed")
	if [[ " ${RTS[*]} " == *" runc "* ]]; then
		# assertions runc passes that skiff does not pass (failed, or never reached),
		# compared by test and description, counted (runtimetest numbers its checks
		# differently from run to run)
		bag() { cat "$OUT/$1"/*.passed | sed -E 's/ #[0-9-]+: /: /' | sort | uniq -c | awk '{ n = $1; $1 = ""; print substr($0, 2) "\t" n }'; }
		bag runc >"$WORK/runc.bag"
		bag skiff >"$WORK/skiff.bag"
		awk -F'\t' 'NR == FNR { have[$1] = $2; next } $2 > have[$1] + 0 { for (i = have[$1]; i < $2; i++) print $1 }' \
			"$WORK/skiff.bag" "$WORK/runc.bag" | sed -E 's/^([a-z0-9_]+): /\1 #: /' >"$OUT/runc-only.passed"
		if [[ -s $OUT/runc-only.passed ]]; then
			printf '\nassertions runc passes and skiff does not: %d, by test:\n' "$(wc -l <"$OUT/runc-only.passed")"
			sed 's/ #.*//' "$OUT/runc-only.passed" | uniq -c
			more=$(listed <"$OUT/runc-only.passed")
			[[ -n $more ]] && unexpected+=${unexpected:+$'\n'}$more
		fi
	fi
	if [[ -n $unexpected ]]; then
		printf '\nnot explained in %s:\n%s\n' "${EXPECTED#"$REPO"/}" "$unexpected"
		status=1
	fi
fi

# Leftovers. A container's own cgroup (the leaf of cgroupsPath) still there, a process
# in one, or a container in a state root is the runtime's; the parents a runtime made
# for a relative cgroupsPath (testdir/cgrouptest) are left by runc too, and bundles
# the test programs did not remove are theirs: both are removed without failing.
left="" quiet=0
for r in "${RTS[@]}"; do
	for d in "$WORK/state/$r"/*/; do left+="container ${d%/} ($r)"$'\n'; done
done
snapshot "$WORK/after"
while read -r d; do
	[[ -s $d/cgroup.procs ]] && left+="processes in $d: $(paste -sd' ' "$d/cgroup.procs")"$'\n'
	case $d in
	*/testdir | */testdir/cgrouptest) ((quiet++)) ;;
	*) left+="cgroup $d"$'\n' ;;
	esac
done < <(comm -13 "$WORK/before.cg" "$WORK/after.cg")
b=("$WORK/tmp"/*)
m=$(mounts_under "$WORK" | wc -l)
printf '\ncleaned up: %d parent cgroups of relative cgroupsPaths, %d bundles the test programs left, %d mounts that rootfsPropagation=shared propagated into bundles\n' \
	"$quiet" "${#b[@]}" "$m" >&2
if [[ -n $left ]]; then
	printf '\nconformance: FAILED: left behind by the runtimes (removed now):\n%s' "$left" >&2
	status=1
fi
printf '\nTAP output: %s\n' "$OUT"
exit "$status"
