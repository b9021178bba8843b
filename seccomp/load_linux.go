package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs the program in the calling process with seccomp(2) and
// returns the notify listener fd, or -1 when the program has no NOTIFY
// rule. It makes no libseccomp call: the init runs it between set-up
// steps, where every syscall counts.
//
// The caller is on a locked OS thread, and either has no_new_privs set or
// still holds CAP_SYS_ADMIN (the kernel's condition for an unprivileged
// filter).
//
// Threads: with p.TSync (tsync.go) the filter goes to every thread of the
// process, else to the calling one only, which is the thread that execs
// the workload. TSYNC and NEW_LISTENER together are refused unless
// TSYNC_ESRCH is set too (Linux 5.7): with TSYNC alone a failure returns a
// thread id, which could not be told from a listener fd. On older kernels
// a notify filter goes on this thread only.
func (p *Program) Load() (int, error) {
	if p == nil || len(p.Filter) == 0 {
		return -1, errors.New("empty seccomp program")
	}
	if len(p.Filter) > bpfMaxInsns {
		return -1, fmt.Errorf("seccomp program has %d instructions, more than the kernel accepts (%d)", len(p.Filter), bpfMaxInsns)
	}
	fl := p.Flags
	if p.TSync {
		fl |= unix.SECCOMP_FILTER_FLAG_TSYNC
	}
	if p.Notify {
		fl |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		if fl&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 {
			if kernelAccepts(unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH) {
				fl |= unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
			} else {
				fl &^= unix.SECCOMP_FILTER_FLAG_TSYNC
			}
		}
	} else {
		fl &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	prog := unix.SockFprog{Len: uint16(len(p.Filter)), Filter: &p.Filter[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(fl), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(p.Filter)
	if errno != 0 {
		return -1, loadError(errno, fl)
	}
	if fl&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && fl&unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH == 0 && r != 0 {
		// TSYNC without NEW_LISTENER: a positive return is the thread
		// that could not take the filter; none was installed.
		return -1, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): thread %d has a different filter and cannot be synchronised (TSYNC)", r)
	}
	if p.Notify {
		return int(r), nil
	}
	return -1, nil
}

func loadError(errno unix.Errno, fl uint) error {
	hint := ""
	switch errno {
	case unix.EACCES:
		hint = ": loading a filter needs no_new_privs or CAP_SYS_ADMIN"
	case unix.EINVAL:
		hint = fmt.Sprintf(": the kernel (%s) refused the filter or its flags %#x", kernelRelease(), fl)
	case unix.ENOMEM:
		hint = ": the process has too many filters already (32768 instructions in all)"
	case unix.ESRCH:
		hint = ": another thread has a different filter and cannot be synchronised (TSYNC)"
	case unix.EBUSY:
		hint = ": a notify listener already exists in this process's filters"
	}
	return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w (%s)%s", errno, unix.ErrnoName(errno), hint)
}

// kernelAccepts says whether the running kernel knows the filter flags fl:
// seccomp(2) checks flags before it reads the program, so a NULL program
// fails with EFAULT when the flags are fine and EINVAL when not (the probe
// libseccomp uses). Nothing is installed.
func kernelAccepts(fl uint) bool {
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(fl), 0)
	return errno == unix.EFAULT
}
