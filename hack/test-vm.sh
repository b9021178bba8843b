#!/usr/bin/env bash
# test-vm.sh — run the cgroup tests where they matter most: a pure cgroup v2
# guest with systemd as PID 1 (../shared/vm), in ONE boot, for both drivers:
#
#   1. libct/cgroups unit and manager tests, cgroupfs v2 driver
#   2. the same manager tests with the systemd driver (SKIFF_TEST_SYSTEMD=1)
#   3. tests/integration -run Cgroup against the real skiff binary, cgroupfs
#   4. the same with --systemd-cgroup (SKIFF_TEST_SYSTEMD_CGROUP=1)
#
# Everything is compiled on the host (the guest runs under TCG, 10-25x
# slower); the guest only runs the binaries from a shared directory.
#
# Env: VM_DIR (the VM scripts, default ../shared/vm next to the repo),
#      TEST_VM_RUN (a -test.run filter for the integration tests, default Cgroup),
#      TEST_VM_TIMEOUT (seconds for the whole boot, default 1800),
#      KEEP=1 keeps the shared work directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
vm_dir=${VM_DIR:-$repo/../shared/vm}
filter=${TEST_VM_RUN:-Cgroup}
export PATH=$PATH:/usr/local/go/bin
go=${GO:-go}

[ -x "$vm_dir/run-in-vm.sh" ] || { echo "test-vm: no $vm_dir/run-in-vm.sh (set VM_DIR)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "test-vm: needs root (the VM share keeps ownership; build-image.sh needs root)" >&2; exit 2; }

# The guest mounts the share at the same path: not under /tmp (a system
# path for run-in-vm.sh), and private to this run.
work=$(mktemp -d /var/tmp/skiff-test-vm.XXXXXX)
cleanup() { [ "${KEEP:-0}" = 1 ] && echo "test-vm: kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT

echo "== building skiff and the test binaries on the host"
"$vm_dir/build-image.sh" >&2
make -C "$repo" --no-print-directory skiff >&2
cp "$repo/skiff" "$work/skiff"
(cd "$repo" && "$go" test -c -o "$work/cgroups.test" ./libct/cgroups)
(cd "$repo" && "$go" test -c -o "$work/integration.test" ./tests/integration)
# Test helpers the integration tests build with go where there is one.
mkdir -p "$work/helpers"
(cd "$repo" && "$go" build -ldflags "-linkmode external -extldflags -static" -o "$work/helpers/seccompagent" ./tests/seccompagent)
(cd "$repo" && CGO_ENABLED=0 "$go" build -o "$work/helpers/sdnotify" ./tests/sdnotify)
cp "$repo/seccomp/testdata/docker-default.json" "$work/helpers/"

cat > "$work/guest.sh" <<'EOF'
#!/bin/bash
# Runs inside the VM. Each step's result is summarised at the end; the
# exit code is the number of failed steps.
cd "$(dirname "$0")"
dir=$PWD
filter=$1
echo "guest: $(uname -r), pid 1 $(cat /proc/1/comm), $(stat -fc %T /sys/fs/cgroup), systemd $(systemctl --version | head -1 | cut -d' ' -f2)"
results=()
failed=0
step() {
	local name=$1; shift
	echo
	echo "== $name"
	local start=$(date +%s)
	"$@" 2>&1 | tee "$dir/$name.log" | grep -E '^(=== RUN|--- |PASS|FAIL|ok )|_test\.go:[0-9]+:|^        |panic' | grep -v '^=== RUN'
	local rc=${PIPESTATUS[0]}
	local pass=$(grep -c -- '^--- PASS' "$dir/$name.log" || true)
	local fail=$(grep -c -- '^--- FAIL' "$dir/$name.log" || true)
	local skip=$(grep -c -- '^--- SKIP' "$dir/$name.log" || true)
	results+=("$(printf '%-26s rc=%-3s %3s passed %3s failed %3s skipped %4ss' "$name" "$rc" "$pass" "$fail" "$skip" $(( $(date +%s) - start )))")
	[ "$rc" = 0 ] || failed=$((failed + 1))
}
step unit-v2 ./cgroups.test -test.v -test.count=1 -test.timeout=20m
step unit-systemd env SKIFF_TEST_SYSTEMD=1 ./cgroups.test -test.v -test.count=1 -test.timeout=20m -test.run 'Manager'
# SKIFF_TEST_VM=1: see cgBundle in tests/integration/cgroups_test.go.
step integration-v2 env SKIFF_BINARY="$dir/skiff" SKIFF_TEST_VM=1 SKIFF_TEST_HELPERS="$dir/helpers" ./integration.test -test.v -test.count=1 -test.timeout=30m -test.run "$filter"
step integration-systemd env SKIFF_BINARY="$dir/skiff" SKIFF_TEST_VM=1 SKIFF_TEST_SYSTEMD_CGROUP=1 SKIFF_TEST_HELPERS="$dir/helpers" ./integration.test -test.v -test.count=1 -test.timeout=30m -test.run "$filter"
# Nothing may be left behind by either driver.
left=$(find /sys/fs/cgroup -maxdepth 3 -type d \( -name 'skiff-test*' -o -name 'skiff-unit*' \) 2>/dev/null | grep -v '^/sys/fs/cgroup/skiff-test$\|^/sys/fs/cgroup/skiff-unit$' || true)
units=$(systemctl list-units --all --plain --no-legend 'skiff-test-*' 'skiff-unit-*' 2>/dev/null || true)
echo
echo "== summary (guest)"
printf '%s\n' "${results[@]}"
[ -z "$left" ] || { echo "leftover cgroups:"; echo "$left"; failed=$((failed + 1)); }
[ -z "$units" ] || { echo "leftover units:"; echo "$units"; failed=$((failed + 1)); }
exit $failed
EOF
chmod +x "$work/guest.sh"

echo "== booting the VM (pure cgroup v2, systemd) and running the tests"
set +e
"$vm_dir/run-in-vm.sh" -t "${TEST_VM_TIMEOUT:-1800}" "$work" -- "$work/guest.sh" "$filter"
rc=$?
set -e
if [ "$rc" = 0 ]; then
	echo "test-vm: all steps passed"
elif [ "$rc" -ge 124 ]; then
	echo "test-vm: the VM failed or timed out (rc $rc)" >&2
else
	echo "test-vm: $rc step(s) failed (logs: rerun with KEEP=1, see $work/*.log)" >&2
fi
exit "$rc"
