#!/usr/bin/env bash
# End-to-end test: Docker 20.10 (dockerd -> containerd 1.6 ->
# io.containerd.runc.v2 shim) with skiff registered by --add-runtime.
#
#   RUNTIME=/path/to/runtime tests/e2e/docker.sh     (default: <repo>/skiff)
#
# Runs as root. Starts a private dockerd (own data-root, exec-root, pidfile,
# socket, config file, cgroup parent; no iptables, no bridge) on a private
# containerd (own config, root, state, socket), imports a
# busybox image built here with `docker import`, runs the checklist with the
# Debian docker CLI (/usr/bin/docker: /usr/local/bin/docker is a newer CLI),
# prints one "PASS name" or "FAIL name: reason" line per check and, last,
# "N passed, M failed". Every runtime call goes through a wrapper that logs
# its argv, so the test proves each container was created, started and
# deleted by $RUNTIME. Nothing is left behind: containers, image, mounts,
# cgroups, shims, both daemons and their directories are removed.
# E2E_LOGS=dir keeps a copy of the daemon and runtime logs there.

set -u -o pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNTIME=${RUNTIME:-$REPO/skiff}
case $RUNTIME in */*) ;; *) RUNTIME=$(command -v "$RUNTIME" || echo "$RUNTIME") ;; esac # RUNTIME=runc
DOCKER_CLI=${DOCKER_CLI:-/usr/bin/docker}
E2E_NAME=docker
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"

# ---------------------------------------------------------------- prerequisites
missing=""
for c in dockerd containerd ctr containerd-shim-runc-v2 jq script tar timeout; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -x "$DOCKER_CLI" ] || missing="$missing $DOCKER_CLI"
[ -x /bin/busybox ] || missing="$missing /bin/busybox(busybox-static)"
if [ "$(id -u)" != 0 ]; then fail setup "must run as root"; finish; fi
if [ -n "$missing" ]; then fail setup "missing:$missing"; finish; fi
if [ ! -x "$RUNTIME" ]; then fail setup "RUNTIME=$RUNTIME is not an executable (run make skiff)"; finish; fi
RUNTIME=$(readlink -f "$RUNTIME")

T=$(mktemp -d /tmp/skiff-e2e-dock.XXXXXX) || { fail setup "mktemp"; finish; }
chmod 0711 "$T"
SUFFIX=$(basename "$T" | sed 's/.*\.//' | tr 'A-Z' 'a-z' | tr -dc 'a-z0-9')
CGPARENT=/skiff-e2e-docker-$SUFFIX   # every container's cgroup is $CGPARENT/<id>
SOCK=$T/docker.sock
WRAP=$T/bin/runtime-wrapper
CALLS=$T/runtime-calls.log
IMG=skiff-e2e-busybox:latest
CSOCK=$T/containerd/containerd.sock
DOCKERD_PID=""
CTRD_PID=""
mkdir -p "$T/bin" "$T/data" "$T/exec" "$T/cli" "$T/logs" "$T/containerd/root" "$T/containerd/state" "$T/containerd/opt"
: >"$CALLS"
: >"$T/containers"
ls /run/containerd/s 2>/dev/null | sort >"$T/shim-sockets.before"
# The shim puts its socket in /run/containerd/s whatever the daemon's config
# says: remove those directories at the end if this test created them.
RUN_DIRS_CREATED=""
# dockerd makes /run/docker/plugins whatever its exec-root is.
for d in /run/containerd /run/containerd/s /run/docker /run/docker/plugins; do [ -e "$d" ] || RUN_DIRS_CREATED="$d $RUN_DIRS_CREATED"; done

export DOCKER_CONFIG=$T/cli # the CLI keeps its config here, not in ~/.docker
D() { timeout 60 "$DOCKER_CLI" -H "unix://$SOCK" "$@"; }
RUN=(run --runtime skiff --network none)
# Records the container so the wrapper check knows about it.
track() { D inspect -f '{{.Id}}' "$1" >>"$T/containers" 2>/dev/null; }
field() { D inspect -f "$2" "$1" 2>&1; }
wait_field() { # container template value seconds
	local i
	for i in $(seq $((${4:-10} * 10))); do
		[ "$(field "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	echo "$1: $2 is $(field "$1" "$2"), not $3 after ${4:-10}s"
	return 1
}

cleanup() {
	trap - EXIT INT TERM
	local id pid i
	if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
		for id in $(D ps -aq 2>/dev/null); do D rm -f "$id" >/dev/null 2>&1; done
		D rmi -f "$IMG" >/dev/null 2>&1
		kill -TERM "$DOCKERD_PID" 2>/dev/null
		for i in $(seq 200); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DOCKERD_PID" 2>/dev/null
		wait "$DOCKERD_PID" 2>/dev/null
	fi
	if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
		kill -TERM "$CTRD_PID" 2>/dev/null
		for i in $(seq 100); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$CTRD_PID" 2>/dev/null
		wait "$CTRD_PID" 2>/dev/null
	fi
	# containerd's shims (they carry $T in their arguments):
	# only processes this test started.
	for pid in $(ps -eo pid=,args= | awk -v s="$T" 'index($0, s) && !/awk/ { print $1 }'); do
		[ "$pid" = $$ ] || kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "${E2E_LOGS:-}" ]; then
		mkdir -p "$E2E_LOGS" && cp "$T/dockerd.log" "$T/containerd.log" "$CALLS" "$E2E_LOGS/" 2>/dev/null
	fi
	awk -v s="$T" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	find /sys/fs/cgroup -depth -type d -path "*$CGPARENT*" -exec rmdir {} \; 2>/dev/null
	rm -rf --one-file-system "$T"
	for d in $RUN_DIRS_CREATED; do rmdir "$d" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- wrapper
cat >"$WRAP" <<EOF
#!/bin/sh
# Runtime path given to dockerd: log argv (one write, O_APPEND), then become the runtime.
printf '%s\n' "\$*" >>'$CALLS'
exec '$RUNTIME' "\$@"
EOF
chmod 0755 "$WRAP"

# ---------------------------------------------------------------- daemons
# dockerd gets its own containerd: a managed one (started by dockerd) would
# create /opt/containerd, as its generated config cannot move the opt plugin.
cat >"$T/containerd.toml" <<EOF
version = 2
root = "$T/containerd/root"
state = "$T/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$CSOCK"
[ttrpc]
  address = "$CSOCK.ttrpc"
[debug]
  address = "$T/containerd/debug.sock"
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/containerd/opt"
EOF
# deprecated-key-path keeps dockerd 20.10 from writing /etc/docker/key.json.
jq -n --arg k "$T/key.json" '{"deprecated-key-path": $k, "storage-driver": "overlay2"}' >"$T/daemon.json"

start_daemon() {
	local i
	containerd --config "$T/containerd.toml" >"$T/containerd.log" 2>&1 &
	CTRD_PID=$!
	for i in $(seq 200); do
		timeout 5 ctr --address "$CSOCK" version >/dev/null 2>&1 && break
		kill -0 "$CTRD_PID" 2>/dev/null || { echo "containerd exited: $(tail -5 "$T/containerd.log")"; return 1; }
		sleep 0.1
	done
	dockerd --containerd "$CSOCK" --config-file "$T/daemon.json" --data-root "$T/data" --exec-root "$T/exec" \
		--pidfile "$T/docker.pid" -H "unix://$SOCK" --iptables=false --ip6tables=false --ip-masq=false \
		--ip-forward=false --bridge=none --userland-proxy=false --cgroup-parent "$CGPARENT" \
		--exec-opt native.cgroupdriver=cgroupfs --add-runtime "skiff=$WRAP" --default-runtime skiff \
		>"$T/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	for i in $(seq 300); do
		D version >/dev/null 2>&1 && return 0
		kill -0 "$DOCKERD_PID" 2>/dev/null || { echo "dockerd exited: $(tail -5 "$T/dockerd.log")"; return 1; }
		sleep 0.1
	done
	echo "dockerd did not answer on $SOCK within 30s: $(tail -3 "$T/dockerd.log")"
	return 1
}

# ---------------------------------------------------------------- checks
t_daemon_info() {
	local out
	out=$(D info --format '{{.DefaultRuntime}} {{json .Runtimes}}' 2>&1) || { echo "docker info: $out"; return 1; }
	[[ "$out" == "skiff "*'"skiff":{"path":"'"$WRAP"'"'* ]] || { echo "docker info: $out"; return 1; }
	[ "$(cat "$T/docker.pid" 2>/dev/null)" = "$DOCKERD_PID" ] || { echo "pidfile does not hold $DOCKERD_PID"; return 1; }
}

t_image() {
	local r=$T/rootfs a out
	mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev,run,root,home/user,var} || return 1
	cp /bin/busybox "$r/bin/busybox" || return 1
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
	printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n' >"$r/etc/group"
	chmod 1777 "$r/tmp"
	chown 1000:1000 "$r/home/user"
	out=$(tar --numeric-owner -C "$r" -c . | D import \
		-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["sh"]' - "$IMG" 2>&1) ||
		{ echo "docker import: $out"; return 1; }
	rm -rf "$r"
	D image inspect "$IMG" >/dev/null 2>&1 || { echo "image $IMG not there after import"; return 1; }
}

t_run_output() {
	local out rc
	out=$(D "${RUN[@]}" --name d-run "$IMG" sh -c 'echo hello-from-$(cat /proc/1/comm); id -u; hostname' 2>&1)
	rc=$?
	track d-run
	[ $rc -eq 0 ] || { echo "docker run exit $rc: $out"; return 1; }
	[ "$out" = "$(printf 'hello-from-sh\n0\n%s' "$(field d-run '{{.Config.Hostname}}')")" ] || { echo "unexpected output: $out"; return 1; }
}

t_exit_code() {
	local out rc
	out=$(D "${RUN[@]}" --name d-exit "$IMG" sh -c 'exit 7' 2>&1)
	rc=$?
	track d-exit
	[ $rc -eq 7 ] || { echo "exit code $rc, want 7: $out"; return 1; }
	[ "$(field d-exit '{{.State.ExitCode}}')" = 7 ] || { echo "inspect ExitCode $(field d-exit '{{.State.ExitCode}}')"; return 1; }
}

# A workload that exits at once must not make start fail (the runtime must
# not look at the init after releasing it).
t_short_lived() {
	local i out rc bad=""
	for i in $(seq 10); do
		out=$(D "${RUN[@]}" --name d-short$i "$IMG" true 2>&1)
		rc=$?
		track d-short$i
		[ $rc -eq 0 ] || bad="$bad #$i: exit $rc: $out;"
		D rm d-short$i >/dev/null 2>&1
	done
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

t_run_rm() {
	local out rc
	out=$(D "${RUN[@]}" --rm --name d-rm -e FOO=bar,baz -w /tmp "$IMG" sh -c 'echo "$FOO $(pwd) $HOME"' 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "bar,baz /tmp /root" ] || { echo "exit $rc, output: $out"; return 1; }
	D inspect d-rm >/dev/null 2>&1 && { echo "--rm container still exists"; return 1; }
	return 0
}

t_detached() {
	local out
	out=$(D "${RUN[@]}" -d --name d-det "$IMG" \
		sh -c 'trap "echo got-term; exit 0" TERM; echo started; while :; do sleep 0.2; done' 2>&1) ||
		{ echo "docker run -d: $out"; return 1; }
	track d-det
	wait_field d-det '{{.State.Status}}' running 10 || return 1
}

# dockerd's prestart hook (libnetwork-setkey, in every container's spec) ran
# with the state on stdin: dockerd then bind-mounted the container's netns
# at its sandbox key.
t_prestart_hook() {
	local key pid
	key=$(field d-det '{{.NetworkSettings.SandboxKey}}')
	pid=$(field d-det '{{.State.Pid}}')
	[ -n "$key" ] && [ -e "$key" ] || { echo "sandbox key '$key' does not exist"; return 1; }
	[ "$(stat -L -c %i "$key")" = "$(stat -L -c %i "/proc/$pid/ns/net")" ] ||
		{ echo "$key is not the netns of the container's init $pid"; return 1; }
}

t_logs() {
	local out i
	for i in $(seq 50); do
		out=$(D logs d-det 2>&1)
		[ "$out" = started ] && return 0
		sleep 0.1
	done
	echo "docker logs: $out"
	return 1
}

t_exec() {
	local out rc
	out=$(D exec d-det sh -c 'echo exec-ok $(cat /proc/1/comm); exit 3' 2>&1)
	rc=$?
	[ $rc -eq 3 ] || { echo "exec exit $rc, want 3: $out"; return 1; }
	[ "$out" = "exec-ok sh" ] || { echo "unexpected output: $out"; return 1; }
	out=$(D exec -u 1000 d-det id 2>&1)
	[[ "$out" == "uid=1000(user) gid=1000(user)"* ]] || { echo "exec -u 1000: $out"; return 1; }
	grep -q ' exec .*--process .* '"$(field d-det '{{.Id}}')"'$' "$CALLS" || { echo "no 'exec --process' runtime call logged"; return 1; }
}

# The tty workloads linger a moment after printing: containerd's shim can
# lose the output of a tty process that exits at once (seen with runc too,
# about 1 in 150 under load).
t_exec_it() {
	local out rc
	out=$(timeout 60 script -qec "'$DOCKER_CLI' -H 'unix://$SOCK' exec -it d-det sh -c 'tty; echo tty-exec-ok; sleep 0.5'" /dev/null </dev/null 2>&1)
	rc=$?
	out=$(printf '%s' "$out" | tr -d '\r')
	[ $rc -eq 0 ] && [[ "$out" == *"/dev/pts/"*"tty-exec-ok"* ]] || { echo "exit $rc: $out"; return 1; }
}

t_top() {
	local out pid
	pid=$(field d-det '{{.State.Pid}}')
	out=$(D top d-det 2>&1) || { echo "docker top: $out"; return 1; }
	printf '%s\n' "$out" | awk 'NR > 1 { print $2 }' | grep -xF "$pid" >/dev/null || { echo "init pid $pid not in: $out"; return 1; }
	printf '%s\n' "$out" | grep 'sleep' >/dev/null || { echo "no sleep process in: $out"; return 1; }
	grep -q ' ps --format json '"$(field d-det '{{.Id}}')"'$' "$CALLS" || { echo "no 'ps --format json' runtime call logged"; return 1; }
}

t_pause() {
	local out pid fz
	pid=$(field d-det '{{.State.Pid}}')
	out=$(D pause d-det 2>&1) || { echo "pause: $out"; return 1; }
	wait_field d-det '{{.State.Status}}' paused 5 || return 1
	fz=$(cgroup_dir "$pid" freezer)
	if [ -n "$fz" ] && [ -f "$fz/freezer.state" ]; then
		[ "$(cat "$fz/freezer.state")" = FROZEN ] || { echo "$fz/freezer.state is $(cat "$fz/freezer.state")"; return 1; }
	fi
	out=$(D unpause d-det 2>&1) || { echo "unpause: $out"; return 1; }
	wait_field d-det '{{.State.Status}}' running 5 || return 1
	out=$(D exec d-det echo alive 2>&1)
	[ "$out" = alive ] || { echo "exec after unpause: $out"; return 1; }
}

t_update_memory() {
	local out pid dir v want=134217728
	out=$(D update --memory 128m --memory-swap 256m d-det 2>&1) || { echo "docker update: $out"; return 1; }
	pid=$(field d-det '{{.State.Pid}}')
	dir=$(cgroup_dir "$pid" memory)
	v=$(cat "$dir/memory.limit_in_bytes" 2>&1)
	[ "$v" = $want ] || { echo "$dir/memory.limit_in_bytes is '$v', want $want"; return 1; }
	out=$(D exec d-det cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>&1)
	[ "$out" = $want ] || { echo "inside the container the limit reads '$out'"; return 1; }
	grep -q ' update --resources.* '"$(field d-det '{{.Id}}')"'$' "$CALLS" || { echo "no 'update --resources' runtime call logged"; return 1; }
}

t_restart() {
	local out pid1 pid2
	pid1=$(field d-det '{{.State.Pid}}')
	out=$(D restart -t 5 d-det 2>&1) || { echo "docker restart: $out"; return 1; }
	wait_field d-det '{{.State.Status}}' running 10 || return 1
	pid2=$(field d-det '{{.State.Pid}}')
	[ "$pid1" != "$pid2" ] || { echo "same init pid $pid1 after restart"; return 1; }
	[ "$(grep -c ' create .* '"$(field d-det '{{.Id}}')"'$' "$CALLS")" -ge 2 ] || { echo "restart did not create the container again"; return 1; }
	out=$(D logs d-det 2>&1)
	[[ "$out" == *got-term* ]] || { echo "the TERM trap did not run on restart (logs: $out)"; return 1; }
}

t_stop_rm() {
	local out rc t0 t1
	t0=$(date +%s)
	out=$(D stop -t 8 d-det 2>&1) || { echo "docker stop: $out"; return 1; }
	t1=$(date +%s)
	[ "$(field d-det '{{.State.Status}}')" = exited ] || { echo "status after stop: $(field d-det '{{.State.Status}}')"; return 1; }
	[ "$(field d-det '{{.State.ExitCode}}')" = 0 ] || { echo "exit code after stop: $(field d-det '{{.State.ExitCode}}') (SIGTERM not delivered?)"; return 1; }
	[ $((t1 - t0)) -lt 6 ] || { echo "stop took $((t1 - t0))s: SIGTERM did not reach the trap"; return 1; }
	# pid 1 without a handler ignores SIGTERM: docker stop must fall back to SIGKILL.
	out=$(D "${RUN[@]}" -d --name d-kill "$IMG" sleep 1000 2>&1) || { echo "run -d: $out"; return 1; }
	track d-kill
	out=$(D stop -t 1 d-kill 2>&1) || { echo "docker stop d-kill: $out"; return 1; }
	rc=$(field d-kill '{{.State.ExitCode}}')
	[ "$rc" = 137 ] || { echo "d-kill exit code $rc after stop, want 137"; return 1; }
	out=$(D rm d-det d-kill 2>&1) || { echo "docker rm: $out"; return 1; }
}

t_tty() {
	local out rc
	out=$(timeout 60 script -qec "'$DOCKER_CLI' -H 'unix://$SOCK' run -it --runtime skiff --network none --name d-tty '$IMG' sh -c 'tty; stty size; echo tty-ok; sleep 0.5'" /dev/null </dev/null 2>&1)
	rc=$?
	track d-tty
	out=$(printf '%s' "$out" | tr -d '\r')
	[ $rc -eq 0 ] && [[ "$out" == *"/dev/pts/0"*"tty-ok"* ]] || { echo "exit $rc: $out"; return 1; }
	grep -q ' create .*--console-socket .* '"$(field d-tty '{{.Id}}')"'$' "$CALLS" || { echo "no create --console-socket call"; return 1; }
}

# Typed input reaches the container's shell through the pty, and its status comes back.
t_tty_input() {
	local out rc
	out=$( (sleep 1; printf 'echo typed-$((6*7))\n'; sleep 0.5; printf 'exit 3\n'; sleep 2) |
		timeout 60 script -qec "'$DOCKER_CLI' -H 'unix://$SOCK' run -it --runtime skiff --network none --name d-tty-in '$IMG' sh" /dev/null 2>&1)
	rc=$?
	track d-tty-in
	out=$(printf '%s' "$out" | tr -d '\r')
	[[ "$out" == *$'\n'typed-42* ]] || { echo "exit $rc: no typed-42 line in: $out"; return 1; }
	[ "$(field d-tty-in '{{.State.ExitCode}}')" = 3 ] || { echo "container exit code $(field d-tty-in '{{.State.ExitCode}}'), want 3"; return 1; }
}

t_memory() {
	local out rc
	out=$(D "${RUN[@]}" -d --name d-mem --memory 64m "$IMG" sleep 1000 2>&1) || { echo "run -d: $out"; return 1; }
	track d-mem
	wait_field d-mem '{{.State.Status}}' running 10 || return 1
	local pid dir v
	pid=$(field d-mem '{{.State.Pid}}')
	dir=$(cgroup_dir "$pid" memory)
	case $dir in */memory$CGPARENT/*) ;; *) echo "cgroup $dir is not below $CGPARENT"; return 1 ;; esac
	v=$(cat "$dir/memory.limit_in_bytes" 2>&1)
	[ "$v" = 67108864 ] || { echo "$dir/memory.limit_in_bytes is '$v'"; return 1; }
	out=$(D exec d-mem cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>&1)
	[ "$out" = 67108864 ] || { echo "inside: '$out'"; return 1; }
	out=$(D rm -f d-mem 2>&1) || { echo "rm -f: $out"; return 1; }
	[ ! -d "$dir" ] || { echo "cgroup $dir left after rm -f"; return 1; }
}

t_pids_limit() {
	local out rc
	out=$(D "${RUN[@]}" --name d-pids --pids-limit 50 "$IMG" cat /sys/fs/cgroup/pids/pids.max 2>&1)
	rc=$?
	track d-pids
	[ $rc -eq 0 ] && [ "$out" = 50 ] || { echo "exit $rc, pids.max inside: $out"; return 1; }
}

t_read_only() {
	local out rc
	out=$(D "${RUN[@]}" --name d-ro --read-only "$IMG" sh -c 'touch /x 2>&1; echo rc=$?; touch /dev/shm/x && echo shm-ok' 2>&1)
	rc=$?
	track d-ro
	[ $rc -eq 0 ] && [[ "$out" == *"Read-only file system"*"rc=1"*"shm-ok" ]] || { echo "exit $rc, output: $out"; return 1; }
}

t_user() {
	local out rc
	out=$(D "${RUN[@]}" --name d-user --user 1000:1000 "$IMG" sh -c 'id; touch /home/user/f && echo home-ok' 2>&1)
	rc=$?
	track d-user
	[ $rc -eq 0 ] && [[ "$out" == "uid=1000(user) gid=1000(user)"*"home-ok" ]] || { echo "exit $rc, output: $out"; return 1; }
	out=$(D "${RUN[@]}" --rm --user nobody "$IMG" id -u 2>&1)
	[ "$out" = 65534 ] || { echo "--user nobody: $out"; return 1; }
}

t_caps() {
	local out rc eff bnd
	out=$(D "${RUN[@]}" --name d-caps --cap-add ALL --cap-drop SYS_RESOURCE "$IMG" grep -E '^Cap(Eff|Bnd)' /proc/self/status 2>&1)
	rc=$?
	track d-caps
	[ $rc -eq 0 ] || { echo "exit $rc: $out"; return 1; }
	eff=$(printf '%s\n' "$out" | awk '$1 == "CapEff:" { print $2 }')
	bnd=$(printf '%s\n' "$out" | awk '$1 == "CapBnd:" { print $2 }')
	[ -n "$eff" ] && [ "$eff" = "$bnd" ] || { echo "CapEff $eff != CapBnd $bnd"; return 1; }
	(((16#$eff >> 24) & 1)) && { echo "CAP_SYS_RESOURCE is in CapEff $eff"; return 1; }
	(((16#$eff >> 21) & 1)) && (((16#$eff >> 12) & 1)) || { echo "CAP_SYS_ADMIN/NET_ADMIN missing from $eff"; return 1; }
}

t_restart_policy() {
	local out i
	out=$(D "${RUN[@]}" -d --name d-policy --restart on-failure:2 "$IMG" sh -c 'echo run; exit 3' 2>&1) || { echo "run -d: $out"; return 1; }
	track d-policy
	for i in $(seq 300); do
		[ "$(field d-policy '{{.RestartCount}} {{.State.Status}}')" = "2 exited" ] && break
		sleep 0.1
	done
	out=$(field d-policy '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}')
	[ "$out" = "2 exited 3" ] || { echo "restart count/status/exit: $out"; return 1; }
	[ "$(D logs d-policy 2>&1 | grep -c '^run$')" = 3 ] || { echo "logs: $(D logs d-policy 2>&1)"; return 1; }
	[ "$(grep -c ' start '"$(field d-policy '{{.Id}}')"'$' "$CALLS")" = 3 ] || { echo "want 3 runtime start calls"; return 1; }
}

t_not_found() {
	local out rc
	out=$(D "${RUN[@]}" --name d-nf "$IMG" no-such-binary 2>&1)
	rc=$?
	grep -q " create .* $(field d-nf '{{.Id}}')\$" "$CALLS" || { echo "no runtime create call for d-nf"; return 1; }
	[ $rc -eq 127 ] || { echo "run of a missing binary: exit $rc, want 127: $out"; return 1; }
	[[ "$out" == *'executable file not found in $PATH'* ]] || { echo "message: $out"; return 1; }
	D rm d-nf >/dev/null 2>&1
	out=$(D "${RUN[@]}" -d --name d-nf2 "$IMG" sleep 100 2>&1) || { echo "run -d: $out"; return 1; }
	track d-nf2
	out=$(D exec d-nf2 no-such-binary 2>&1)
	rc=$?
	[ $rc -eq 126 ] || [ $rc -eq 127 ] || { echo "exec of a missing binary: exit $rc: $out"; return 1; }
	[[ "$out" == *'executable file not found in $PATH'* ]] || { echo "exec message: $out"; return 1; }
	D rm -f d-nf2 >/dev/null 2>&1
	return 0
}

t_volume_tmpfs() {
	local out rc
	mkdir -p "$T/vol" && echo from-host >"$T/vol/in"
	out=$(D "${RUN[@]}" --name d-vol -v "$T/vol:/data" -v "$T/vol:/ro:ro" --tmpfs /run:size=1m "$IMG" \
		sh -c 'cat /data/in; echo from-ctr >/data/out; touch /ro/x 2>&1; grep " /run " /proc/mounts' 2>&1)
	rc=$?
	track d-vol
	[ $rc -eq 0 ] || { echo "exit $rc: $out"; return 1; }
	[[ "$out" == "from-host"*"Read-only file system"*"tmpfs /run tmpfs"* ]] || { echo "output: $out"; return 1; }
	[ "$(cat "$T/vol/out" 2>&1)" = from-ctr ] || { echo "the write to /data did not reach the host"; return 1; }
	grep -q " $T/vol " /proc/self/mountinfo && { echo "the volume's mount propagated to the host"; return 1; }
	return 0
}

# OOMKilled needs the shim's OOM event to reach dockerd before the exit
# event: under load that race is lost now and then with runc too, so one
# retry is allowed.
t_oom() {
	local out rc n
	for n in 1 2; do
		out=$(D "${RUN[@]}" --name d-oom$n --memory 16m --memory-swap 16m "$IMG" tail /dev/zero 2>&1)
		rc=$?
		track d-oom$n
		[ $rc -eq 137 ] || { echo "exit $rc, want 137: $out"; return 1; }
		[ "$(field d-oom$n '{{.State.OOMKilled}}')" = true ] && return 0
	done
	echo "State.OOMKilled is $(field d-oom2 '{{.State.OOMKilled}}') twice"
	return 1
}

t_cpus_stats() {
	local out pid dir v
	out=$(D "${RUN[@]}" -d --name d-cpu --cpus 0.5 --cpu-shares 512 "$IMG" sleep 1000 2>&1) || { echo "run -d: $out"; return 1; }
	track d-cpu
	wait_field d-cpu '{{.State.Status}}' running 10 || return 1
	pid=$(field d-cpu '{{.State.Pid}}')
	dir=$(cgroup_dir "$pid" cpu)
	v="$(cat "$dir/cpu.cfs_quota_us" "$dir/cpu.cfs_period_us" "$dir/cpu.shares" 2>&1 | tr '\n' ' ')"
	[ "$v" = "50000 100000 512 " ] || { echo "quota/period/shares in $dir: $v"; return 1; }
	out=$(D stats --no-stream --format '{{.MemUsage}} {{.PIDs}}' d-cpu 2>&1)
	[[ "$out" == *B\ /\ *B\ 1 ]] || { echo "docker stats: $out"; return 1; }
	D rm -f d-cpu >/dev/null 2>&1
	return 0
}

t_security() {
	local out rc
	out=$(D "${RUN[@]}" --name d-sec --security-opt no-new-privileges --ulimit nofile=1024:2048 "$IMG" \
		sh -c 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; ulimit -Sn; ulimit -Hn' 2>&1)
	rc=$?
	track d-sec
	[ $rc -eq 0 ] || { echo "exit $rc: $out"; return 1; }
	out=$(printf '%s' "$out" | tr -s '\t\n' '  ')
	[ "$out" = "NoNewPrivs: 1 Seccomp: 2 1024 2048" ] || { echo "want seccomp filter, no_new_privs, nofile 1024/2048: $out"; return 1; }
	out=$(D "${RUN[@]}" --rm --security-opt seccomp=unconfined "$IMG" grep '^Seccomp:' /proc/self/status 2>&1)
	[ "$(printf '%s' "$out" | tr -d '\t ')" = "Seccomp:0" ] || { echo "seccomp=unconfined: $out"; return 1; }
}

t_init() {
	local out rc
	out=$(D "${RUN[@]}" --name d-init --init "$IMG" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo $$' 2>&1)
	rc=$?
	track d-init
	[ $rc -eq 0 ] || { echo "exit $rc: $out"; return 1; }
	[[ "$out" == "/sbin/docker-init -- sh -c"*$'\n'[0-9]* ]] && [ "${out##*$'\n'}" != 1 ] || { echo "pid 1 is not docker-init: $out"; return 1; }
}

# Without its own pid namespace a container's processes do not die with its
# init: the shim must kill them all (runtime kill --all) when it is removed.
t_pid_host() {
	local out pid dir
	out=$(D "${RUN[@]}" -d --name d-pidhost --pid host "$IMG" sh -c 'sleep 1000 & sleep 1000 & wait' 2>&1) || { echo "run -d: $out"; return 1; }
	track d-pidhost
	wait_field d-pidhost '{{.State.Status}}' running 10 || return 1
	pid=$(field d-pidhost '{{.State.Pid}}')
	dir=$(cgroup_dir "$pid" pids)
	sleep 0.3
	[ "$(wc -l <"$dir/cgroup.procs")" -ge 3 ] || { echo "expected sh and two sleeps in $dir: $(cat "$dir/cgroup.procs" | tr '\n' ' ')"; return 1; }
	out=$(D rm -f d-pidhost 2>&1) || { echo "rm -f: $out"; return 1; }
	local i
	for i in $(seq 50); do [ -d "$dir" ] || return 0; sleep 0.1; done
	echo "cgroup $dir still there after rm -f, processes: $(cat "$dir/cgroup.procs" 2>&1 | tr '\n' ' ')"
	return 1
}

t_rm_all() {
	local out bad=""
	for id in $(D ps -aq); do
		out=$(D rm -f "$id" 2>&1) || bad="$bad $id: $out;"
	done
	[ -z "$(D ps -aq)" ] || bad="$bad containers left: $(D ps -aq | tr '\n' ' ')"
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

t_through_runtime() {
	local id bad="" root
	# dockerd 20.10 gives every path runtime the root <exec-root>/runtime-runc
	root="$T/exec/runtime-runc/moby"
	for id in $(sort -u "$T/containers"); do
		grep -Eq "^--root $root .* create .*--bundle .* $id\$" "$CALLS" || bad="$bad ${id:0:12}:create"
		grep -Eq "^--root $root .* start $id\$" "$CALLS" || bad="$bad ${id:0:12}:start"
		grep -Eq "^--root $root .* delete( --force)? $id\$" "$CALLS" || bad="$bad ${id:0:12}:delete"
	done
	[ "$(sort -u "$T/containers" | wc -l)" -ge 10 ] || bad="$bad only $(sort -u "$T/containers" | wc -l) containers tracked"
	[ -z "$bad" ] || { echo "runtime calls missing from the wrapper log:$bad"; return 1; }
}

t_rmi() {
	local out
	out=$(D rmi "$IMG" 2>&1) || { echo "docker rmi: $out"; return 1; }
	out=$(D images -q 2>&1)
	[ -z "$out" ] || { echo "images left: $out"; return 1; }
}

t_runtime_state_clean() {
	local left
	# .cache holds runtime-wide caches (skiff: compiled seccomp filters), not container state
	left=$(ls -A "$T/exec/runtime-runc/moby" 2>/dev/null | grep -vx .cache)
	[ -z "$left" ] || { echo "runtime state left in $T/exec/runtime-runc/moby: $left"; return 1; }
}

# Runs in the main shell (not through check): it must reap the daemon.
stop_daemon() {
	kill -TERM "$DOCKERD_PID" 2>/dev/null || { fail daemon-stop "dockerd ($DOCKERD_PID) already gone"; return; }
	wait_gone "$DOCKERD_PID" 200 || { fail daemon-stop "dockerd did not exit within 20s of SIGTERM"; return; }
	DOCKERD_PID=""
	kill -TERM "$CTRD_PID" 2>/dev/null || { fail daemon-stop "containerd ($CTRD_PID) already gone"; return; }
	if wait_gone "$CTRD_PID" 150; then CTRD_PID=""; pass daemon-stop; else fail daemon-stop "containerd did not exit within 15s of SIGTERM"; fi
}

t_no_leaks() {
	local bad
	bad=$(engine_leaks "$CGPARENT")
	[ ! -e /etc/docker/key.json ] || [ /etc/docker/key.json -ot "$T" ] || bad="$bad /etc/docker/key.json written;"
	[ -z "$bad" ] || { echo $bad; return 1; }
}


# ---------------------------------------------------------------- run
if ! start_daemon >"$T/start.err" 2>&1; then
	fail dockerd-start "$(oneline <"$T/start.err")"
	finish
fi
pass dockerd-start

check daemon-info t_daemon_info
check image-import t_image
check run-output t_run_output
check exit-code t_exit_code
check short-lived-x10 t_short_lived
check run-rm-env-workdir t_run_rm
check run-detached t_detached
check prestart-hook t_prestart_hook
check logs t_logs
check exec t_exec
check exec-it t_exec_it
check top t_top
check pause-unpause t_pause
check update-memory t_update_memory
check restart t_restart
check stop-rm t_stop_rm
check run-it t_tty
check run-it-input t_tty_input
check memory t_memory
check pids-limit t_pids_limit
check read-only t_read_only
check user t_user
check cap-add-all t_caps
check restart-on-failure t_restart_policy
check not-found-127 t_not_found
check volume-tmpfs t_volume_tmpfs
check oom-killed t_oom
check cpus-stats t_cpus_stats
check security-opts-ulimit t_security
check init t_init
check pid-host-rm t_pid_host
check rm-all t_rm_all
check all-through-runtime t_through_runtime
check rmi t_rmi
check runtime-state-clean t_runtime_state_clean
stop_daemon
check no-leaks t_no_leaks
check host-dev-null t_dev_null
finish
