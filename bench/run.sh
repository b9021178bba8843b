#!/usr/bin/env bash
# bench/run.sh - skiff, runc and crun side by side on this host (`make bench`).
#
# Usage: bench/run.sh [options]
#
# Every runtime gets the same busybox bundle (the config of `runc spec`: pid, net, ipc,
# uts and mount namespaces, no terminal, cgroupsPath /skiff-bench-<run>/<id>) and its
# own --root. Per-invocation figures are taken round-robin (sample i of every runtime,
# order rotated each round), so drift of a shared machine spreads over all columns.
# The whole run happens in a private mount namespace whose /sys/fs/cgroup/unified is
# hidden by a private tmpfs (crun 1.8 refuses this hybrid host otherwise); the host's
# mounts are untouched. Nothing may be left behind: containers, cgroups, state
# directories, processes and mounts are checked after the run, and the script exits
# non-zero, loudly, if anything was.
#
# Options:
#   --quick            a ~1 minute smoke run (also: BENCH_QUICK=1)
#   --runs N           samples per latency figure (default 40; quick 5)
#   --cycles N         create/delete cycles (default 500; quick 20)
#   --concurrency N    containers created+started at once (default 100; quick 10)
#   --rss-runs N       samples per verb under GNU time for peak RSS (default 10; quick 3)
#   --reps N           repeat the concurrency batches N times (default 3; quick 1)
#   --gap MS           idle time before each invocation that moves a process into a
#                      cgroup (default 50): the first cgroup.procs write after ~40 ms of
#                      quiet waits for an RCU grace period; the gap makes every runtime
#                      pay that cold cost, as a sporadic container start does
#   --runtimes "L..."  labels to run, from skiff runc crun (default: all three)
#   --skiff PATH       the skiff binary (default: $SKIFF, else ./skiff of the repo)
#   --no-hyperfine     skip the hyperfine cross-check of `run`
#   --no-view          do not hide cgroup2 (crun 1.8 then fails on a hybrid host)
#   --out DIR          results (default /tmp/skiff-bench-out/<run>)
#   --op-timeout S     limit for one invocation (default 30)
#   -h, --help
#
# Needs: root, bash >= 5, util-linux, coreutils, GNU time (/usr/bin/time), jq,
# hyperfine, a static busybox (/bin/busybox), runc and crun in PATH.

set -u -o pipefail
export LC_ALL=C LANG=C
shopt -s nullglob

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
HERE=${SELF%/*}
REPO=${HERE%/*}

QUICK=${BENCH_QUICK:-0}
[[ $QUICK == 1 ]] || QUICK=0
RUNS="" CYCLES="" CONC="" RSS_RUNS="" REPS="" GAP_MS=50 OP_TIMEOUT=30
LABELS="skiff runc crun" SKIFF_BIN=${SKIFF:-$REPO/skiff}
DO_HF=1 VIEW=1 OUT=""
ARGS=("$@")

die() { printf 'bench: %s\n' "$*" >&2; exit 2; }
say() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
num() { [[ ${2:-} =~ ^[0-9]+$ ]] && (($2 > 0)) || die "$1 needs a positive integer"; }

while (($#)); do
	case $1 in
	--quick) QUICK=1; shift ;;
	--runs) num "$1" "${2:-}"; RUNS=$2; shift 2 ;;
	--cycles) num "$1" "${2:-}"; CYCLES=$2; shift 2 ;;
	--concurrency) num "$1" "${2:-}"; CONC=$2; shift 2 ;;
	--rss-runs) num "$1" "${2:-}"; RSS_RUNS=$2; shift 2 ;;
	--reps) num "$1" "${2:-}"; REPS=$2; shift 2 ;;
	--gap) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--gap needs milliseconds"; GAP_MS=$2; shift 2 ;;
	--runtimes) LABELS=${2:-}; shift 2 ;;
	--skiff) SKIFF_BIN=${2:-}; shift 2 ;;
	--no-hyperfine) DO_HF=0; shift ;;
	--no-view) VIEW=0; shift ;;
	--out) OUT=${2:-}; shift 2 ;;
	--op-timeout) num "$1" "${2:-}"; OP_TIMEOUT=$2; shift 2 ;;
	-h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$SELF"; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
if ((QUICK)); then
	: "${RUNS:=8}" "${CYCLES:=40}" "${CONC:=20}" "${RSS_RUNS:=3}" "${REPS:=1}"
	DO_HF=0
else
	: "${RUNS:=40}" "${CYCLES:=500}" "${CONC:=100}" "${RSS_RUNS:=10}" "${REPS:=3}"
fi

((EUID == 0)) || die "must run as root (containers need namespaces and cgroups)"
((BASH_VERSINFO[0] >= 5)) || die "needs bash >= 5 (EPOCHREALTIME)"
for t in jq unshare nsenter timeout /usr/bin/time; do
	command -v "$t" >/dev/null || die "needs $t"
done
((DO_HF == 0)) || command -v hyperfine >/dev/null || die "needs hyperfine (or --no-hyperfine)"

# ---------------------------------------------------------------------------------------
# Helpers used on both sides of the view.

# cgroup mount points of this mount namespace; one covered by a later mount (the view's
# tmpfs over cgroup2) is skipped.
cg_mounts() {
	awk '{ for (i = 7; $i != "-"; i++); mp[$5] = $(i + 1); if (!($5 in seen)) { seen[$5] = 1; o[++n] = $5 } }
	     END { for (k = 1; k <= n; k++) if (mp[o[k]] == "cgroup" || mp[o[k]] == "cgroup2") print o[k] }' /proc/self/mountinfo
}

# cgroup directories of this run below <mount>/skiff-bench-<run>, deepest first.
cg_dirs() {
	local m
	for m in $(cg_mounts); do
		[[ -d $m/skiff-bench-$RUNID ]] && find "$m/skiff-bench-$RUNID" -mindepth 1 -depth -type d 2>/dev/null
	done
}

# processes of this run: inside its cgroups, or naming its ids or work directory.
run_procs() {
	local f p
	for f in /proc/[0-9]*/cgroup; do
		p=${f#/proc/}; p=${p%/cgroup}
		[[ $p == "$$" || $p == "$BASHPID" ]] && continue
		grep -q "/skiff-bench-$RUNID/" "$f" 2>/dev/null && { echo "$p"; continue; }
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qE "skb-$RUNID-" && echo "$p"
	done
}

# ---------------------------------------------------------------------------------------
# Outside the view: enter it, then check the host once the inner run is gone.
if ((VIEW)) && [[ ${SKIFF_BENCH_INNER:-} != 1 ]]; then
	RUNID=$(date +%m%d%H%M%S)-$$
	inner_rc=0
	if [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
		SKIFF_BENCH_INNER=1 SKIFF_BENCH_RUNID=$RUNID unshare --mount --propagation private -- \
			/bin/sh -c 'mount -t tmpfs -o size=4m,mode=0755 skiff-bench-view /sys/fs/cgroup/unified && exec "$@"' \
			sh "$SELF" "${ARGS[@]}" || inner_rc=$?
	else
		SKIFF_BENCH_INNER=1 SKIFF_BENCH_RUNID=$RUNID "$SELF" "${ARGS[@]}" || inner_rc=$?
	fi
	# The host view: the real cgroup2 hierarchy included.
	left=$(cg_dirs; for m in $(cg_mounts); do [[ -d $m/skiff-bench-$RUNID ]] && echo "$m/skiff-bench-$RUNID"; done)
	procs=$(run_procs)
	[[ -e /run/skiff-bench/$RUNID ]] && left+=$'\n'"/run/skiff-bench/$RUNID"
	if [[ -n ${left//$'\n'/} || -n $procs ]]; then
		printf '\nbench: FAILED: left behind on the host after the run:\n%s\n' "$left" >&2
		[[ -n $procs ]] && printf 'processes: %s\n' "$procs" >&2
		exit 1
	fi
	exit "$inner_rc"
fi

# ---------------------------------------------------------------------------------------
# The run itself.
RUNID=${SKIFF_BENCH_RUNID:-$(date +%m%d%H%M%S)-$$}
STATE=/run/skiff-bench/$RUNID
WORK=$(mktemp -d /tmp/skiff-bench.XXXXXX) || die "mktemp"
OUT=${OUT:-/tmp/skiff-bench-out/$RUNID}
mkdir -p "$OUT" "$STATE" || die "cannot create $OUT or $STATE"
LOG=$OUT/bench.log
: >"$LOG"
echo "$$" >"$STATE/owner"

declare -A RT VER
read -r -a LAB <<<"$LABELS"
((${#LAB[@]} > 0)) || die "--runtimes is empty"
for l in "${LAB[@]}"; do
	case $l in
	skiff) [[ -x $SKIFF_BIN ]] || die "no skiff binary at $SKIFF_BIN (make skiff, or --skiff PATH)"
		RT[$l]=$(readlink -f -- "$SKIFF_BIN") ;;
	runc | crun) RT[$l]=$(command -v "$l") || die "$l is not installed" ;;
	*) die "unknown runtime label '$l' (skiff, runc or crun)" ;;
	esac
	# The same page-cache state for every binary: written back, dropped
	# from the cache, read again by its first exec. A binary the linker has
	# just written sits in the cache in the pages of its writes: skiff's
	# --version peaked at 8.7 MB from a fresh link against 6.8-7.2 MB once
	# re-read, and started ~0.2 ms slower (bench/README.md).
	sync -- "${RT[$l]}" 2>/dev/null || sync
	dd if="${RT[$l]}" iflag=nocache count=0 status=none 2>/dev/null || true
	VER[$l]=$("${RT[$l]}" --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -1)
	mkdir -p "$STATE/$l"
done

# One background shell is the watchdog for every timed invocation: it reads a pid,
# then waits for "done"; past --op-timeout it SIGKILLs the pid and its descendants.
descendants() {
	local t c
	local -a kids
	for t in /proc/"$1"/task/*/children; do
		read -r -a kids <"$t" 2>/dev/null || continue
		for c in "${kids[@]}"; do echo "$c"; descendants "$c"; done
	done
}
watchdog() {
	local pid ok lim
	while read -r pid lim; do
		read -r -t "$lim" ok
		if (($? > 128)); then
			printf '[watchdog] pid %s exceeded %ss: killed\n' "$pid" "$lim" >>"$LOG"
			kill -KILL $(descendants "$pid") "$pid" 2>/dev/null
			read -r ok
		fi
	done
}
coproc WD { watchdog; }
WD_IN=${WD[1]} WD_OUT=${WD[0]}
NTIMEOUT=0

# A pipe nobody writes: `read -t` on it is a sleep without a fork.
exec {GAPFD}<> <(:)
gap() { ((GAP_MS > 0)) && read -r -t "0.$(printf '%03d' "$GAP_MS")" -u "$GAPFD"; return 0; }
((GAP_MS < 1000)) || die "--gap must be below 1000 ms"

# ---------------------------------------------------------------------------------------
# Cleanup: on every exit, delete what the runtimes still hold, sweep cgroups, remove the
# work and state directories. What had to be removed is reported as left behind.
CLEANED=0
cleanup() {
	((CLEANED)) && return
	CLEANED=1
	local l d id p
	exec {WD_IN}>&- 2>/dev/null
	for l in "${LAB[@]}"; do
		for d in "$STATE/$l"/*/; do
			id=${d%/}; id=${id##*/}
			timeout -k 2 15 "${RT[$l]}" --root "$STATE/$l" kill "$id" KILL </dev/null >/dev/null 2>>"$LOG"
			timeout -k 2 15 "${RT[$l]}" --root "$STATE/$l" delete --force "$id" </dev/null >/dev/null 2>>"$LOG" ||
				printf 'bench: %s could not delete %s\n' "$l" "$id" >&2
		done
	done
	for p in $(run_procs); do kill -KILL "$p" 2>/dev/null; done
	for d in $(cg_dirs); do
		for _ in 1 2 3 4 5; do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
	done
	for d in $(cg_mounts); do
		[[ -d $d/skiff-bench-$RUNID ]] && rmdir "$d/skiff-bench-$RUNID" 2>/dev/null
	done
	rm -rf -- "$STATE" "$WORK"
	rmdir /run/skiff-bench 2>/dev/null
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

# leftovers now (before cleanup): containers in the state roots, cgroup directories of
# containers, processes, mounts naming the work directory.
leftovers() {
	local l d
	for l in "${LAB[@]}"; do
		for d in "$STATE/$l"/*/; do echo "container ${d%/} ($l)"; done
	done
	for d in $(cg_dirs); do echo "cgroup $d"; done
	for d in $(run_procs); do echo "process $d: $(tr '\0' ' ' 2>/dev/null <"/proc/$d/cmdline")"; done
	grep -F -e "$WORK" -e "skb-$RUNID" /proc/self/mountinfo | sed 's/^/mount /'
}

# ---------------------------------------------------------------------------------------
# Bundles: one busybox rootfs shared by all, one config.json per container id (the
# cgroupsPath names the id). Made outside the timed region.
say "run $RUNID: building the busybox bundle in $WORK"
BB=/bin/busybox
file -L "$BB" 2>/dev/null | grep -q 'statically linked' || die "$BB is not a static busybox (apt-get install busybox-static)"
mkdir -p "$WORK/rootfs"/{bin,etc,proc,sys,dev,tmp,root} "$WORK/b"
cp "$BB" "$WORK/rootfs/bin/busybox"
for a in $("$BB" --list); do [[ $a == busybox ]] || ln -s busybox "$WORK/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$WORK/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$WORK/rootfs/etc/group"
(cd "$WORK" && runc spec) || die "runc spec failed"
template() {
	jq -c --arg root "$WORK/rootfs" --arg cg "/skiff-bench-$RUNID/@ID@" --argjson args "$1" \
		'.process.terminal = false | .process.args = $args | .root.path = $root | .linux.cgroupsPath = $cg' \
		"$WORK/config.json"
}
TPL_TRUE=$(template '["/bin/true"]') && TPL_SLEEP=$(template '["/bin/sleep","100000"]') || die "jq failed"
# The containers' parent cgroup exists before them in every hierarchy, as an engine's does
# (/docker, kubepods, machine.slice): skiff's delete removes a parent that its own create
# made (runc and crun leave it), which would otherwise cost skiff a parent mkdir and rmdir
# in 10 hierarchies (~1 ms) on every container of a sequential run. cleanup removes it.
for m in $(cg_mounts); do mkdir -p "$m/skiff-bench-$RUNID" || die "mkdir $m/skiff-bench-$RUNID"; done
mkb() { # id template -> bundle dir in $B
	B=$WORK/b/$1
	[[ -d $B ]] || mkdir "$B"
	printf '%s' "${2//@ID@/$1}" >"$B/config.json"
}

# ---------------------------------------------------------------------------------------
# Invocations. `inv LABEL ARGS...` runs the runtime with --root, times it (bash's
# EPOCHREALTIME around fork..wait), sets DT (microseconds) and RC; stderr goes to the
# log, stdout to /dev/null (OUTF to keep it).
OUTF=/dev/null
inv() {
	local l=$1 t0 t1 pid
	shift
	t0=$EPOCHREALTIME
	"${RT[$l]}" --root "$STATE/$l" "$@" </dev/null >"$OUTF" 2>>"$LOG" {GAPFD}<&- {WD_IN}>&- {WD_OUT}<&- &
	pid=$!
	printf '%s %s\n' "$pid" "$OP_TIMEOUT" >&"$WD_IN"
	wait "$pid"
	RC=$?
	t1=$EPOCHREALTIME
	printf 'done\n' >&"$WD_IN"
	DT=$((${t1/./} - ${t0/./}))
	if ((RC != 0)); then
		printf '[%s] %s %s: exit %s\n' "$l" "${RT[$l]}" "$*" "$RC" >>"$LOG"
		((RC == 137)) && ((NTIMEOUT++))
	fi
}
# untimed, bounded by timeout(1)
quiet() {
	local l=$1
	shift
	timeout -k 2 "$OP_TIMEOUT" "${RT[$l]}" --root "$STATE/$l" "$@" </dev/null >/dev/null 2>>"$LOG" {GAPFD}<&- {WD_IN}>&- {WD_OUT}<&-
}

# samples: $WORK/s/<label>.<figure>, one value a line; errors counted alongside.
mkdir -p "$WORK/s"
rec() { printf '%s\n' "$3" >>"$WORK/s/$1.$2"; }
err() { printf 'x\n' >>"$WORK/s/$1.$2.err"; }
ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); } # us -> ms
rec_inv() { # label figure: record DT (ms) or an error
	if ((RC == 0)); then rec "$1" "$2" "$(ms "$DT")"; else err "$1" "$2"; fi
}

# round-robin order for sample i: rotate the labels
order() {
	local i=$1 n=${#LAB[@]} k
	for ((k = 0; k < n; k++)); do printf '%s ' "${LAB[(i + k) % n]}"; done
}

wait_gone() { # pid: until it has exited (gone or zombie), polled every 0.2 ms
	local st rest
	while [[ -r /proc/$1/stat ]]; do
		read -r _ _ st rest <"/proc/$1/stat" 2>/dev/null || break
		[[ $st == Z || $st == X ]] && break
		read -r -t 0.0002 -u "$GAPFD"
	done
}

# ---------------------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "runtimes: $(for l in "${LAB[@]}"; do printf '%s %s (%s)  ' "$l" "${VER[$l]}" "${RT[$l]}"; done)"
say "runs $RUNS, cycles $CYCLES, concurrency $CONC, rss-runs $RSS_RUNS, reps $REPS, gap ${GAP_MS} ms$( ((QUICK)) && echo ', quick')"

# smoke test: one run of each, stop with its error
for l in "${LAB[@]}"; do
	mkb "skb-$RUNID-$l-smoke" "$TPL_TRUE"
	before=$(wc -l <"$LOG")
	inv "$l" run --bundle "$B" "skb-$RUNID-$l-smoke"
	if ((RC != 0)); then
		tail -n +"$((before + 1))" "$LOG" >&2
		[[ $l == crun ]] && ! ((VIEW)) && echo "bench: crun 1.8 refuses hybrid cgroup hosts: drop --no-view" >&2
		die "$l cannot run a container (exit $RC); see above"
	fi
done
# warm-up: two more runs each (page cache, dentries), not recorded
for ((i = 0; i < 2; i++)); do
	for l in "${LAB[@]}"; do inv "$l" run --bundle "$WORK/b/skb-$RUNID-$l-smoke" "skb-$RUNID-$l-smoke"; done
done

# --- run /bin/true, attached ----------------------------------------------------------
say "run /bin/true x $RUNS"
for ((i = 0; i < RUNS; i++)); do
	for l in $(order "$i"); do
		mkb "skb-$RUNID-$l-run" "$TPL_TRUE"
		gap
		inv "$l" run --bundle "$B" "skb-$RUNID-$l-run"
		rec_inv "$l" run
	done
done

# --- create / start / (wait) / delete, separately --------------------------------------
say "create / start / delete x $RUNS"
for ((i = 0; i < RUNS; i++)); do
	for l in $(order "$i"); do
		id=skb-$RUNID-$l-split
		mkb "$id" "$TPL_TRUE"
		rm -f "$WORK/$l.pid"
		gap
		inv "$l" create --bundle "$B" --pid-file "$WORK/$l.pid" "$id"
		rec_inv "$l" create
		((RC == 0)) || { quiet "$l" delete --force "$id"; continue; }
		read -r pid <"$WORK/$l.pid"
		# what a created container keeps while it waits for start
		rss_kb=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status" 2>/dev/null)
		[[ -n $rss_kb ]] && rec "$l" init_rss "$(awk -v k="$rss_kb" 'BEGIN {printf "%.2f", k / 1024}')"
		inv "$l" start "$id"
		rec_inv "$l" start
		t0=$EPOCHREALTIME
		wait_gone "$pid"
		t1=$EPOCHREALTIME
		rec "$l" wait "$(ms $((${t1/./} - ${t0/./})))"
		inv "$l" delete "$id"
		rec_inv "$l" delete
		((RC == 0)) || quiet "$l" delete --force "$id"
	done
done

# --- exec /bin/true into a running container --------------------------------------------
say "exec /bin/true x $RUNS"
for l in "${LAB[@]}"; do
	mkb "skb-$RUNID-$l-exec" "$TPL_SLEEP"
	quiet "$l" run --detach --bundle "$B" "skb-$RUNID-$l-exec" || die "$l: cannot start the exec target (see $LOG)"
done
for ((i = 0; i < RUNS; i++)); do
	for l in $(order "$i"); do
		gap
		inv "$l" exec "skb-$RUNID-$l-exec" /bin/true
		rec_inv "$l" exec
	done
done
for ((i = 0; i < RUNS; i++)); do
	for l in $(order "$i"); do
		inv "$l" state "skb-$RUNID-$l-exec"
		rec_inv "$l" state
	done
done
for l in "${LAB[@]}"; do
	quiet "$l" kill "skb-$RUNID-$l-exec" KILL
	quiet "$l" delete --force "skb-$RUNID-$l-exec"
done

# --- hyperfine cross-check of run --------------------------------------------------------
if ((DO_HF)); then
	say "hyperfine: run /bin/true x $RUNS"
	for l in "${LAB[@]}"; do
		mkb "skb-$RUNID-$l-hf" "$TPL_TRUE"
		hyperfine -N --style none --warmup 3 --runs "$RUNS" --prepare "sleep 0.$(printf '%03d' "$GAP_MS")" \
			--export-json "$WORK/hf-$l.json" \
			"${RT[$l]} --root $STATE/$l run --bundle $B skb-$RUNID-$l-hf" >>"$LOG" 2>&1 ||
			{ err "$l" hf; continue; }
		jq -r '.results[0].median * 1000' "$WORK/hf-$l.json" >>"$WORK/s/$l.hf"
	done
fi

# --- create/delete cycles, back to back, in interleaved chunks ------------------------------
CHUNKS=10
((CYCLES < CHUNKS)) && CHUNKS=$CYCLES
say "$CYCLES create/delete cycles (in $CHUNKS interleaved chunks)"
declare -A CYC_US
for l in "${LAB[@]}"; do CYC_US[$l]=0; mkb "skb-$RUNID-$l-cyc" "$TPL_SLEEP"; done
for ((c = 0; c < CHUNKS; c++)); do
	n=$((CYCLES / CHUNKS + (c < CYCLES % CHUNKS ? 1 : 0)))
	for l in $(order "$c"); do
		B=$WORK/b/skb-$RUNID-$l-cyc
		for ((k = 0; k < n; k++)); do
			inv "$l" create --bundle "$B" "skb-$RUNID-$l-cyc"
			CYC_US[$l]=$((CYC_US[$l] + DT))
			rec_inv "$l" cyc_create
			inv "$l" delete "skb-$RUNID-$l-cyc"
			CYC_US[$l]=$((CYC_US[$l] + DT))
			rec_inv "$l" cyc_delete
			((RC == 0)) || quiet "$l" delete --force "skb-$RUNID-$l-cyc"
		done
	done
done
for l in "${LAB[@]}"; do rec "$l" cycles "$(ms $((CYC_US[$l] / 1000)))"; done # seconds

# --- peak RSS of each verb (GNU time %M: the process and the children it waited for) ---
say "peak RSS x $RSS_RUNS per verb"
rss() { # label figure args...: one sample under GNU time
	local l=$1 f=$2
	shift 2
	gap
	if /usr/bin/time -f %M -o "$WORK/rss" timeout -k 2 "$OP_TIMEOUT" "${RT[$l]}" --root "$STATE/$l" "$@" \
		</dev/null >/dev/null 2>>"$LOG" {GAPFD}<&-; then
		rec "$l" "$f" "$(awk '{ printf "%.2f", $1 / 1024 }' "$WORK/rss")"
	else
		err "$l" "$f"
	fi
}
for ((i = 0; i < RSS_RUNS; i++)); do
	for l in $(order "$i"); do
		id=skb-$RUNID-$l-rss
		mkb "$id" "$TPL_SLEEP"
		rss "$l" rss_create create --bundle "$B" "$id"
		rss "$l" rss_start start "$id"
		rss "$l" rss_exec exec "$id" /bin/true
		# skiff's first exec of a command saves its orders; the next one
		# runs without a Go runtime (init/execparent.h).
		rss "$l" rss_exec2 exec "$id" /bin/true
		rss "$l" rss_state state "$id"
		rss "$l" rss_list list
		rss "$l" rss_kill kill "$id" KILL
		rss "$l" rss_delete delete --force "$id"
		mkb "$id" "$TPL_TRUE"
		rss "$l" rss_run run --bundle "$B" "$id"
	done
done

# --- N containers created+started at once, list/state with N, N killed+deleted at once --
conc_batch() { # label verb-batch: all at once, timed until the last returns
	local l=$1 what=$2 j id t0 t1 bp
	t0=$EPOCHREALTIME
	(
		for ((j = 1; j <= CONC; j++)); do
			id=skb-$RUNID-$l-c$j
			if [[ $what == start ]]; then
				{ "${RT[$l]}" --root "$STATE/$l" create --bundle "$WORK/b/$id" "$id" </dev/null >/dev/null 2>>"$LOG" &&
					"${RT[$l]}" --root "$STATE/$l" start "$id" </dev/null >/dev/null 2>>"$LOG" ||
					echo "$id" >>"$WORK/conc-err"; } &
			else
				{ "${RT[$l]}" --root "$STATE/$l" kill "$id" KILL </dev/null >/dev/null 2>>"$LOG"
					"${RT[$l]}" --root "$STATE/$l" delete --force "$id" </dev/null >/dev/null 2>>"$LOG" ||
						echo "$id" >>"$WORK/conc-err"; } &
			fi
		done
		wait
	) {GAPFD}<&- &
	bp=$!
	printf '%s %s\n' "$bp" 600 >&"$WD_IN"
	wait "$bp"
	t1=$EPOCHREALTIME
	printf 'done\n' >&"$WD_IN"
	DT=$((${t1/./} - ${t0/./}))
}
say "$CONC x create+start at once, list and state with $CONC containers, $CONC x kill+delete at once (x $REPS)"
for l in "${LAB[@]}"; do for ((j = 1; j <= CONC; j++)); do mkb "skb-$RUNID-$l-c$j" "$TPL_SLEEP"; done; done
for ((r = 0; r < REPS; r++)); do
	for l in $(order "$r"); do
		rm -f "$WORK/conc-err"
		gap
		conc_batch "$l" start
		if [[ -e $WORK/conc-err ]]; then
			err "$l" conc_start
			printf '[%s] %d of the concurrent create+start failed\n' "$l" "$(wc -l <"$WORK/conc-err")" >>"$LOG"
		else
			rec "$l" conc_start "$(ms $((DT / 1000)))"
		fi
	done
	for ((i = 0; i < RUNS; i++)); do
		for l in $(order "$i"); do
			inv "$l" list
			rec_inv "$l" list_n
			inv "$l" state "skb-$RUNID-$l-c1"
			rec_inv "$l" state_n
		done
	done
	for l in $(order "$r"); do
		rm -f "$WORK/conc-err"
		conc_batch "$l" stop
		if [[ -e $WORK/conc-err ]]; then err "$l" conc_stop; else rec "$l" conc_stop "$(ms $((DT / 1000)))"; fi
	done
	for ((i = 0; i < RUNS; i++)); do
		for l in $(order "$i"); do
			inv "$l" list
			rec_inv "$l" list_0
		done
	done
done

# ---------------------------------------------------------------------------------------
# Leftovers, then the table.
LEFT=$(leftovers)

stat_of() { # label figure what(median|p95|min|max|n) -> value or "-"
	local f=$WORK/s/$1.$2
	[[ -s $f ]] || { echo -; return; }
	sort -g "$f" | awk -v w="$3" '{ a[NR] = $1 } END {
		if (w == "n") { print NR; exit }
		if (w == "min") { print a[1]; exit }
		if (w == "max") { print a[NR]; exit }
		if (w == "p95") { i = int(0.95 * NR + 0.999); if (i < 1) i = 1; print a[i]; exit }
		print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
nerr() { [[ -e $WORK/s/$1.$2.err ]] && wc -l <"$WORK/s/$1.$2.err" || echo 0; }
fmt() { # value [decimals]
	[[ $1 == - ]] && { echo -; return; }
	awk -v v="$1" -v d="${2:-}" 'BEGIN { if (d == "") d = (v < 10) ? 2 : 1; printf "%.*f", d, v }'
}
cell() { # label figure unit [decimals]
	local m e
	m=$(stat_of "$1" "$2" median)
	e=$(nerr "$1" "$2")
	printf '%s%s' "$(fmt "$m" "${4:-}") $3" "$( ((e > 0)) && echo " ($e err)")"
}
ratio() { # figure against-label
	local a b
	a=$(stat_of skiff "$1" median) b=$(stat_of "$2" "$1" median)
	[[ $a == - || $b == - ]] && { echo -; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'
}
# target check: figure op bound -> "yes"/"NO"/"-"
meets() {
	local v
	v=$(stat_of skiff "$1" median)
	[[ $v == - ]] && { echo -; return; }
	awk -v v="$v" -v b="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? v <= b : v < b; print ok ? "yes" : "**NO**" }'
}
have() { [[ " ${LAB[*]} " == *" $1 "* ]]; }
col() { have "$1" && cell "$1" "${@:2}" || echo -; }
rat() { have skiff && have "$2" && ratio "$1" "$2" || echo -; }

# cycle target scales with --cycles (12 s for 500 = 24 ms a cycle)
CYC_BOUND=$(awk -v n="$CYCLES" 'BEGIN { printf "%.3f", 12 * n / 500 }')
crun_of() { stat_of crun "$1" median; }
{
	echo "## skiff benchmark, run $RUNID"
	echo
	echo "$(uname -r), $(nproc) CPUs, load $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (the concurrent batches raise it); runs $RUNS, cycles $CYCLES, concurrency $CONC, reps $REPS, gap ${GAP_MS} ms$( ((VIEW)) && echo ', cgroup v1 view')$( ((QUICK)) && echo ', QUICK (smoke figures, not for quoting)')"
	echo
	h() { have "$1" && echo "$1 ${VER[$1]}" || echo "$1 (not run)"; }
	echo "| figure | $(h skiff) | $(h runc) | $(h crun) | skiff/runc | skiff/crun | target for skiff | met |"
	echo "|---|---:|---:|---:|---:|---:|---|:-:|"
	row() { # title figure unit target-text op bound
		echo "| $1 | $(col skiff "$2" "$3") | $(col runc "$2" "$3") | $(col crun "$2" "$3") | $(rat "$2" runc) | $(rat "$2" crun) | $4 | $(have skiff && [[ $6 != - ]] && meets "$2" "$5" "$6" || echo -) |"
	}
	row "run /bin/true (median)" run ms "≤ 15 ms" "<=" 15
	((DO_HF)) && row "run /bin/true, hyperfine median" hf ms "≤ 15 ms" "<=" 15
	have crun && cb=$(crun_of create) || cb=-
	row "create" create ms "below crun" "<" "$cb"
	have crun && cb=$(crun_of start) || cb=-
	row "start" start ms "below crun" "<" "$cb"
	have crun && cb=$(crun_of delete) || cb=-
	row "delete (stopped)" delete ms "below crun" "<" "$cb"
	row "exec /bin/true" exec ms "≤ 10 ms" "<=" 10
	row "$CYCLES create/delete cycles, total" cycles s "≤ $CYC_BOUND s" "<=" "$CYC_BOUND"
	row "list with $CONC containers" list_n ms "≤ 5 ms" "<=" 5
	row "$CONC create+start at once" conc_start s "≤ 0.8 s" "<=" 0.8
	# peak RSS per invocation: the largest median over the verbs
	for l in "${LAB[@]}"; do
		for f in rss_create rss_start rss_exec rss_state rss_list rss_kill rss_delete rss_run; do
			stat_of "$l" "$f" median
		done | grep -v '^-$' | sort -g | tail -1 >"$WORK/s/$l.rss_peak"
		[[ -s $WORK/s/$l.rss_peak ]] || rm -f "$WORK/s/$l.rss_peak"
	done
	row "peak RSS per invocation (worst verb, median)" rss_peak MiB "≤ 5 MiB" "<=" 5
	echo
	echo "Details (medians; p95 of latencies in brackets):"
	echo
	echo "| figure | $(h skiff) | $(h runc) | $(h crun) |"
	echo "|---|---:|---:|---:|"
	drow() { # title figure unit
		local l out="| $1 |"
		for l in skiff runc crun; do
			if have "$l" && [[ $(stat_of "$l" "$2" n) != - ]]; then
				out+=" $(cell "$l" "$2" "$3")"
				[[ $3 == ms && $(stat_of "$l" "$2" n) -ge 10 ]] && out+=" [$(fmt "$(stat_of "$l" "$2" p95)")]"
				out+=" |"
			else
				out+=" - |"
			fi
		done
		echo "$out"
	}
	drow "run /bin/true" run ms
	drow "create" create ms
	drow "start" start ms
	drow "wait for exit (after start)" wait ms
	drow "delete" delete ms
	drow "exec /bin/true" exec ms
	drow "state (1 container)" state ms
	drow "state ($CONC containers)" state_n ms
	drow "list (0 containers)" list_0 ms
	drow "list ($CONC containers)" list_n ms
	drow "create in the cycles (no gap)" cyc_create ms
	drow "delete of a created container" cyc_delete ms
	drow "init of a created container, VmRSS" init_rss MiB
	drow "$CONC kill+delete at once" conc_stop s
	for f in create start exec state list kill delete run; do drow "peak RSS of $f" "rss_$f" MiB; done
	drow "peak RSS of exec, the same command again" rss_exec2 MiB
	echo
	echo "Watchdog timeouts: $NTIMEOUT. Log of failed invocations: $LOG"
} >"$OUT/results.md"
cp -r "$WORK/s" "$OUT/samples"
cat "$OUT/results.md"

status=0
if [[ -n $LEFT ]]; then
	printf '\nbench: FAILED: left behind by the runtimes (now removed):\n%s\n' "$LEFT" >&2
	status=1
fi
errs=$(cat "$WORK"/s/*.err 2>/dev/null | wc -l)
if ((errs > 0)); then
	printf '\nbench: FAILED: %d invocations failed; see %s\n' "$errs" "$LOG" >&2
	status=1
fi
cleanup
trap - EXIT
# after cleanup nothing of ours may remain in this view either
LEFT=$( (cg_dirs; [[ -e $STATE ]] && echo "$STATE"; [[ -e $WORK ]] && echo "$WORK") )
if [[ -n $LEFT ]]; then
	printf '\nbench: FAILED: could not remove:\n%s\n' "$LEFT" >&2
	status=1
fi
exit "$status"
