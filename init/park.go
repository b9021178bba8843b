package containerinit

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/phase"
	"github.com/skiff-runtime/skiff/libct/proto"
	"github.com/skiff-runtime/skiff/seccomp"
)

// sealedExe is the fd of the sealed binary this init was executed from, or
// -1.
var sealedExe = -1

// parkInGo is set by the parent (SKIFF_PARK=go in its environment, for
// tests and comparisons): the created container waits in this Go process.
var parkInGo = os.Getenv("_SKIFF_PARK_GO") == "1"

// maxFilter is the kernel's limit of a seccomp program (BPF_MAXINSNS); a
// longer one is left to the Go path, whose error explains it.
const maxFilter = 4096

// canParkInC tells whether the created container can wait for start in the
// constructor's park (park.h) instead of this Go process: a C process of a
// few pages that `start` releases and `delete` kills at the cost of a
// small process, not of a Go runtime's threads and heap.
//
// Not when the wait needs Go: startContainer hooks run between start and
// the workload's exec; an AppArmor or SELinux label is applied at the next
// execve, which would be the park's, and the park then opens the FIFO
// under the container's label; a seccomp filter with a notify listener is
// handed over through the sync socket; a filter without no_new_privs is
// loaded while the init still holds CAP_SYS_ADMIN, and the park would then
// run under it. Every other filter is loaded by the park, right before the
// workload's execve.
func canParkInC(c *proto.InitConfig, prog *seccomp.Program) bool {
	if parkInGo || sealedExe < 0 || c.Mode != proto.ModeStandard {
		return false
	}
	p := c.Process
	if p.ApparmorProfile != "" || p.SelinuxLabel != "" {
		return false
	}
	if s := c.Spec; s != nil && s.Hooks != nil && len(s.Hooks.StartContainer) > 0 {
		return false
	}
	if prog != nil && (prog.Notify || !p.NoNewPrivileges || len(prog.Filter) == 0 || len(prog.Filter) > maxFilter) {
		return false
	}
	return true
}

// parkInC re-executes the sealed binary as the parked init, with the
// workload's argv and environment and the order park.h reads first in it.
// It returns only if that execve failed; the caller then waits in Go.
func parkInC(c *proto.InitConfig, path string, env []string, prog *seccomp.Program) error {
	// The O_PATH handle of the FIFO is the one fd the park needs besides
	// the passed ones; every other fd of ours is close-on-exec.
	if _, err := unix.FcntlInt(uintptr(c.FifoFd), unix.F_SETFD, 0); err != nil {
		return err
	}
	filter := "-"
	if prog != nil {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&prog.Filter[0])), len(prog.Filter)*int(unsafe.Sizeof(prog.Filter[0])))
		// One thread: no TSYNC; no listener: no killable wait.
		filter = fmt.Sprintf("%d:%x", prog.Flags&^uint(unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV), raw)
	}
	order := fmt.Sprintf("_SKIFF_PARK=%d %d %s %s", c.FifoFd, c.PassFDs, filter, path)
	envv := make([]string, 0, len(env)+1)
	envv = append(append(envv, order), env...)
	phase.Mark("init: park")
	err := execveat(sealedExe, c.Process.Args, envv)
	unix.CloseOnExec(c.FifoFd)
	return err
}

// execveat executes the file open at fd (AT_EMPTY_PATH): the sealed binary
// needs no path, and the container may have no /proc.
func execveat(fd int, argv, envv []string) error {
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envvp, err := syscall.SlicePtrFromStrings(envv)
	if err != nil {
		return err
	}
	empty := [1]byte{}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envvp[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}
