package seccomp

import (
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Whether Load may synchronise the filter to every thread (TSYNC).
//
// The init is a Go process: besides the locked thread that loads the
// filter and later calls execve, it has the runtime's threads (sysmon, idle
// Ms, GC workers). With TSYNC they are filtered from the moment of the
// load, and while the init waits for `start` (containerd leaves seconds
// between create and start) they keep making syscalls: sysmon sleeps with
// nanosleep, idle threads park in futex, the scavenger calls madvise. A
// strict profile that allows what the workload and the init's last steps
// need, but not those, then kills the init (KILL_PROCESS) or makes the
// runtime spin or throw (ERRNO on nanosleep, futex). runc loads the filter
// on the locked thread only, and such profiles work there.
//
// The thread that execs keeps its filter and execve ends the others, so
// the workload is filtered either way. So TSYNC is used when the filter
// lets the Go runtime's own syscalls through, checked by running the
// compiled program (bpfsim.go) on them, or when the profile asks for it
// with SECCOMP_FILTER_FLAG_TSYNC; otherwise the filter goes on the locked
// thread only, like runc.

// goIdleCall is a syscall the Go runtime's threads make while the init
// waits, with the arguments it uses on Linux.
type goIdleCall struct {
	name string
	args [6]uint64
}

// futex(2) operations the runtime uses (FUTEX_WAIT and FUTEX_WAKE with
// FUTEX_PRIVATE_FLAG).
const (
	futexWaitPrivate = 0 | 128
	futexWakePrivate = 1 | 128
)

// goCloneFlags is how the runtime starts a thread (runtime.cloneFlags).
const goCloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_SYSVSEM | unix.CLONE_THREAD

var goIdleCalls = []goIdleCall{
	{name: "futex", args: [6]uint64{0, futexWaitPrivate}},
	{name: "futex", args: [6]uint64{0, futexWakePrivate}},
	{name: "nanosleep"},
	{name: "sched_yield"},
	{name: "epoll_pwait"},
	{name: "madvise", args: [6]uint64{0, 0, unix.MADV_DONTNEED}},
	{name: "mmap"},
	{name: "munmap"},
	{name: "clone", args: [6]uint64{goCloneFlags}},
	{name: "rt_sigprocmask"},
	{name: "sigaltstack"},
	{name: "rt_sigreturn"},
	{name: "getpid"},
	{name: "gettid"},
	{name: "tgkill", args: [6]uint64{0, 0, uint64(unix.SIGURG)}},
}

// runtimeAllowed says the program answers ALLOW or LOG to every call of
// goIdleCalls on the native arch.
func runtimeAllowed(prog []unix.SockFilter, native libseccomp.ScmpArch) bool {
	audit, ok := auditArchs[native]
	if !ok {
		return false
	}
	for _, c := range goIdleCalls {
		nr, err := libseccomp.GetSyscallFromNameByArch(c.name, native)
		if err != nil || nr < 0 {
			continue // not a syscall here (the runtime uses another)
		}
		r, err := runBPF(prog, seccompData{nr: int32(nr), arch: audit, args: c.args})
		if err != nil {
			return false
		}
		if act := r & unix.SECCOMP_RET_ACTION_FULL; act != unix.SECCOMP_RET_ALLOW && act != unix.SECCOMP_RET_LOG {
			return false
		}
	}
	return true
}
