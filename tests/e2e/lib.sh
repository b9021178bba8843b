# Shared by the engine end-to-end scripts (containerd.sh, docker.sh):
# result counting, one-line reasons, host checks. Source it after setting
# E2E_NAME (the engine, for the summary line) and RUNTIME.
# shellcheck shell=bash

PASSED=0
FAILED=0
START_TIME=$(date +%s)
pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
oneline() { tr '\n\t' '  ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-400; }
# check NAME FUNC ARGS...: FUNC prints its reason and returns non-zero on failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(printf '%s' "$out" | oneline)"; fi
}
finish() {
	echo "# $E2E_NAME e2e, RUNTIME=$RUNTIME: $(($(date +%s) - START_TIME))s"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit
}

# A buggy runtime can chown or replace the host's /dev/null (bind-mount
# targets, masked paths): it must still be root's 1:3 character device.
t_dev_null() {
	local s
	s=$(stat -c '%F %t:%T %a %U:%G' /dev/null)
	[ "$s" = "character special file 1:3 666 root:root" ] || { echo "host /dev/null is now: $s"; return 1; }
}

cgroup_dir() { # pid controller -> host path of the pid's cgroup in that v1 hierarchy
	local p
	p=$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$1/cgroup")
	[ -n "$p" ] && echo "/sys/fs/cgroup/$2$p"
}
