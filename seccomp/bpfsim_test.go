package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// ret names a SECCOMP_RET_* value for test messages.
func retName(r uint32) string {
	data := r & unix.SECCOMP_RET_DATA
	switch r & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_KILL_PROCESS:
		return "KILL_PROCESS"
	case unix.SECCOMP_RET_KILL_THREAD:
		return "KILL_THREAD"
	case unix.SECCOMP_RET_TRAP:
		return "TRAP"
	case unix.SECCOMP_RET_ERRNO:
		return "ERRNO(" + unix.ErrnoName(unix.Errno(data)) + ")"
	case unix.SECCOMP_RET_USER_NOTIF:
		return "NOTIFY"
	case unix.SECCOMP_RET_TRACE:
		return fmt.Sprintf("TRACE(%d)", data)
	case unix.SECCOMP_RET_LOG:
		return "LOG"
	case unix.SECCOMP_RET_ALLOW:
		return "ALLOW"
	}
	return fmt.Sprintf("%#x", r)
}

const (
	retAllow       = uint32(unix.SECCOMP_RET_ALLOW)
	retKillThread  = uint32(unix.SECCOMP_RET_KILL_THREAD)
	retKillProcess = uint32(unix.SECCOMP_RET_KILL_PROCESS)
	retTrap        = uint32(unix.SECCOMP_RET_TRAP)
	retLog         = uint32(unix.SECCOMP_RET_LOG)
	retNotify      = uint32(unix.SECCOMP_RET_USER_NOTIF)
)

func retErrno(e unix.Errno) uint32 { return uint32(unix.SECCOMP_RET_ERRNO) | uint32(e) }
func retTrace(v uint32) uint32     { return uint32(unix.SECCOMP_RET_TRACE) | v }
