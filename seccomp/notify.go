package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// agentTimeout bounds connecting and sending to the agent: a stuck agent
// (full listen backlog) must fail create, not hang it.
const agentTimeout = 10

// SendListener hands a notify listener fd to the seccomp agent listening
// on the unix stream socket path (linux.seccomp.listenerPath): one
// sendmsg carrying the container process state JSON with the fd in
// SCM_RIGHTS, fds[0] being "seccompFd". That is the runtime-spec's and
// runc's agent protocol; agents read one message and may close the
// connection right away. The caller keeps and closes its fd.
func SendListener(path string, fd int, st specs.ContainerProcessState) error {
	what := "linux.seccomp.listenerPath " + path
	if path == "" {
		return errors.New("linux.seccomp.listenerPath: must be set to hand the listener fd to an agent")
	}
	if len(st.Fds) == 0 {
		st.Fds = []string{specs.SeccompFdName}
	}
	msg, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("%s: encode the container process state: %w", what, err)
	}
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: socket: %w", what, err)
	}
	defer unix.Close(sock)
	// Connecting to a unix socket whose backlog is full waits for the
	// send timeout.
	tv := unix.Timeval{Sec: agentTimeout}
	_ = unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := retryEINTR(func() error { return unix.Connect(sock, &unix.SockaddrUnix{Name: path}) }); err != nil {
		return fmt.Errorf("%s: connect to the seccomp agent: %w (is the agent running and listening there?)", what, agentErr(err))
	}
	var n int
	err = retryEINTR(func() (err error) {
		n, err = unix.SendmsgN(sock, msg, unix.UnixRights(fd), nil, unix.MSG_NOSIGNAL)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: send the listener fd to the seccomp agent: %w", what, agentErr(err))
	}
	// A stream socket may take a large state in pieces; the fd went
	// with the first one.
	for n < len(msg) {
		var m int
		err = retryEINTR(func() (err error) {
			m, err = unix.SendmsgN(sock, msg[n:], nil, nil, unix.MSG_NOSIGNAL)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: send the container state to the seccomp agent: %w", what, agentErr(err))
		}
		n += m
	}
	return nil
}

func agentErr(err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return err
	}
	if errno == unix.EAGAIN {
		return fmt.Errorf("%w (%s: no answer in %ds)", err, unix.ErrnoName(errno), agentTimeout)
	}
	return fmt.Errorf("%w (%s)", err, unix.ErrnoName(errno))
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
