#!/usr/bin/env bash
# End-to-end test: podman 4.3 + conmon drive the runtime given by RUNTIME (default: the
# repository's ./skiff) through `podman --runtime <wrapper>`.
#
#   tests/e2e/podman.sh                       # skiff
#   RUNTIME=/usr/sbin/runc tests/e2e/podman.sh  # the same checklist against runc (or RUNTIME=runc)
#   E2E_ONLY="tty update" ...                  # a subset; E2E_KEEP=1 keeps the private dir
#
# Everything podman owns lives in a private mktemp directory (storage root, run root, libpod
# tmp dir, events file, network config, locks) and is removed at exit. The image is built
# locally from busybox-static and `podman import`ed: no registry, no network (every container
# runs with --network none). The wrapper named like the runtime (so that podman's
# runtime_supports_json matches and conmon passes --log-format=json) logs each argv and execs
# the runtime; at the end the log must show create/start/delete for every container.
#
# Output: one "PASS name" / "FAIL name: reason" line per check (plus "N/A name: reason" lines,
# not counted), then exactly "N passed, M failed". Exit status 0 only if nothing failed.
# Details of every podman call go to $E2E_LOG (default /tmp/podman-e2e.<runtime>.log).

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNTIME=${RUNTIME:-$REPO/skiff}
RTNAME=$(basename "$RUNTIME")
E2E_LOG=${E2E_LOG:-/tmp/podman-e2e.$RTNAME.log}
CMD_TIMEOUT=${CMD_TIMEOUT:-90}
IMAGE=localhost/skiff-e2e/busybox:latest

START_TIME=$(date +%s)
PASSED=0
FAILED=0
T=""

say() { printf '%s\n' "$*"; printf '%s\n' "$*" >>"$E2E_LOG"; }
log() { printf '%s\n' "$*" >>"$E2E_LOG"; }
pass() { say "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { say "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
na() { say "N/A $1: $2"; }
die() { echo "podman.sh: $*" >&2; exit 2; }
# first line of a file, for failure reasons
first() { head -c 300 "$1" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//'; }

if [ "$(id -u)" != 0 ]; then die "must run as root"; fi
: >"$E2E_LOG"

# ---------------------------------------------------------------------------------------------
# Install what is missing. dpkg must not start daemons: a policy-rc.d that exits 101.
install_missing() {
	local pkgs=() created_policy=""
	command -v podman >/dev/null || pkgs+=(podman)
	command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] || pkgs+=(conmon)
	command -v catatonit >/dev/null || [ -x /usr/libexec/podman/catatonit ] || pkgs+=(catatonit)
	command -v script >/dev/null || pkgs+=(bsdutils)
	command -v timeout >/dev/null || pkgs+=(coreutils)
	command -v tar >/dev/null || pkgs+=(tar)
	[ -e /usr/share/containers/seccomp.json ] || pkgs+=(golang-github-containers-common)
	if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then pkgs+=(busybox-static); fi
	[ ${#pkgs[@]} -eq 0 ] && return 0
	echo "installing: ${pkgs[*]}"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		created_policy=1
	fi
	local rc=0
	{ DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}"; } >>"$E2E_LOG" 2>&1 || rc=$?
	[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || die "apt-get install ${pkgs[*]} failed (see $E2E_LOG)"
}
install_missing

case $RUNTIME in */*) ;; *) RUNTIME=$(command -v "$RUNTIME" || echo "$RUNTIME") ;; esac
[ -x "$RUNTIME" ] || die "RUNTIME=$RUNTIME is not an executable (run make skiff, or set RUNTIME)"
RUNTIME=$(readlink -f "$RUNTIME")
INIT_PATH=$(command -v catatonit || echo /usr/libexec/podman/catatonit)
INIT_PATH=$(readlink -f "$INIT_PATH")
CONMON=$(command -v conmon || echo /usr/libexec/podman/conmon)

# ---------------------------------------------------------------------------------------------
# Private world.
T=$(mktemp -d /tmp/skiff-e2e-podman.XXXXXX)
chmod 0755 "$T"
mkdir -p "$T"/{root,runroot,tmp,bin,conf,networks,cids,cids-nostart,vol,rootfs,err,volumes}
# conmon 2.1 writes its cgroup v1 OOM marker ("oom") into its working directory:
# keep that, and anything else podman or conmon drop in the cwd, in the private dir.
cd "$T"
WRAP=$T/bin/$RTNAME
RTLOG=$T/runtime-argv.log
: >"$RTLOG"

cat >"$WRAP" <<EOF
#!/bin/sh
# argv logger in front of the runtime under test: one line per invocation
printf '%s\n' "\$*" >>'$RTLOG'
# t_exec_again: which road an exec takes (a Go runtime prints inittrace lines).
if [ -e '$T/trace-exec' ]; then
	case " \$* " in *" exec "*) GODEBUG=inittrace=1 exec '$RUNTIME' "\$@" 2>>"$T/exec-trace.\$\$" ;; esac
fi
exec '$RUNTIME' "\$@"
EOF
chmod 0755 "$WRAP"

# Rootful podman asks for RLIMIT_NOFILE/NPROC 1048576/4194304 in every container. Where the
# host cannot raise limits (no CAP_SYS_RESOURCE in the bounding set, as in some CI sandboxes)
# every runtime fails with EPERM, so then cap the defaults at what the runtime will have:
# this shell's hard limits, and for NPROC at most 32768 (podman lowers its own to that).
ULIMITS=""
if ! prlimit --nofile=1048576:1048576 --nproc=4194304:4194304 true 2>/dev/null; then
	nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
	[ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ] && nofile=1048576
	[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
	ULIMITS="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
	log "note: cannot raise rlimits here; $ULIMITS"
fi

# Default capabilities spelled out, so the expected CapEff below is exact.
cat >"$T/conf/containers.conf" <<EOF
[containers]
$ULIMITS
default_capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
  "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
default_sysctls = []
init_path = "$INIT_PATH"
seccomp_profile = "/usr/share/containers/seccomp.json"
log_driver = "k8s-file"
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
conmon_path = ["$CONMON"]
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
static_dir = "$T/root/libpod"
volume_path = "$T/volumes"
lock_type = "file"
num_locks = 128
runtime = "$RTNAME"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "skiff"]
image_default_transport = "containers-storage:"

[engine.runtimes]
$RTNAME = ["$WRAP"]

[network]
network_backend = "netavark"
network_config_dir = "$T/networks"
EOF

cat >"$T/conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$T/root"
runroot = "$T/runroot"
EOF

cat >"$T/conf/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "disabled"
EOF

export CONTAINERS_CONF=$T/conf/containers.conf
export CONTAINERS_STORAGE_CONF=$T/conf/storage.conf
export CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf
export TMPDIR=$T/tmp
unset XDG_RUNTIME_DIR XDG_CONFIG_HOME CONTAINER_HOST CONTAINER_CONNECTION

PODMAN=(podman --root "$T/root" --runroot "$T/runroot" --tmpdir "$T/tmp"
	--storage-driver overlay --runtime "$WRAP" --cgroup-manager cgroupfs
	--events-backend file --network-config-dir "$T/networks")
PODMAN_STR="${PODMAN[*]}"

# pm ARGS...: podman with the private configuration and a timeout.
pm() { timeout -k 5 "$CMD_TIMEOUT" "${PODMAN[@]}" "$@"; }

# fg_run NAME [podman run options and command...]: a foreground container.
# Sets OUT (stdout, \r stripped), RC, ERRF (stderr file).
OUT="" RC=0 ERRF=""
fg_run() {
	local name=$1
	shift
	ERRF=$T/err/$name
	RC=0
	log "+ podman run --name $name $*"
	OUT=$(pm run --name "$name" --cidfile "$T/cids/$name" --network none "$@" 2>"$ERRF") || RC=$?
	OUT=${OUT//$'\r'/}
	log "  rc=$RC out=$(printf '%s' "$OUT" | head -c 500)"
	[ -s "$ERRF" ] && log "  stderr: $(first "$ERRF")"
	return 0
}

# detach NAME [options and command...]: a background container; returns podman's status.
detach() {
	local name=$1
	shift
	ERRF=$T/err/$name
	log "+ podman run -d --name $name $*"
	pm run -d --name "$name" --cidfile "$T/cids/$name" --network none "$@" >/dev/null 2>"$ERRF" || {
		local rc=$?
		log "  rc=$rc stderr: $(first "$ERRF")"
		return $rc
	}
}

# p NAME ARGS...: a podman command whose stderr is kept in $T/err/NAME; sets OUT and RC.
p() {
	local name=$1
	shift
	ERRF=$T/err/$name
	RC=0
	log "+ podman $*"
	OUT=$(pm "$@" 2>"$ERRF") || RC=$?
	log "  rc=$RC out=$(printf '%s' "$OUT" | head -c 500)"
	[ -s "$ERRF" ] && log "  stderr: $(first "$ERRF")"
	return 0
}

state_of() { pm inspect --format '{{.State.Status}}' "$1" 2>/dev/null || echo "?"; }

# wait_state NAME STATE [tries]: poll podman's view (0.1 s steps).
wait_state() {
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# host_cgroup_file PID CONTROLLER FILE: the host path of a v1 controller file (or v2 file).
host_cgroup_file() {
	local pid=$1 ctrl=$2 file=$3 line path
	line=$(grep -E "^[0-9]+:([^:]*,)?$ctrl(,[^:]*)?:" "/proc/$pid/cgroup" || true)
	if [ -n "$line" ]; then
		path=${line#*:*:}
		echo "/sys/fs/cgroup/$ctrl$path/$file"
	else
		path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
		echo "/sys/fs/cgroup$path/$file"
	fi
}

CLEANED=""
cleanup_podman() {
	[ -n "$CLEANED" ] && return 0
	CLEANED=1
	pm rm -af -t 0 >>"$E2E_LOG" 2>&1 || true
	pm rmi -af >>"$E2E_LOG" 2>&1 || true
}

# unmount everything below $T, deepest first
umount_private() {
	local m
	[ -n "$T" ] || return 0
	for _ in 1 2 3; do
		mapfile -t mnts < <(awk -v t="$T" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
		[ ${#mnts[@]} -eq 0 ] && return 0
		for m in "${mnts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	done
}

# cgroup v1 hierarchies (or the v2 root) where podman's cgroupfs parent lives
cgroup_roots() {
	if [ -d /sys/fs/cgroup/memory ]; then
		for d in /sys/fs/cgroup/*/; do [ -L "${d%/}" ] || echo "${d%/}"; done
	else echo /sys/fs/cgroup; fi
}
# podman creates libpod_parent (and libpod_parent/conmon) and never removes them: if this run
# created them, remove them again (rmdir only succeeds on empty cgroups).
HAD_LIBPOD_PARENT=""
for r in $(cgroup_roots); do [ -d "$r/libpod_parent" ] && HAD_LIBPOD_PARENT=1; done
rm_libpod_parent() {
	[ -n "$HAD_LIBPOD_PARENT" ] && return 0
	local r
	for r in $(cgroup_roots); do
		[ -d "$r/libpod_parent/conmon" ] && rmdir "$r/libpod_parent/conmon" 2>/dev/null
		[ -d "$r/libpod_parent" ] && rmdir "$r/libpod_parent" 2>/dev/null
	done
	return 0
}

on_exit() {
	local rc=$? f r pid
	cleanup_podman
	# podman passes no --root: the runtime's default state root is used. If
	# this run made it, it goes too (runtime caches such as skiff's compiled
	# seccomp filters in .cache included; container state dirs never: those
	# are a leak the checks report).
	if [ -n "${RT_ROOT_MADE:-}" ] && [ -d "$RT_ROOT_MADE" ]; then
		rm -rf --one-file-system "$RT_ROOT_MADE/.cache"
		rmdir "$RT_ROOT_MADE" 2>/dev/null || true
	fi
	# if podman could not remove a container, kill its processes (this run started them)
	for f in "${T:-/nonexistent}"/cids/* "${T:-/nonexistent}"/cids-nostart/*; do
		[ -e "$f" ] || continue
		for r in $(cgroup_roots); do
			while read -r pid; do
				kill -9 "$pid" 2>/dev/null || true
			done < <(cat "$r/libpod_parent/libpod-$(cat "$f")/cgroup.procs" 2>/dev/null)
		done
	done
	umount_private
	rm_libpod_parent
	# kill only what this run started: processes whose argv names the private directory
	if [ -n "$T" ]; then
		local pid
		for pid in $(pids_in_T); do kill -9 "$pid" 2>/dev/null || true; done
		if [ -n "${E2E_KEEP:-}" ]; then echo "kept $T (E2E_KEEP)" >&2
		else rm -rf "$T" 2>/dev/null || { sleep 1; umount_private; rm -rf "$T" || true; }; fi
	fi
	exit $rc
}
RT_ROOT_MADE=""
[ -e "/run/$RTNAME" ] || RT_ROOT_MADE=/run/$RTNAME
trap on_exit EXIT
trap 'exit 130' INT TERM

# processes (not this shell) whose command line mentions $T: conmon, podman, the wrapper
pids_in_T() {
	local d pid cmd
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = $$ ] || [ "$pid" = "${BASHPID:-}" ] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
		case $cmd in *"$T"*) echo "$pid" ;; esac
	done
}

# ---------------------------------------------------------------------------------------------
# The image: busybox-static with its applet links, a user 1000, imported into private storage.
build_image() {
	local r=$T/rootfs a
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root,home/user,data,var/tmp,run}
	chmod 1777 "$r/tmp" "$r/var/tmp"
	cp /bin/busybox "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list); do
		[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n' >"$r/etc/group"
	chown 1000:1000 "$r/home/user"
	# content under the directories podman covers with tmpcopyup tmpfs mounts (--read-only)
	mkdir -p "$r/var/tmp/sub"
	echo from-image >"$r/var/tmp/sub/file"
	ln -s sub/file "$r/var/tmp/link"
	tar -C "$r" --numeric-owner -cf "$T/rootfs.tar" .
	pm import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
		"$T/rootfs.tar" "$IMAGE" >>"$E2E_LOG" 2>&1
}

# ---------------------------------------------------------------------------------------------
# Checks. Each one prints exactly one PASS/FAIL (or N/A) line.

t_run_output() {
	fg_run run-output --rm "$IMAGE" echo hello-from-container
	if [ $RC -eq 0 ] && [ "$OUT" = hello-from-container ]; then pass run-output
	else fail run-output "rc=$RC out='$OUT' $(first "$ERRF")"; fi
}

t_exit_code() {
	fg_run exit-code --rm "$IMAGE" sh -c 'exit 3'
	if [ $RC -eq 3 ]; then pass exit-code
	else fail exit-code "expected 3, got rc=$RC $(first "$ERRF")"; fi
}

t_env_workdir() {
	# shellcheck disable=SC2016 # expanded by the container's shell
	fg_run env-workdir --rm -e E2E_FOO=bar-baz -w /tmp "$IMAGE" sh -c 'echo "$E2E_FOO"; pwd'
	if [ $RC -eq 0 ] && [ "$OUT" = $'bar-baz\n/tmp' ]; then pass env-workdir
	else fail env-workdir "rc=$RC out='$OUT' $(first "$ERRF")"; fi
}

t_user() {
	fg_run user --rm --user 1000:1000 "$IMAGE" id
	if [ $RC -eq 0 ] && [[ $OUT == *"uid=1000"*"gid=1000"* ]] && [[ $OUT != *"uid=0"* ]]; then pass user
	else fail user "rc=$RC out='$OUT' $(first "$ERRF")"; fi
}

# --read-only: / is read-only; /tmp, /var/tmp, /run are tmpfs mounts with podman's (runc's)
# "tmpcopyup" extension, so what the image has there is copied up (symlinks stay symlinks)
t_read_only() {
	fg_run read-only --rm --read-only "$IMAGE" sh -c 'if touch /rootfile 2>/dev/null; then echo WRITABLE; else echo ro; fi
		touch /tmp/ok && echo tmp-ok; cat /var/tmp/link; stat -c %a /tmp; grep -c " /var/tmp tmpfs " /proc/mounts'
	if [ $RC -eq 0 ] && [ "$OUT" = $'ro\ntmp-ok\nfrom-image\n1777\n1' ]; then pass read-only
	else fail read-only "rc=$RC out='$(printf '%s' "$OUT" | tr '\n' ' ')' (want ro tmp-ok from-image 1777 1) $(first "$ERRF")"; fi
}

# cgroup_limit NAME CTRL FILE WANT OPTS...: value seen inside and on the host
cgroup_limit() {
	local name=$1 ctrl=$2 file=$3 want=$4 pid inside host hf
	shift 4
	if ! detach "$name" "$@" "$IMAGE" sleep 600; then
		fail "$name" "run -d: $(first "$ERRF")"
		return
	fi
	pid=$(pm inspect --format '{{.State.Pid}}' "$name" 2>/dev/null || echo 0)
	p "$name-exec" exec "$name" cat "/sys/fs/cgroup/$ctrl/$file"
	inside=$OUT
	hf=$(host_cgroup_file "$pid" "$ctrl" "$file" 2>/dev/null || echo "?")
	host=$(cat "$hf" 2>/dev/null || echo "missing:$hf")
	log "  $name: inside=$inside host=$host ($hf)"
	if [ "$inside" = "$want" ] && [ "$host" = "$want" ]; then pass "$name"
	else fail "$name" "want $want, inside '$inside' $(first "$ERRF"), host $hf='$host'"; fi
	pm rm -f -t 0 "$name" >>"$E2E_LOG" 2>&1 || true
}

t_memory() { cgroup_limit memory memory memory.limit_in_bytes 67108864 --memory 64m; }
t_pids() { cgroup_limit pids-limit pids pids.max 20 --pids-limit 20; }

t_detach_exec_stop_rm() {
	local n=lifecycle why=""
	if ! detach $n "$IMAGE" sleep 600; then fail $n "run -d: $(first "$ERRF")"; return; fi
	[ "$(state_of $n)" = running ] || why+="not running after run -d ($(state_of $n)); "
	p $n-exec exec $n sh -c 'echo exec-ok; echo $$'
	[[ $OUT == exec-ok* ]] || why+="exec: rc=$RC '$OUT' $(first "$ERRF"); "
	p $n-exec-rc exec $n sh -c 'exit 7'
	[ $RC -eq 7 ] || why+="exec exit code $RC, want 7; "
	p $n-stop stop -t 1 $n
	[ $RC -eq 0 ] || why+="stop: rc=$RC $(first "$ERRF"); "
	[ "$(state_of $n)" = exited ] || why+="state after stop: $(state_of $n); "
	p $n-rm rm $n
	[ $RC -eq 0 ] || why+="rm: rc=$RC $(first "$ERRF"); "
	pm container exists $n 2>/dev/null && why+="container still exists after rm; "
	if [ -z "$why" ]; then pass detach-exec-stop-rm; else fail detach-exec-stop-rm "$why"; fi
}

# conmon sends the same process JSON for the same command: skiff's first exec
# of it saves the exec template, the next ones run without a Go runtime in
# either of their processes (init/execparent.h).
t_exec_again() {
	local n=exec-again why="" i f roads=""
	if ! detach $n "$IMAGE" sleep 600; then fail $n "run -d: $(first "$ERRF")"; return; fi
	rm -f "$T"/exec-trace.*
	: >"$T/trace-exec"
	for i in 1 2 3; do
		p $n-$i exec $n sh -c 'echo again; exit 4'
		[ $RC -eq 4 ] && [ "$OUT" = again ] || why+="exec $i: rc=$RC '$OUT' $(first "$ERRF"); "
	done
	rm -f "$T/trace-exec"
	for f in $(ls -tr "$T"/exec-trace.* 2>/dev/null); do
		if grep -q '^init .* @' "$f"; then roads+=" go"; else roads+=" c"; fi
	done
	[ "$roads" = " go c c" ] || why+="roads of the three execs:$roads (want go c c); "
	p $n-rm rm -f -t 0 $n
	if [ -z "$why" ]; then pass exec-again; else fail exec-again "$why"; fi
}

t_kill_signal() {
	local n=kill-signal why="" i
	mkdir -p "$T/vol/kill"
	# shellcheck disable=SC2016
	if ! detach $n -v "$T/vol/kill:/data" "$IMAGE" sh -c \
		'trap "echo got-usr1 > /data/usr1" USR1; touch /data/ready; while :; do sleep 0.1; done'; then
		fail kill-signal "run -d: $(first "$ERRF")"
		return
	fi
	for ((i = 0; i < 100; i++)); do [ -e "$T/vol/kill/ready" ] && break; sleep 0.1; done
	[ -e "$T/vol/kill/ready" ] || why+="trap never installed; "
	p $n-usr1 kill -s USR1 $n
	[ $RC -eq 0 ] || why+="kill -s USR1: rc=$RC $(first "$ERRF"); "
	for ((i = 0; i < 100; i++)); do [ -e "$T/vol/kill/usr1" ] && break; sleep 0.1; done
	[ "$(cat "$T/vol/kill/usr1" 2>/dev/null)" = got-usr1 ] || why+="USR1 marker not written; "
	[ "$(state_of $n)" = running ] || why+="not running after USR1; "
	p $n-kill kill -s KILL $n
	[ $RC -eq 0 ] || why+="kill -s KILL: rc=$RC $(first "$ERRF"); "
	wait_state $n exited || why+="state after SIGKILL: $(state_of $n); "
	local code
	code=$(pm inspect --format '{{.State.ExitCode}}' $n 2>/dev/null || echo "?")
	[ "$code" = 137 ] || why+="exit code after SIGKILL $code, want 137; "
	pm rm -f -t 0 $n >>"$E2E_LOG" 2>&1 || why+="rm failed; "
	if [ -z "$why" ]; then pass kill-signal; else fail kill-signal "$why"; fi
}

t_pause_unpause() {
	local n=pause why=""
	if ! detach $n "$IMAGE" sleep 600; then fail pause-unpause "run -d: $(first "$ERRF")"; return; fi
	p $n-pause pause $n
	[ $RC -eq 0 ] || why+="pause: rc=$RC $(first "$ERRF"); "
	[ "$(state_of $n)" = paused ] || why+="status after pause: $(state_of $n); "
	local pid st
	pid=$(pm inspect --format '{{.State.Pid}}' $n 2>/dev/null || echo 0)
	st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo "?")
	[ "$st" = D ] || [ "$st" = S ] || why+="init state '$st' while paused; "
	fz=$(cat "$(host_cgroup_file "$pid" freezer freezer.state)" 2>/dev/null || echo "?")
	[ "$fz" = FROZEN ] || [ "$fz" = "?" ] || why+="freezer.state '$fz'; "
	p $n-unpause unpause $n
	[ $RC -eq 0 ] || why+="unpause: rc=$RC $(first "$ERRF"); "
	[ "$(state_of $n)" = running ] || why+="status after unpause: $(state_of $n); "
	p $n-exec exec $n true
	[ $RC -eq 0 ] || why+="exec after unpause: rc=$RC $(first "$ERRF"); "
	pm rm -f -t 0 $n >>"$E2E_LOG" 2>&1 || why+="rm -f failed; "
	if [ -z "$why" ]; then pass pause-unpause; else fail pause-unpause "$why"; fi
}

t_top() {
	local n=top
	if ! detach $n "$IMAGE" sleep 600; then fail top "run -d: $(first "$ERRF")"; return; fi
	p $n-top top $n
	if [ $RC -eq 0 ] && [[ $OUT == *"sleep 600"* ]]; then pass top
	else fail top "rc=$RC out='$OUT' $(first "$ERRF")"; fi
	pm rm -f -t 0 $n >>"$E2E_LOG" 2>&1 || true
}

# in_pty NAME SHELL-COMMAND: run a command line under script(1), i.e. on a real pty of size
# 33x111; sets OUT (\r stripped) and RC.
in_pty() {
	local n=$1 cmd=$2 spid
	log "+ script: $cmd"
	# script's stdin must stay open (at EOF script ends the session and output can be lost):
	# a fifo held open by a sleep that is killed afterwards
	rm -f "$T/tty.in" && mkfifo "$T/tty.in"
	sleep $((CMD_TIMEOUT + 10)) >"$T/tty.in" &
	spid=$!
	RC=0
	ERRF=$T/err/$n
	timeout -k 5 "$CMD_TIMEOUT" script -qec "stty rows 33 cols 111; $cmd" /dev/null \
		<"$T/tty.in" >"$T/err/$n.out" 2>"$ERRF" || RC=$?
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	OUT=$(tr -d '\r' <"$T/err/$n.out")
	log "  rc=$RC out=$OUT"
}

TTYN=0
t_tty() {
	local n=tty why=""
	TTYN=$((TTYN + 1))
	[ $TTYN -gt 1 ] && n=tty$TTYN
	in_pty $n "$PODMAN_STR run -it --rm --name $n --cidfile $T/cids/$n --network none $IMAGE sh -c 'tty; stty size; test -t 0 && echo stdin-tty'"
	[ $RC -eq 0 ] && [[ $OUT == *"/dev/pts/0"*"33 111"*"stdin-tty"* ]] ||
		why+="run -it: rc=$RC out='$(printf '%s' "$OUT" | tr '\n' ' ')' $(first "$ERRF"); "
	# exec -it: conmon hands skiff exec a --console-socket
	if detach $n-exec "$IMAGE" sleep 600; then
		in_pty $n-exec-it "$PODMAN_STR exec -it $n-exec sh -c 'tty; stty size; test -t 0 && echo stdin-tty; exit 4'"
		[ $RC -eq 4 ] && [[ $OUT == *"/dev/pts/"*"33 111"*"stdin-tty"* ]] ||
			why+="exec -it: rc=$RC (want 4) out='$(printf '%s' "$OUT" | tr '\n' ' ')' $(first "$ERRF"); "
		pm rm -f -t 0 $n-exec >>"$E2E_LOG" 2>&1 || true
	else
		why+="run -d: $(first "$ERRF"); "
	fi
	if [ -z "$why" ]; then pass tty; else fail tty "$why"; fi
}

# podman maps the runtime's error text to 127 ("executable file not found in", "no such file
# or directory"), reading it from the --log JSON: the wording and the log shape are contract
t_not_found() {
	local n=not-found why=""
	fg_run $n --rm "$IMAGE" /no/such/binary
	[ $RC -eq 127 ] || why+="run: rc=$RC (want 127) $(first "$ERRF"); "
	fg_run $n-path --rm "$IMAGE" no-such-command
	[ $RC -eq 127 ] || why+="run (PATH lookup): rc=$RC (want 127) $(first "$ERRF"); "
	# these two were created and deleted, never started
	mv "$T/cids/$n" "$T/cids/$n-path" "$T/cids-nostart/" 2>/dev/null || true
	if detach $n-exec "$IMAGE" sleep 600; then
		p $n-exec-cmd exec $n-exec no-such-command
		[ $RC -eq 127 ] || why+="exec: rc=$RC (want 127) $(first "$ERRF"); "
		pm rm -f -t 0 $n-exec >>"$E2E_LOG" 2>&1 || true
	else
		why+="run -d: $(first "$ERRF"); "
	fi
	if [ -z "$why" ]; then pass cmd-not-found-127; else fail cmd-not-found-127 "$why"; fi
}

t_caps() {
	local base want got why=""
	# CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT SETFCAP
	base=$(((1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 18) | (1 << 31)))
	fg_run caps-default --rm "$IMAGE" sh -c 'grep ^CapEff: /proc/self/status'
	got=${OUT##*:}
	got=${got//[[:space:]]/}
	[ -n "$got" ] && [ $((16#$got)) -eq $base ] || why+="default CapEff '$got' want $(printf '%016x' $base) $(first "$ERRF"); "
	# add NET_ADMIN (12), drop CHOWN (0)
	want=$(((base | (1 << 12)) & ~1))
	fg_run caps-adddrop --rm --cap-add NET_ADMIN --cap-drop CHOWN "$IMAGE" sh -c 'grep ^CapEff: /proc/self/status'
	got=${OUT##*:}
	got=${got//[[:space:]]/}
	[ -n "$got" ] && [ $((16#$got)) -eq $want ] || why+="cap-add/drop CapEff '$got' want $(printf '%016x' $want) $(first "$ERRF"); "
	if [ -z "$why" ]; then pass cap-add-drop; else fail cap-add-drop "$why"; fi
}

t_seccomp() {
	local why=""
	fg_run seccomp --rm "$IMAGE" sh -c 'grep ^Seccomp: /proc/self/status'
	[ "$OUT" = $'Seccomp:\t2' ] || why+="default profile: rc=$RC '$OUT' $(first "$ERRF"); "
	# the default profile must also actually deny something: unshare of a user ns needs SYS_ADMIN... keyctl is blocked
	fg_run seccomp-unconfined --rm --security-opt seccomp=unconfined "$IMAGE" sh -c 'grep ^Seccomp: /proc/self/status'
	[ "$OUT" = $'Seccomp:\t0' ] || why+="seccomp=unconfined: rc=$RC '$OUT' $(first "$ERRF"); "
	if [ -z "$why" ]; then pass seccomp-default; else fail seccomp-default "$why"; fi
}

t_volume() {
	mkdir -p "$T/vol/bind"
	echo from-host >"$T/vol/bind/in"
	fg_run volume --rm -v "$T/vol/bind:/data" "$IMAGE" sh -c 'cat /data/in; echo from-container > /data/out'
	if [ $RC -eq 0 ] && [ "$OUT" = from-host ] && [ "$(cat "$T/vol/bind/out" 2>/dev/null)" = from-container ]; then pass bind-volume
	else fail bind-volume "rc=$RC out='$OUT' host sees '$(cat "$T/vol/bind/out" 2>/dev/null)' $(first "$ERRF")"; fi
}

t_hostname() {
	fg_run hostname --rm --hostname e2e-host.example "$IMAGE" hostname
	if [ $RC -eq 0 ] && [ "$OUT" = e2e-host.example ]; then pass hostname
	else fail hostname "rc=$RC out='$OUT' $(first "$ERRF")"; fi
}

t_update() {
	local n=update why=""
	if ! pm update --help >/dev/null 2>&1; then
		na update "podman $(podman --version) has no 'podman update'"
		return
	fi
	if ! detach $n --memory 64m "$IMAGE" sleep 600; then fail update "run -d: $(first "$ERRF")"; return; fi
	p $n-update update --memory 128m $n
	[ $RC -eq 0 ] || why+="podman update: rc=$RC $(first "$ERRF"); "
	p $n-read exec $n cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	[ "$OUT" = 134217728 ] || why+="memory.limit_in_bytes after update '$OUT', want 134217728; "
	grep -q "update .*$(cat "$T/cids/$n" 2>/dev/null || echo none)" "$RTLOG" || why+="runtime update verb not called; "
	pm rm -f -t 0 $n >>"$E2E_LOG" 2>&1 || true
	if [ -z "$why" ]; then pass update; else fail update "$why"; fi
}

t_init() {
	local n=init why="" pid want gotid
	if ! detach $n --init "$IMAGE" sleep 600; then fail init "run -d: $(first "$ERRF")"; return; fi
	pid=$(pm inspect --format '{{.State.Pid}}' $n 2>/dev/null || echo 0)
	want=$(stat -Lc '%d:%i' "$INIT_PATH")
	gotid=$(stat -Lc '%d:%i' "/proc/$pid/exe" 2>/dev/null || echo "?")
	[ "$want" = "$gotid" ] || why+="host pid $pid exe is $gotid, catatonit is $want; "
	p $n-cmdline exec $n sh -c "tr '\\0' ' ' </proc/1/cmdline"
	[[ $OUT == *"podman-init -- sleep 600"* ]] || why+="pid 1 cmdline '$OUT'; "
	p $n-pidof exec $n pidof sleep
	[ -n "$OUT" ] && [ "$OUT" != 1 ] || why+="sleep pid '$OUT' (want not 1); "
	pm rm -f -t 0 $n >>"$E2E_LOG" 2>&1 || true
	if [ -z "$why" ]; then pass init; else fail init "$why"; fi
}

t_oom() {
	local n=oom oomk
	fg_run $n --memory 32m "$IMAGE" sh -c 'tail /dev/zero'
	oomk=$(pm inspect --format '{{.State.OOMKilled}}' $n 2>/dev/null || echo "?")
	log "  OOMKilled=$oomk"
	if [ $RC -eq 137 ]; then pass oom-137
	else fail oom-137 "rc=$RC (want 137) OOMKilled=$oomk $(first "$ERRF")"; fi
	pm rm -f -t 0 $n >>"$E2E_LOG" 2>&1 || true
}

# every container went through the wrapper: create, start, delete with its id
t_runtime_log() {
	local f id name missing="" n=0 verbs
	for f in "$T"/cids/* "$T"/cids-nostart/*; do
		[ -e "$f" ] || continue
		id=$(cat "$f")
		name=${f##*/}
		n=$((n + 1))
		local want="create start delete"
		[[ $f == */cids-nostart/* ]] && want="create delete"
		# verb = first argv word that is a known verb; id = last word
		verbs=$(awk -v id="$id" '$NF == id || $(NF-1) == id {
			for (i = 1; i <= NF; i++) if ($i ~ /^(create|start|delete|kill|exec|pause|resume|update|state)$/) { print $i; break } }' "$RTLOG" | sort -u | tr '\n' ' ')
		for v in $want; do
			[[ " $verbs" == *" $v "* ]] || missing+="$name($v) "
		done
	done
	# podman passes --log-format=json only to runtimes named in runtime_supports_json
	grep -q -- '--log-format=json .*create ' "$RTLOG" || missing+="create without --log-format=json "
	if [ $n -eq 0 ]; then fail runtime-log "no container ids recorded"
	elif [ -z "$missing" ]; then pass runtime-log; log "  $n containers: create/start/delete through $RTNAME"
	else fail runtime-log "missing verbs: $missing"; fi
}

# ---------------------------------------------------------------------------------------------
# Leak checks, after podman removed everything.
leak_checks() {
	local ids=() f why="" m
	for f in "$T"/cids/* "$T"/cids-nostart/*; do [ -e "$f" ] && ids+=("$(cat "$f")"); done

	p ps-after ps -aq
	if [ -z "$OUT" ]; then pass no-leaked-containers; else fail no-leaked-containers "podman ps -a: $OUT"; fi

	# mounts: only the storage driver's own home may remain until we unmount it
	m=$(awk -v t="$T" '(index($5, t "/") == 1 || $5 == t) && $5 != t "/root/overlay" { print $5 }' /proc/self/mountinfo)
	for id in "${ids[@]}"; do m+=$(grep -F "$id" /proc/self/mountinfo | awk '{print " " $5}' || true); done
	if [ -z "$m" ]; then pass no-leaked-mounts; else fail no-leaked-mounts "$(echo "$m" | tr '\n' ' ')"; fi

	why=""
	for id in "${ids[@]}"; do
		for d in /sys/fs/cgroup/*/libpod_parent/libpod-"$id"* /sys/fs/cgroup/libpod_parent/libpod-"$id"* \
			/sys/fs/cgroup/*/libpod_parent/*/libpod-"$id"*; do
			[ -e "$d" ] && why+="$d "
		done
	done
	if [ -z "$why" ]; then pass no-leaked-cgroups; else fail no-leaked-cgroups "$why"; fi

	why=""
	sleep 0.5
	local pid
	for pid in $(pids_in_T); do why+="$pid:$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | head -c 120); "; done
	for d in /proc/[0-9]*; do
		for id in "${ids[@]}"; do
			grep -qsF "$id" "$d/cgroup" && why+="${d#/proc/}(in cgroup of $id) "
		done
	done
	if [ -z "$why" ]; then pass no-leaked-processes; else fail no-leaked-processes "$why"; fi

	why=""
	for id in "${ids[@]}"; do
		if "$RUNTIME" state "$id" >/dev/null 2>&1; then why+="$id "; fi
	done
	if [ -z "$why" ]; then pass no-leaked-runtime-state; else fail no-leaked-runtime-state "$RTNAME state still knows: $why"; fi

	local dn
	dn=$(stat -c '%F %t:%T %a %u:%g' /dev/null)
	if [ "$dn" = "character special file 1:3 666 0:0" ]; then pass host-dev-null
	else fail host-dev-null "host /dev/null is now: $dn"; fi
}

# ---------------------------------------------------------------------------------------------
say "podman e2e: runtime $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -1)), $(podman --version), conmon $("$CONMON" --version 2>/dev/null | head -1 | awk '{print $3}'), dir $T"
if ! build_image; then
	fail image-import "podman import failed: $(tail -3 "$E2E_LOG" | tr '\n' ' ')"
	say "$PASSED passed, $FAILED failed"
	exit 1
fi

TESTS=(run_output exit_code env_workdir user read_only memory pids detach_exec_stop_rm exec_again kill_signal
	pause_unpause top tty caps seccomp volume hostname update init oom not_found)
# E2E_ONLY="tty caps" runs a subset (names without the t_ prefix)
for t in ${E2E_ONLY:-${TESTS[*]}}; do "t_$t"; done

cleanup_podman
t_runtime_log
leak_checks
umount_private
if awk -v t="$T" 'index($5, t) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
	say "note: could not unmount everything under $T"
fi

say "time: $(($(date +%s) - START_TIME))s (log: $E2E_LOG)"
say "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
