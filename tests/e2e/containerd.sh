#!/usr/bin/env bash
# End-to-end test: containerd 1.6 with the io.containerd.runc.v2 shim using
# skiff as its BinaryName (what a Kubernetes RuntimeClass selects).
#
#   RUNTIME=/path/to/runtime tests/e2e/containerd.sh     (default: <repo>/skiff)
#
# Runs as root. Starts a private containerd (own config, root, state, socket,
# cri plugin disabled), imports a busybox image built here by hand as an OCI
# image layout, runs the checklist through `ctr`, prints one "PASS name" or
# "FAIL name: reason" line per check and, last, "N passed, M failed".
# Every runtime call goes through a wrapper that logs its argv, so the test
# proves each container was created, started and deleted by $RUNTIME.
# Nothing is left behind: containers, tasks, images, snapshots, mounts,
# cgroups, shims, the daemon and its directories are removed.
# E2E_LOGS=dir keeps a copy of the daemon and runtime logs there.

set -u -o pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNTIME=${RUNTIME:-$REPO/skiff}
case $RUNTIME in */*) ;; *) RUNTIME=$(command -v "$RUNTIME" || echo "$RUNTIME") ;; esac # RUNTIME=runc
E2E_NAME=containerd
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"

# ---------------------------------------------------------------- prerequisites
missing=""
for c in containerd ctr containerd-shim-runc-v2 jq sha256sum script tar timeout; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -x /bin/busybox ] || missing="$missing /bin/busybox(busybox-static)"
if [ "$(id -u)" != 0 ]; then fail setup "must run as root"; finish; fi
if [ -n "$missing" ]; then fail setup "missing:$missing"; finish; fi
if [ ! -x "$RUNTIME" ]; then fail setup "RUNTIME=$RUNTIME is not an executable (run make skiff)"; finish; fi
RUNTIME=$(readlink -f "$RUNTIME")

T=$(mktemp -d /tmp/skiff-e2e-ctrd.XXXXXX) || { fail setup "mktemp"; finish; }
chmod 0711 "$T"
SUFFIX=$(basename "$T" | sed 's/.*\.//' | tr 'A-Z' 'a-z' | tr -dc 'a-z0-9')
NS=skiff-e2e-$SUFFIX             # containerd namespace; also the cgroup parent (/NS/ID)
SOCK=$T/containerd.sock
RUNC_ROOT=$T/runc-root            # the shim passes --root $RUNC_ROOT/$NS
WRAP=$T/bin/runtime-wrapper
CALLS=$T/runtime-calls.log
IMG=docker.io/library/skiff-e2e-busybox:latest
CTRD_PID=""
mkdir -p "$T/bin" "$T/root" "$T/state" "$T/opt" "$T/fifo" "$T/logs" "$RUNC_ROOT"
: >"$CALLS"
: >"$T/containers"
ls /run/containerd/s 2>/dev/null | sort >"$T/shim-sockets.before"
# The shim puts its socket in /run/containerd/s whatever the daemon's config
# says: remove those directories at the end if this test created them.
RUN_DIRS_CREATED=""
for d in /run/containerd /run/containerd/s /run/containerd/runc; do [ -e "$d" ] || RUN_DIRS_CREATED="$d $RUN_DIRS_CREATED"; done

CTR() { timeout 60 ctr --address "$SOCK" --namespace "$NS" "$@"; }
RUNOPTS=(--runtime io.containerd.runc.v2 --runc-binary "$WRAP" --runc-root "$RUNC_ROOT" --fifo-dir "$T/fifo")
# Records the container so the leak/wrapper checks know about it.
track() { echo "$1" >>"$T/containers"; }
task_field() { CTR task ls 2>/dev/null | awk -v id="$1" -v f="$2" '$1 == id { print $f }'; }
wait_status() { # id status seconds
	local i
	for i in $(seq $((${3:-10} * 10))); do
		[ "$(task_field "$1" 3)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "task $1 is $(task_field "$1" 3), not $2 after ${3:-10}s"
	return 1
}

cleanup() {
	trap - EXIT INT TERM
	local id pid i
	if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
		for id in $(CTR task ls -q 2>/dev/null); do CTR task delete -f "$id" >/dev/null 2>&1; done
		for id in $(CTR container ls -q 2>/dev/null); do CTR container delete "$id" >/dev/null 2>&1; done
		CTR images rm "$IMG" >/dev/null 2>&1
		timeout 20 ctr --address "$SOCK" namespaces rm "$NS" >/dev/null 2>&1
		kill -TERM "$CTRD_PID" 2>/dev/null
		for i in $(seq 100); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$CTRD_PID" 2>/dev/null
		wait "$CTRD_PID" 2>/dev/null
	fi
	# Shims of this daemon (they carry -address $SOCK) and anything else still
	# running from our directory: only processes this test started.
	for pid in $(ps -eo pid=,args= | awk -v s="$T" 'index($0, s) && !/awk/ { print $1 }'); do
		[ "$pid" = $$ ] || kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "${E2E_LOGS:-}" ]; then
		mkdir -p "$E2E_LOGS" && cp "$T/containerd.log" "$CALLS" "$E2E_LOGS/" 2>/dev/null
		cp -r "$T/logs" "$E2E_LOGS/" 2>/dev/null
	fi
	# Mounts below $T, deepest first.
	awk -v s="$T" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	# cgroups under /NS in every hierarchy, deepest first.
	find /sys/fs/cgroup -depth -type d -path "*/$NS*" -exec rmdir {} \; 2>/dev/null
	rm -rf --one-file-system "$T"
	rm -rf --one-file-system "/run/containerd/runc/$NS"
	for d in $RUN_DIRS_CREATED; do rmdir "$d" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- wrapper
cat >"$WRAP" <<EOF
#!/bin/sh
# BinaryName of the shim: log argv (one write, O_APPEND), then become the runtime.
printf '%s\n' "\$*" >>'$CALLS'
# t_exec_again: which road an exec takes (a Go runtime prints inittrace lines).
if [ -e '$T/trace-exec' ]; then
	case " \$* " in *" exec "*) GODEBUG=inittrace=1 exec '$RUNTIME' "\$@" 2>>"$T/exec-trace.\$\$" ;; esac
fi
exec '$RUNTIME' "\$@"
EOF
chmod 0755 "$WRAP"

# ---------------------------------------------------------------- image
# A busybox root filesystem packed by hand as an OCI image layout tarball.
build_image() {
	local r=$T/rootfs o=$T/oci arch layer lsize cfg csize man msize a
	case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
	mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev,run,root,home/user,var} "$o/blobs/sha256" || return 1
	cp /bin/busybox "$r/bin/busybox" || return 1
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n' >"$r/etc/group"
	chmod 1777 "$r/tmp"
	chown 1000:1000 "$r/home/user"
	tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$r" -cf "$T/layer.tar" . || return 1
	layer=$(sha256sum "$T/layer.tar" | cut -d' ' -f1)
	lsize=$(stat -c %s "$T/layer.tar")
	mv "$T/layer.tar" "$o/blobs/sha256/$layer"
	jq -cn --arg arch "$arch" --arg l "sha256:$layer" '{architecture: $arch, os: "linux",
		config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"], WorkingDir: "/"},
		rootfs: {type: "layers", diff_ids: [$l]}, history: [{created_by: "skiff e2e: busybox-static"}]}' >"$T/config.json"
	cfg=$(sha256sum "$T/config.json" | cut -d' ' -f1)
	csize=$(stat -c %s "$T/config.json")
	mv "$T/config.json" "$o/blobs/sha256/$cfg"
	jq -cn --arg c "sha256:$cfg" --argjson cs "$csize" --arg l "sha256:$layer" --argjson ls "$lsize" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' >"$T/manifest.json"
	man=$(sha256sum "$T/manifest.json" | cut -d' ' -f1)
	msize=$(stat -c %s "$T/manifest.json")
	mv "$T/manifest.json" "$o/blobs/sha256/$man"
	jq -cn --arg m "sha256:$man" --argjson ms "$msize" --arg arch "$arch" --arg name "$IMG" '{schemaVersion: 2,
		manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
			platform: {architecture: $arch, os: "linux"},
			annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": "latest"}}]}' >"$o/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$o/oci-layout"
	tar --numeric-owner --owner=0 --group=0 -C "$o" -cf "$T/image.tar" oci-layout index.json blobs || return 1
	rm -rf "$o" # $r stays: the user-namespace check runs a spec of its own on it
}

# ---------------------------------------------------------------- daemon
cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$T/debug.sock"
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
EOF

start_daemon() {
	local i
	containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
	CTRD_PID=$!
	for i in $(seq 200); do
		timeout 5 ctr --address "$SOCK" version >/dev/null 2>&1 && return 0
		kill -0 "$CTRD_PID" 2>/dev/null || { echo "containerd exited: $(tail -5 "$T/containerd.log")"; return 1; }
		sleep 0.1
	done
	echo "containerd did not answer on $SOCK within 20s"
	return 1
}

# ---------------------------------------------------------------- checks
t_image() {
	build_image || { echo "building the OCI image failed"; return 1; }
	CTR images import "$T/image.tar" || return 1
	rm -f "$T/image.tar"
	CTR images ls -q | grep -xF "$IMG" >/dev/null || { echo "image $IMG not listed after import"; return 1; }
}

t_run_output() {
	local out rc
	track c-run
	out=$(CTR run "${RUNOPTS[@]}" "$IMG" c-run sh -c 'echo hello-from-$(cat /proc/1/comm); id -u' 2>&1)
	rc=$?
	[ $rc -eq 0 ] || { echo "ctr run exit $rc: $out"; return 1; }
	[ "$out" = "$(printf 'hello-from-sh\n0')" ] || { echo "unexpected output: $out"; return 1; }
}

t_exit_status() {
	local out rc
	track c-exit
	out=$(CTR run "${RUNOPTS[@]}" "$IMG" c-exit sh -c 'exit 7' 2>&1)
	rc=$?
	[ $rc -eq 7 ] || { echo "exit status $rc, want 7: $out"; return 1; }
}

# A workload that exits at once must not make start fail (the runtime must
# not look at the init after releasing it).
t_short_lived() {
	local i out rc bad=""
	for i in $(seq 10); do
		track c-short$i
		out=$(CTR run "${RUNOPTS[@]}" "$IMG" c-short$i true 2>&1)
		rc=$?
		[ $rc -eq 0 ] || bad="$bad #$i: exit $rc: $out;"
	done
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

t_env_cwd() {
	local out rc
	track c-env
	out=$(CTR run "${RUNOPTS[@]}" --env FOO=bar,baz --cwd /tmp "$IMG" c-env sh -c 'echo "$FOO $(pwd) $HOME"' 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "bar,baz /tmp /root" ] || { echo "exit $rc, output: $out"; return 1; }
}

t_detached() {
	local out i
	track c-det
	out=$(CTR run -d "${RUNOPTS[@]}" --log-uri "file://$T/logs/c-det.log" "$IMG" c-det \
		sh -c 'trap "echo got-term; exit 42" TERM; echo started; while :; do sleep 0.2; done' 2>&1) ||
		{ echo "ctr run -d: $out"; return 1; }
	wait_status c-det RUNNING 10 || return 1
	for i in $(seq 50); do grep -q started "$T/logs/c-det.log" 2>/dev/null && return 0; sleep 0.1; done
	echo "no output in the task log: $(cat "$T/logs/c-det.log" 2>&1)"
	return 1
}

t_exec() {
	local out rc
	out=$(CTR task exec --fifo-dir "$T/fifo" --exec-id e1 c-det sh -c 'echo exec-ok $(cat /proc/1/comm); exit 3' 2>&1)
	rc=$?
	[ $rc -eq 3 ] || { echo "exec exit $rc, want 3: $out"; return 1; }
	[ "$out" = "exec-ok sh" ] || { echo "unexpected output: $out"; return 1; }
	grep -q ' exec .*--process .*c-det$' "$CALLS" || { echo "no 'exec --process ... c-det' runtime call logged"; return 1; }
}

# The shim sends the same process JSON for the same command: skiff's first
# exec of it saves the exec template, the next runs without a Go runtime in
# either of its processes (init/execparent.h).
t_exec_again() {
	local out i f roads=""
	rm -f "$T"/exec-trace.*
	: >"$T/trace-exec"
	for i in 1 2 3; do
		out=$(CTR task exec --fifo-dir "$T/fifo" --exec-id "e-again-$i" c-det sh -c 'echo again; exit 4' 2>&1)
		rc=$?
		[ $rc -eq 4 ] && [ "$out" = again ] || { rm -f "$T/trace-exec"; echo "exec $i: exit $rc: $out"; return 1; }
	done
	rm -f "$T/trace-exec"
	for f in $(ls -tr "$T"/exec-trace.* 2>/dev/null); do
		if grep -q '^init .* @' "$f"; then roads+=" go"; else roads+=" c"; fi
	done
	[ "$roads" = " go c c" ] || { echo "roads of the three execs:$roads (want go c c)"; return 1; }
}

t_exec_user() {
	local out rc
	out=$(CTR task exec --fifo-dir "$T/fifo" --exec-id e-user --user 1000 c-det id 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [[ "$out" == "uid=1000(user) gid=1000(user)"* ]] || { echo "exit $rc, output: $out"; return 1; }
}

# The tty workloads linger a moment after printing: containerd's shim can
# lose the output of a tty process that exits at once (seen with runc too,
# about 1 in 150 under load).
t_exec_tty() {
	local out rc
	out=$(timeout 60 script -qec "ctr --address '$SOCK' --namespace '$NS' task exec -t --fifo-dir '$T/fifo' --exec-id e-tty c-det sh -c 'tty; echo tty-exec-ok; sleep 0.5'" /dev/null </dev/null 2>&1)
	rc=$?
	out=$(printf '%s' "$out" | tr -d '\r')
	[ $rc -eq 0 ] || { echo "exit $rc: $out"; return 1; }
	[[ "$out" == *"/dev/pts/"*"tty-exec-ok"* ]] || { echo "unexpected output: $out"; return 1; }
}

t_ps() {
	local out pid
	pid=$(task_field c-det 2)
	out=$(CTR task ps c-det 2>&1) || { echo "ctr task ps: $out"; return 1; }
	printf '%s\n' "$out" | awk 'NR > 1 { print $1 }' | grep -xF "$pid" >/dev/null || { echo "init pid $pid not in: $out"; return 1; }
	[ "$(printf '%s\n' "$out" | awk 'NR > 1' | wc -l)" -ge 2 ] || { echo "expected init and its sleep: $out"; return 1; }
}

t_metrics() {
	local out
	out=$(CTR task metrics c-det 2>&1) || { echo "ctr task metrics: $out"; return 1; }
	for k in memory.usage_in_bytes pids.current cpuacct.usage; do
		printf '%s\n' "$out" | grep "^$k" >/dev/null || { echo "no $k in: $out"; return 1; }
	done
	# and through the runtime itself (events --stats, as go-runc's Stats does)
	out=$(timeout 30 "$WRAP" --root "$RUNC_ROOT/$NS" events --stats c-det 2>&1) || { echo "runtime events --stats: $out"; return 1; }
	printf '%s' "$out" | jq -e '.type == "stats" and .data.pids.current >= 2 and .data.memory.usage.usage > 0' >/dev/null ||
		{ echo "events --stats output lacks pids/memory: $(printf '%s' "$out" | cut -c1-300)"; return 1; }
}

# ctr task delete reports a non-zero status as a warning: "exit with non-zero exit code N".
exit_code() { case $1 in *"exit with non-zero exit code "*) printf '%s' "${1##*exit code }" | tr -dc 0-9 ;; *) echo 0 ;; esac; }


t_pause_resume() {
	local out pid fz
	pid=$(task_field c-det 2)
	out=$(CTR task pause c-det 2>&1) || { echo "pause: $out"; return 1; }
	wait_status c-det PAUSED 5 || return 1
	fz=$(cgroup_dir "$pid" freezer)
	if [ -n "$fz" ] && [ -f "$fz/freezer.state" ]; then
		[ "$(cat "$fz/freezer.state")" = FROZEN ] || { echo "$fz/freezer.state is $(cat "$fz/freezer.state")"; return 1; }
	fi
	out=$(CTR task resume c-det 2>&1) || { echo "resume: $out"; return 1; }
	wait_status c-det RUNNING 5 || return 1
	out=$(CTR task exec --fifo-dir "$T/fifo" --exec-id e-after-resume c-det echo alive 2>&1)
	[ "$out" = alive ] || { echo "exec after resume: $out"; return 1; }
}

t_kill_term() {
	local out rc
	out=$(CTR task kill -s SIGTERM c-det 2>&1) || { echo "kill: $out"; return 1; }
	wait_status c-det STOPPED 10 || return 1
	out=$(CTR task delete c-det 2>&1)
	rc=$(exit_code "$out")
	[ "$rc" = 42 ] || { echo "exit status $rc, want 42 (trap on TERM): $out"; return 1; }
	grep -q 'got-term' "$T/logs/c-det.log" || { echo "trap output missing from log"; return 1; }
}

t_kill_9() {
	local out rc
	track c-kill
	out=$(CTR run -d "${RUNOPTS[@]}" --null-io "$IMG" c-kill sleep 1000 2>&1) || { echo "run -d: $out"; return 1; }
	wait_status c-kill RUNNING 10 || return 1
	out=$(CTR task kill -s SIGKILL c-kill 2>&1) || { echo "kill: $out"; return 1; }
	wait_status c-kill STOPPED 10 || return 1
	out=$(CTR task delete c-kill 2>&1)
	rc=$(exit_code "$out")
	[ "$rc" = 137 ] || { echo "exit status $rc, want 137: $out"; return 1; }
}

t_memory_limit() {
	local out pid dir v lim=67108864
	track c-mem
	out=$(CTR run -d "${RUNOPTS[@]}" --null-io --memory-limit $lim "$IMG" c-mem sleep 1000 2>&1) || { echo "run -d: $out"; return 1; }
	wait_status c-mem RUNNING 10 || return 1
	pid=$(task_field c-mem 2)
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		dir=/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
		v=$(cat "$dir/memory.max" 2>&1)
	else
		dir=$(cgroup_dir "$pid" memory)
		v=$(cat "$dir/memory.limit_in_bytes" 2>&1)
	fi
	[ "$v" = $lim ] || { echo "memory limit in $dir is '$v', want $lim"; return 1; }
	case $dir in */$NS/c-mem) ;; *) echo "cgroup $dir is not /$NS/c-mem"; return 1 ;; esac
	out=$(CTR task metrics c-mem 2>&1)
	printf '%s\n' "$out" | grep -E "^memory.limit_in_bytes[[:space:]]+$lim[[:space:]]*$" >/dev/null || { echo "metrics do not show the limit: $out"; return 1; }
	# The shim kills and deletes a running task on "task delete --force".
	out=$(CTR task delete -f c-mem 2>&1)
	CTR task ls -q | grep -x c-mem >/dev/null && { echo "task c-mem still there after delete -f: $out"; return 1; }
	[ ! -d "$dir" ] || { echo "cgroup $dir left after delete"; return 1; }
}

t_tty() {
	local out rc
	track c-tty
	out=$(timeout 60 script -qec "ctr --address '$SOCK' --namespace '$NS' run -t ${RUNOPTS[*]} '$IMG' c-tty sh -c 'tty; stty size; echo tty-ok; sleep 0.5'" /dev/null </dev/null 2>&1)
	rc=$?
	out=$(printf '%s' "$out" | tr -d '\r')
	[ $rc -eq 0 ] || { echo "exit $rc: $out"; return 1; }
	[[ "$out" == *"/dev/pts/0"*"tty-ok"* ]] || { echo "unexpected output: $out"; return 1; }
	grep -q ' create .*--console-socket .* c-tty$' "$CALLS" || { echo "no create --console-socket call for c-tty"; return 1; }
}

# Typed input reaches the container's shell through the pty, and its status comes back.
t_tty_input() {
	local out rc
	track c-tty-in
	out=$( (sleep 1; printf 'echo typed-$((6*7))\n'; sleep 0.5; printf 'exit 3\n'; sleep 2) |
		timeout 60 script -qec "ctr --address '$SOCK' --namespace '$NS' run -t ${RUNOPTS[*]} '$IMG' c-tty-in sh" /dev/null 2>&1)
	rc=$?
	out=$(printf '%s' "$out" | tr -d '\r')
	[[ "$out" == *$'\n'typed-42* ]] || { echo "exit $rc: no typed-42 line in: $out"; return 1; }
	[ $rc -eq 3 ] || { echo "exit $rc, want 3: $out"; return 1; }
}

t_readonly() {
	local out rc
	track c-ro
	out=$(CTR run "${RUNOPTS[@]}" --read-only "$IMG" c-ro sh -c 'touch /x 2>&1; echo rc=$?' 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [[ "$out" == *"Read-only file system"*"rc=1" ]] || { echo "exit $rc, output: $out"; return 1; }
}

t_not_found() {
	local out rc
	out=$(CTR run "${RUNOPTS[@]}" "$IMG" c-nf no-such-binary 2>&1)
	rc=$?
	[ $rc -ne 0 ] && [[ "$out" == *'executable file not found in $PATH'* ]] || { echo "exit $rc: $out"; return 1; }
	# create failed, so there is no start; the shim deletes what create left
	grep -Eq " create .* c-nf\$" "$CALLS" && grep -Eq " delete( --force)? c-nf\$" "$CALLS" ||
		{ echo "no runtime create and delete calls for c-nf"; return 1; }
	track c-nf2
	out=$(CTR run -d "${RUNOPTS[@]}" --null-io "$IMG" c-nf2 sleep 100 2>&1) || { echo "run -d: $out"; return 1; }
	out=$(CTR task exec --fifo-dir "$T/fifo" --exec-id e-nf c-nf2 no-such-binary 2>&1)
	rc=$?
	[ $rc -ne 0 ] && [[ "$out" == *'executable file not found in $PATH'* ]] || { echo "exec: exit $rc: $out"; return 1; }
}

t_bind_mount() {
	local out rc
	track c-bind
	mkdir -p "$T/vol" && echo from-host >"$T/vol/in"
	out=$(CTR run "${RUNOPTS[@]}" --mount "type=bind,src=$T/vol,dst=/data,options=rbind:rw" "$IMG" c-bind \
		sh -c 'cat /data/in; echo from-ctr >/data/out' 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = from-host ] || { echo "exit $rc: $out"; return 1; }
	[ "$(cat "$T/vol/out" 2>&1)" = from-ctr ] || { echo "the write to /data did not reach the host"; return 1; }
}

t_oom() {
	local out rc
	track c-oom
	out=$(CTR run "${RUNOPTS[@]}" --memory-limit 16777216 "$IMG" c-oom tail /dev/zero 2>&1)
	rc=$?
	[ $rc -eq 137 ] || { echo "exit $rc, want 137: $out"; return 1; }
}

# ctr's --uidmap (like --no-pivot) silently replaces the runtime options, so
# the shim would run plain runc: a user namespace goes through a spec file.
t_userns() {
	local out rc
	track c-userns
	CTR oci spec | jq --arg r "$T/rootfs" --arg cg "/$NS/c-userns" '.root = {path: $r, readonly: true} |
		.process.env = ["PATH=/bin"] | .process.args = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox"] |
		.linux.cgroupsPath = $cg | .linux.namespaces += [{type: "user"}] |
		.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}] |
		.linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]' >"$T/userns.json" || return 1
	out=$(CTR run "${RUNOPTS[@]}" --config "$T/userns.json" c-userns 2>&1)
	rc=$?
	out=$(printf '%s' "$out" | tr -s ' \n' '  ')
	[ $rc -eq 0 ] && [ "$out" = " 0 100000 65536 0 100000 65536 0 65534" ] || { echo "exit $rc: '$out'"; return 1; }
}

t_net_host() {
	local out rc
	track c-nethost
	out=$(CTR run "${RUNOPTS[@]}" --net-host "$IMG" c-nethost sh -c 'readlink /proc/self/ns/net' 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "$(readlink /proc/self/ns/net)" ] || { echo "exit $rc: $out (host: $(readlink /proc/self/ns/net))"; return 1; }
}

# containerd restarts while a task runs: the shim keeps it, the new daemon
# reconnects, and exec/kill/delete still reach it through the runtime.
# (Runs in the main shell: it replaces the daemon.)
restart_daemon() {
	local out i st
	track c-live
	out=$(CTR run -d "${RUNOPTS[@]}" --null-io "$IMG" c-live sleep 1000 2>&1) || { fail daemon-restart "run -d: $(printf '%s' "$out" | oneline)"; return; }
	wait_status c-live RUNNING 10 >/dev/null || { fail daemon-restart "c-live not running"; return; }
	kill -TERM "$CTRD_PID"
	for i in $(seq 150); do
		st=$(ps -o stat= -p "$CTRD_PID" 2>/dev/null)
		case $st in "" | Z*) break ;; esac
		sleep 0.1
	done
	wait "$CTRD_PID" 2>/dev/null
	if ! start_daemon >"$T/start.err" 2>&1; then
		fail daemon-restart "$(oneline <"$T/start.err")"
		return
	fi
	check daemon-restart t_after_restart
}
t_after_restart() {
	local out rc
	wait_status c-live RUNNING 10 || return 1
	out=$(CTR task exec --fifo-dir "$T/fifo" --exec-id e-live c-live echo still-here 2>&1)
	[ "$out" = still-here ] || { echo "exec after the restart: $out"; return 1; }
	out=$(CTR task kill -s SIGKILL c-live 2>&1) || { echo "kill: $out"; return 1; }
	wait_status c-live STOPPED 10 || return 1
	out=$(CTR task delete c-live 2>&1)
	rc=$(exit_code "$out")
	[ "$rc" = 137 ] || { echo "exit status $rc, want 137: $out"; return 1; }
}

t_delete_missing() {
	local out rc
	out=$(timeout 30 "$WRAP" --root "$RUNC_ROOT/$NS" --log "$T/logs/missing.json" --log-format json delete --force no-such-container 2>&1)
	rc=$?
	[ $rc -eq 0 ] || { echo "delete --force of a missing container exit $rc: $out"; return 1; }
	out=$(timeout 30 "$WRAP" --root "$RUNC_ROOT/$NS" delete no-such-container 2>&1)
	rc=$?
	[ $rc -ne 0 ] && [[ "$out" == *"does not exist"* ]] || { echo "delete without --force: exit $rc: $out"; return 1; }
}

t_delete_all() {
	local id out bad=""
	for id in $(CTR task ls -q); do
		out=$(CTR task delete -f "$id" 2>&1) || bad="$bad task $id: $out;"
	done
	for id in $( (cat "$T/containers"; CTR container ls -q) | sort -u); do
		out=$(CTR container delete "$id" 2>&1) || bad="$bad container $id: $out;"
	done
	[ -z "$(CTR container ls -q)" ] || bad="$bad containers left: $(CTR container ls -q | tr '\n' ' ')"
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

t_through_runtime() {
	local id bad=""
	for id in $(sort -u "$T/containers"); do
		grep -Eq "^--root $RUNC_ROOT/$NS .* create .*--bundle .* $id\$" "$CALLS" || bad="$bad $id:create"
		grep -Eq "^--root $RUNC_ROOT/$NS .* start $id\$" "$CALLS" || bad="$bad $id:start"
		grep -Eq "^--root $RUNC_ROOT/$NS .* delete( --force)? $id\$" "$CALLS" || bad="$bad $id:delete"
	done
	[ -s "$T/containers" ] || bad="no containers"
	[ -z "$bad" ] || { echo "runtime calls missing from the wrapper log:$bad"; return 1; }
}

t_images_snapshots() {
	local out
	out=$(CTR images rm --sync "$IMG" 2>&1) || { echo "images rm: $out"; return 1; }
	local i
	for i in $(seq 50); do [ -z "$(CTR snapshots ls 2>/dev/null | awk 'NR > 1')" ] && break; sleep 0.2; done
	out=$(CTR snapshots ls 2>&1 | awk 'NR > 1')
	[ -z "$out" ] || { echo "snapshots left: $out"; return 1; }
	out=$(timeout 20 ctr --address "$SOCK" namespaces rm "$NS" 2>&1) || { echo "namespace rm: $out"; return 1; }
}

t_runtime_state_clean() {
	local left
	# .cache holds runtime-wide caches (skiff: compiled seccomp filters), not container state
	left=$(ls -A "$RUNC_ROOT/$NS" 2>/dev/null | grep -vx .cache)
	[ -z "$left" ] || { echo "runtime state left in $RUNC_ROOT/$NS: $left"; return 1; }
}

# Runs in the main shell (not through check): it must reap the daemon.
stop_daemon() {
	kill -TERM "$CTRD_PID" 2>/dev/null || { fail daemon-stop "containerd ($CTRD_PID) already gone"; return; }
	if wait_gone "$CTRD_PID" 150; then CTRD_PID=""; pass daemon-stop; else fail daemon-stop "containerd did not exit within 15s of SIGTERM"; fi
}

t_no_leaks() {
	local bad
	bad=$(engine_leaks "/$NS")
	# the shim's default root: only used when a container lost its runtime
	# options (BinaryName and Root), i.e. ran with plain runc
	[ ! -e "/run/containerd/runc/$NS" ] || bad="$bad /run/containerd/runc/$NS exists (a container ran without the runtime options);"
	[ -z "$bad" ] || { echo $bad; return 1; }
}


# ---------------------------------------------------------------- run
if ! start_daemon >"$T/start.err" 2>&1; then
	fail containerd-start "$(oneline <"$T/start.err")"
	finish
fi
pass containerd-start

check image-import t_image
check run-output t_run_output
check exit-status t_exit_status
check short-lived-x10 t_short_lived
check env-cwd t_env_cwd
check run-detached t_detached
check task-exec t_exec
check task-exec-again t_exec_again
check task-exec-user t_exec_user
check task-exec-tty t_exec_tty
check task-ps t_ps
check task-metrics t_metrics
check task-pause-resume t_pause_resume
check task-kill-term t_kill_term
check task-kill-9 t_kill_9
check memory-limit t_memory_limit
check tty t_tty
check tty-input t_tty_input
check read-only t_readonly
check not-found t_not_found
check bind-mount t_bind_mount
check oom-killed t_oom
check net-host t_net_host
check user-namespace t_userns
restart_daemon
check delete-force-missing t_delete_missing
check delete-all t_delete_all
check all-through-runtime t_through_runtime
check images-snapshots-removed t_images_snapshots
check runtime-state-clean t_runtime_state_clean
stop_daemon
check no-leaks t_no_leaks
check host-dev-null t_dev_null
finish
