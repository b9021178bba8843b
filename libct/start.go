package libct

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/hooks"
	"github.com/skiff-runtime/skiff/libct/notify"
	"github.com/skiff-runtime/skiff/libct/state"
)

// Start releases a created container: it opens the exec FIFO, which lets
// the init's blocked open return, reads its byte, removes the FIFO (the
// container is "running" from then on) and waits until the init has
// exec'd the workload (EOF: the FIFO is close-on-exec in the init). Then
// the poststart hooks run.
func (c *Container) Start() error {
	d, err := state.Open(c.opts.Root, c.ID, true)
	if err != nil {
		return err
	}
	status := c.Status()
	if status != StatusCreated {
		d.Unlock()
		return errStatus("start", c.ID, status)
	}
	// The pidfd first: opening the FIFO releases the init, and a short
	// workload may have run and exited before we look for it.
	pidfd, err := pidfdFor(c.State.Pid, c.State.PidStart)
	if err != nil {
		d.Unlock()
		return errors.New("cannot start a container that has stopped")
	}
	defer unix.Close(pidfd)
	fifoPath := filepath.Join(c.dir, state.FifoFile)
	fifo, err := os.OpenFile(fifoPath, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		d.Unlock()
		return fmt.Errorf("open exec fifo %s: %w", fifoPath, err)
	}
	defer fifo.Close()
	// Wait for the init's byte, or its death.
	fds := []unix.PollFd{{Fd: int32(fifo.Fd()), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			d.Unlock()
			return fmt.Errorf("wait for the container's init: %w", err)
		}
		break
	}
	if fds[0].Revents&unix.POLLIN == 0 {
		d.Unlock()
		return errors.New("container process is already dead")
	}
	var b [1]byte
	if n, _ := fifo.Read(b[:]); n != 1 {
		d.Unlock()
		return errors.New("cannot start an already running container")
	}
	if err := os.Remove(fifoPath); err != nil {
		logrus.Warnf("remove exec fifo %s: %v", fifoPath, err)
	}
	// Never hold the lock while the workload starts: kill and delete
	// must be able to act on a container that hangs in a hook.
	d.Unlock()

	if err := unix.SetNonblock(int(fifo.Fd()), false); err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	msg, _ := io.ReadAll(fifo)
	if len(msg) > 0 {
		return fmt.Errorf("%s", strings.TrimSpace(string(msg)))
	}
	return c.runPoststart()
}

// runPoststart runs poststart hooks after the process started. A failure
// kills the container and fails start (crun and runc ≥ 1.6 behaviour;
// the spec lets the runtime choose).
func (c *Container) runPoststart() error {
	if h := c.State.Hooks; h != nil && !h.Poststart {
		return nil
	}
	s, err := c.Spec()
	if err != nil || s.Hooks == nil || len(s.Hooks.Poststart) == 0 {
		return nil
	}
	st := c.SpecState(StatusRunning, c.State.Pid)
	if err := hooks.Run(hooks.Poststart, s.Hooks.Poststart, st, nil); err != nil {
		_ = c.Signal(unix.SIGKILL, true)
		return err
	}
	return nil
}

// ForwardNotify passes the container's READY= notification on to the
// service manager at host (NOTIFY_SOCKET of start or run) with
// MAINPID=mainPid, and returns once the manager acknowledged it, or when
// the container's init exits first.
func (c *Container) ForwardNotify(sock *notify.Socket, host string, mainPid int) error {
	pidfd, err := pidfdFor(c.State.Pid, c.State.PidStart)
	if err != nil {
		return nil // stopped already: it will never be ready
	}
	defer unix.Close(pidfd)
	return sock.Forward(host, mainPid, pidfd)
}
