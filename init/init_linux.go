package containerinit

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/phase"
	"github.com/skiff-runtime/skiff/libct/proto"
)

// Main is `skiff init`. The constructor has already entered the namespaces
// and the cgroup. Main never returns: it execs the workload or exits 255
// after reporting the error to the parent.
func Main() {
	// Capabilities, credentials, seccomp and LSM labels are per thread: do
	// everything, including the final execve, on this thread.
	runtime.LockOSThread()
	runtime.GOMAXPROCS(1)
	phase.Mark("init: go started")

	fd, err := strconv.Atoi(os.Getenv("_SKIFF_BOOTSTRAP"))
	// The sealed binary we were executed from: kept close-on-exec for the
	// parked init (park.go), which re-executes it; closed before any
	// other exec, and it never reaches the container's process.
	if exe, err := strconv.Atoi(os.Getenv("_SKIFF_EXE_FD")); err == nil && exe > 2 && exe != fd {
		unix.CloseOnExec(exe)
		sealedExe = exe
	}
	// Nothing of the runtime's environment may reach the container.
	os.Clearenv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff init: this is an internal command of skiff; it is not meant to be run by hand")
		os.Exit(255)
	}
	unix.CloseOnExec(fd)
	conn := proto.NewConn(os.NewFile(uintptr(fd), "init-sock"))

	defer func() {
		// A bug must still reach the user as one error line.
		if r := recover(); r != nil {
			conn.Send(&proto.Message{Type: proto.TypeError, Error: &proto.Error{Stage: "init", Msg: fmt.Sprintf("skiff init crashed (a bug; please report it): %v", r)}})
			os.Exit(255)
		}
	}()
	err = run(conn)
	// run only returns on failure.
	conn.Send(&proto.Message{Type: proto.TypeError, Error: toProtoError(err)})
	os.Exit(255)
}

func run(conn *proto.Conn) error {
	m, _, err := conn.Expect(proto.TypeConfig)
	if err != nil {
		if errors.Is(err, proto.ErrClosed) {
			// The parent is gone: nobody to report to.
			os.Exit(255)
		}
		return err
	}
	cfg := new(proto.InitConfig)
	if err := genjson.Decode(m.Config, cfg, proto.DecodeInitConfig); err != nil {
		return fmt.Errorf("decode init config: %w", err)
	}
	phase.Mark("init: config")
	for _, f := range []int{cfg.ConsoleFd, cfg.FifoFd, cfg.LogFd} {
		if f >= 0 {
			unix.CloseOnExec(f)
		}
	}
	i := &initProc{conn: conn, cfg: cfg}
	switch cfg.Mode {
	case proto.ModeStandard:
		return i.standard()
	case proto.ModeSetns:
		return i.setns()
	}
	return fmt.Errorf("unknown init mode %q", cfg.Mode)
}

// stageError tags an error with the set-up stage it happened in.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func stage(name string, err error) error {
	if err == nil {
		return nil
	}
	var se *stageError
	if errors.As(err, &se) {
		return err
	}
	return &stageError{stage: name, err: err}
}

func toProtoError(err error) *proto.Error {
	pe := &proto.Error{Msg: err.Error()}
	var se *stageError
	if errors.As(err, &se) {
		pe.Stage = se.stage
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		pe.Errno = unix.ErrnoName(errno)
	}
	var perr *os.PathError
	if errors.As(err, &perr) {
		pe.Path = perr.Path
	}
	return pe
}
