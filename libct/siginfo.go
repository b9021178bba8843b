package libct

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// si_code values for SIGCHLD.
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// siginfoChild extracts si_pid, si_code and si_status from a waitid
// result (x/sys exposes the union as raw bytes).
func siginfoChild(info *unix.Siginfo) (pid int, code int, status int) {
	type child struct {
		signo, errno, code int32
		_                  int32
		pid                int32
		uid                uint32
		status             int32
	}
	c := (*child)(unsafe.Pointer(info))
	return int(c.pid), int(c.code), int(c.status)
}
