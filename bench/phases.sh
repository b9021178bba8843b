#!/usr/bin/env bash
# bench/phases.sh - where the time of one `skiff run /bin/true` goes.
#
# Usage: bench/phases.sh [--runs N] [--skiff PATH] [--gap MS] [--no-view] [--verb run|exec] [--no-perf]
#
# Runs skiff --runs times (default 21) under `perf record -k CLOCK_MONOTONIC` with
# tracepoints only (process exec/fork/exit, cgroup mkdir/attach/rmdir) and with
# SKIFF_TRACE=1, whose phase marks (libct/phase) carry the same
# clock: kernel events and skiff's own marks land on one timeline. Prints, per
# milestone, the median time after skiff's execve (and the spread), then the
# segments between consecutive milestones. --verb exec profiles `skiff exec
# /bin/true` into a running container instead. --no-perf uses skiff's marks
# alone (times after its "main" mark): tracing makes a run ~20 % slower. Like
# run.sh it works in a cgroup-v1 view unless --no-view, and leaves nothing
# behind.
#
# Needs: root, bash >= 5, perf (linux-perf) with tracepoint access, a static busybox.

set -u -o pipefail
export LC_ALL=C LANG=C
shopt -s nullglob
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
REPO=${SELF%/*/*}
RUNS=21 SKIFF_BIN=${SKIFF:-$REPO/skiff} GAP_MS=50 VIEW=1 VERB=run PERF=1
ARGS=("$@")
die() { printf 'phases: %s\n' "$*" >&2; exit 2; }
while (($#)); do
	case $1 in
	--runs) RUNS=${2:-}; shift 2 ;;
	--skiff) SKIFF_BIN=${2:-}; shift 2 ;;
	--gap) GAP_MS=${2:-}; shift 2 ;;
	--no-view) VIEW=0; shift ;;
	--verb) VERB=${2:-}; shift 2 ;;
	--no-perf) PERF=0; shift ;;
	-h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$SELF"; exit 0 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[[ $RUNS =~ ^[0-9]+$ ]] && ((RUNS > 0)) || die "--runs needs a positive integer"
[[ $GAP_MS =~ ^[0-9]+$ ]] && ((GAP_MS < 1000)) || die "--gap needs 0..999 ms"
[[ $VERB == run || $VERB == exec ]] || die "--verb is run or exec"
((EUID == 0)) || die "must run as root"
((PERF == 0)) || command -v perf >/dev/null || die "needs perf (apt-get install linux-perf), or --no-perf"
[[ -x $SKIFF_BIN ]] || die "no skiff binary at $SKIFF_BIN"
SKIFF_BIN=$(readlink -f -- "$SKIFF_BIN")

if ((VIEW)) && [[ ${SKIFF_PHASES_INNER:-} != 1 ]] && [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
	exec env SKIFF_PHASES_INNER=1 unshare --mount --propagation private -- /bin/sh -c \
		'mount -t tmpfs -o size=4m,mode=0755 skiff-phases-view /sys/fs/cgroup/unified && exec "$@"' sh "$SELF" "${ARGS[@]}"
fi

WORK=$(mktemp -d /tmp/skiff-phases.XXXXXX) || die mktemp
ID=skph-${WORK##*.}
ROOT=$WORK/state
cleanup() {
	timeout 10 "$SKIFF_BIN" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1
	timeout 10 "$SKIFF_BIN" --root "$ROOT" delete --force "$ID-x" >/dev/null 2>&1
	for m in /sys/fs/cgroup/*; do [[ -d $m/$ID ]] && rmdir "$m/$ID"/* "$m/$ID" 2>/dev/null; done
	rm -rf -- "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/rootfs"/{bin,etc,proc,sys,dev,tmp}
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -s busybox "$WORK/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$WORK/rootfs/etc/passwd"
(cd "$WORK" && "$SKIFF_BIN" spec) || die "skiff spec failed"
args='["/bin/true"]'
[[ $VERB == exec ]] && args='["/bin/sleep","100000"]'
jq --arg root "$WORK/rootfs" --arg cg "/$ID/c" --argjson args "$args" \
	'.process.terminal = false | .process.args = $args | .root.path = $root | .linux.cgroupsPath = $cg' \
	"$WORK/config.json" >"$WORK/c.json" && mv "$WORK/c.json" "$WORK/config.json" || die jq
# The parent cgroup exists, as an engine's does (see run.sh); cleanup removes it.
for m in /sys/fs/cgroup/*; do [[ -e $m/cgroup.procs ]] && { mkdir -p "$m/$ID" || die "mkdir $m/$ID"; }; done

if [[ $VERB == exec ]]; then
	"$SKIFF_BIN" --root "$ROOT" run --detach --bundle "$WORK" "$ID" </dev/null >/dev/null || die "cannot start the exec target"
	CMD=("$SKIFF_BIN" --root "$ROOT" exec "$ID" /bin/true)
else
	CMD=("$SKIFF_BIN" --root "$ROOT" run --bundle "$WORK" "$ID")
fi
# No syscalls:* tracepoint: enabling one sends every syscall of the traced
# processes down the slow path, which inflated the timeline by a third.
EVENTS=(-e sched:sched_process_exec -e sched:sched_process_exit -e sched:sched_process_fork
	-e cgroup:cgroup_mkdir -e cgroup:cgroup_attach_task -e cgroup:cgroup_rmdir)
# one warm-up, then the runs; every run leaves "name ms" lines in $WORK/m.<i>
for ((i = 0; i <= RUNS; i++)); do
	read -r -t "0.$(printf '%03d' "$GAP_MS")" <> <(:)
	if ((PERF)); then
		SKIFF_TRACE=1 perf record -q -k CLOCK_MONOTONIC -o "$WORK/p.data" "${EVENTS[@]}" -- "${CMD[@]}" \
			</dev/null >/dev/null 2>"$WORK/trace" || { cat "$WORK/trace" >&2; die "run $i failed"; }
	else
		SKIFF_TRACE=1 "${CMD[@]}" </dev/null >/dev/null 2>"$WORK/trace" || { cat "$WORK/trace" >&2; die "run $i failed"; }
	fi
	((i == 0)) && continue
	{
		((PERF)) && perf script -i "$WORK/p.data" -F comm,pid,time,event,trace 2>/dev/null | sed 's/^/K /'
		sed -n 's/^skiff-trace /M /p' "$WORK/trace"
	} | awk -v bin="$SKIFF_BIN" -v perf="$PERF" '
		function t(s) { sub(/:$/, "", s); return s + 0 }
		$1 == "K" {
			# K comm pid time: event: fields
			ts = t($4); ev = $5; sub(/:$/, "", ev)
			if (ev == "sched:sched_process_exec") {
				if (t0 == "" && index($0, "filename=" bin " ")) { t0 = ts; next }
				if ($0 ~ /filename=\/proc\/self\/fd\//) { if (!("re-exec of skiff (init)" in at)) at["re-exec of skiff (init)"] = ts; next }
				if ($0 ~ /filename=\/bin\/true/) { at["exec of /bin/true (kernel)"] = ts; next }
			}
			if (ev == "cgroup:cgroup_mkdir") { if (!("first cgroup mkdir" in at)) at["first cgroup mkdir"] = ts; nmk++ }
			if (ev == "cgroup:cgroup_attach_task") { at["last cgroup attach"] = ts; natt++ }
			if (ev == "cgroup:cgroup_rmdir") at["last cgroup rmdir"] = ts
			if (ev == "sched:sched_process_fork") nfork++
			if (ev == "sched:sched_process_exit") last_exit = ts
			next
		}
		$1 == "M" {
			ts = $2 + 0; name = $0; sub(/^M [0-9.]+ pid=[0-9]+ (cpu=[0-9.]+ )?/, "", name)
			if (perf == 0 && t0 == "" && name == "main") t0 = ts
			c = ""; if ($4 ~ /^cpu=/) { c = $4; sub(/^cpu=/, "", c) }
			if (!(name in at)) { at[name] = ts; cpu[name] = c }
		}
		END {
			if (t0 == "") exit 1
			if (perf == 1) at["skiff exited"] = last_exit
			for (k in at) printf "%s\t%.3f\n", k, (at[k] - t0) * 1000
			for (k in cpu) if (cpu[k] != "") printf "#cpu %s\t%s\n", k, cpu[k]
			if (perf == 1) printf "#count forks and threads\t%d\n#count cgroup mkdirs\t%d\n#count cgroup attaches\t%d\n", nfork, nmk, natt
		}' >"$WORK/m.$i" || die "run $i: no exec event of $SKIFF_BIN in the trace"
done

# medians per milestone, in the order of their median
cat "$WORK"/m.* | awk -F'\t' -v n="$RUNS" '
	{ v[$1] = v[$1] " " $2; c[$1]++ }
	END {
		for (k in v) {
			m = split(substr(v[k], 2), a, " ")
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
			med = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
			printf "%s\t%s\t%s\t%s\t%d\n", k, med, a[1], a[m], c[k]
		}
	}' | sort -t$'\t' -k2,2g >"$WORK/summary"

if ((PERF)); then
	echo "## skiff $VERB /bin/true: milestones, ms after skiff's execve (median of $RUNS runs [min-max])"
else
	echo "## skiff $VERB /bin/true: milestones, ms after skiff's main (median of $RUNS runs [min-max], no tracing)"
fi
echo
echo "| milestone | median | min-max | segment since previous | CPU of its process by then (median) |"
echo "|---|---:|---|---:|---:|"
awk -F'\t' 'NR == FNR { if ($1 ~ /^#cpu /) { k = $1; sub(/^#cpu /, "", k); c[k] = $2 }; next }
	$1 !~ /^#/ { seg = (n++ > 0) ? sprintf("%.2f", $2 - prev) : "-"; prev = $2
	printf "| %s | %.2f | %.2f-%.2f | %s | %s |\n", $1, $2, $3, $4, seg, ($1 in c) ? sprintf("%.2f", c[$1]) : "" }' "$WORK/summary" "$WORK/summary"
echo
grep '^#count' "$WORK/summary" | awk -F'\t' '{ sub(/^#count /, "", $1); printf "%s: %s (median)\n", $1, $2 }'
