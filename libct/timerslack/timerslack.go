// Package timerslack keeps skiff's own timer slack out of the processes
// skiff starts for others.
//
// Every skiff process runs with a timer slack of Skiff (init/nsenter.c sets
// it before the Go runtime starts, so every thread inherits it). The Go
// runtime's sysmon thread sleeps 20 µs at a time while the process is busy,
// which the kernel stretches by the slack: with the default 50 µs that is a
// wake-up and two context switches every ~70 µs of a skiff process's life,
// most of its context switches (a create: ~160 of them). With 0.5 ms a
// create makes ~76; the CPU this saves counts most when the CPUs are
// shared (100 creates at once: 1.3 ms less kernel CPU a container; see
// bench/README.md). Nothing in skiff waits on a timer that needs better
// than millisecond precision.
//
// The workload, an exec'd process, hooks and `ps` must not inherit it:
// they get the caller's value (the slack of the thread that started
// skiff), which the constructor recorded, and which an init receives from
// its parent in Env.
package timerslack

import (
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Skiff is skiff's own timer slack in ns (init/nsenter.c has the same
// number).
const Skiff = 500000

// Env is the variable that carries the caller's slack to an init.
const Env = "_SKIFF_TIMERSLACK"

// caller is the caller's timer slack in ns; 0 when unknown (a program
// without the constructor, such as a unit test), and then nothing is
// changed.
var caller uint64

// SetCaller records the caller's slack (the constructor's measurement).
func SetCaller(ns uint64) { caller = ns }

// Caller returns the caller's slack in ns, 0 if unknown.
func Caller() uint64 { return caller }

// EnvVar returns Env=<caller> for the environment of an init, or nothing
// when the caller's slack is unknown.
func EnvVar() []string {
	if caller == 0 {
		return nil
	}
	return []string{Env + "=" + strconv.FormatUint(caller, 10)}
}

// ForExec gives the calling thread the caller's slack, for the execve of
// the workload that follows on this thread (the init's thread is locked).
// It must come before seccomp is loaded: a profile may deny prctl.
func ForExec() error {
	if caller == 0 {
		return nil
	}
	return unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(caller), 0, 0, 0)
}

// Start starts cmd with the caller's slack: the child inherits the slack of
// the thread that forks it, so it forks from a locked thread set to that
// value, which then gets its previous value back.
func Start(cmd *exec.Cmd) error {
	if caller == 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	prev, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || uint64(prev) == caller {
		return cmd.Start()
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(caller), 0, 0, 0); err != nil {
		return cmd.Start()
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(prev), 0, 0, 0)
	return cmd.Start()
}
