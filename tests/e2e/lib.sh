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

# wait_gone PID TENTHS: waits for a daemon this script started to exit
# (a zombie counts), reaps it, and says whether it went in time.
wait_gone() {
	local i st
	for i in $(seq "$2"); do
		st=$(ps -o stat= -p "$1" 2>/dev/null)
		case $st in "" | Z*) wait "$1" 2>/dev/null; return 0 ;; esac
		sleep 0.1
	done
	return 1
}

# engine_leaks CGPATH: what a run left behind below $T and in cgroups whose
# path contains CGPATH (mounts, processes, container processes, cgroup
# directories, containerd shim sockets bound since $T/shim-sockets.before),
# one "kind: items;" each. Prints nothing when clean.
engine_leaks() {
	local cg=$1 m p c s
	m=$(awk -v s="$T" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo)
	[ -z "$m" ] || echo "mounts: $(echo $m);"
	p=$(ps -eo pid=,args= | awk -v s="$T" -v me=$$ 'index($0, s) && $1 != me && !/awk/')
	[ -z "$p" ] || echo "processes: $(echo $p);"
	p=$(grep -l -F "$cg/" /proc/[0-9]*/cgroup 2>/dev/null | while read -r f; do d=${f%/cgroup}; echo "${d#/proc/}($(cat "$d/comm" 2>/dev/null))"; done)
	[ -z "$p" ] || echo "container processes: $(echo $p);"
	c=$(find /sys/fs/cgroup -mindepth 2 -type d -path "*$cg/*" 2>/dev/null)
	[ -z "$c" ] || echo "cgroups: $(echo $c);"
	ls /run/containerd/s 2>/dev/null | sort >"$T/shim-sockets.after"
	s=$(comm -13 "$T/shim-sockets.before" "$T/shim-sockets.after" | while read -r f; do
		# a socket of someone else's shim is still bound; ours have no owner left
		[ -S "/run/containerd/s/$f" ] && ! grep -q "/run/containerd/s/$f" /proc/net/unix && echo "$f"
	done)
	[ -z "$s" ] || echo "shim sockets: $(echo $s);"
}
