package libct

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Signal sends sig to the container's init, or with all to every process
// in its cgroup (runc 1.1 and crun: podman sends `kill --all` SIGTERM to
// containers that share a PID namespace and expects every process to get
// it). SIGKILL to a container without its own PID namespace kills the
// whole cgroup: killing its init would not take the others down. SIGKILL
// to a paused container thaws it, since a frozen task cannot die.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	status := c.Status()
	if status == StatusCreating {
		return fmt.Errorf("container %s is still being created", c.ID)
	}
	if status == StatusStopped && !all {
		return errNotRunning
	}
	// The cgroup-wide SIGKILL takes the init too and waits until every
	// process is gone: the init being gone afterwards is its success.
	cgroupKill := sig == unix.SIGKILL && c.State.SharedPidNS
	if all || cgroupKill {
		if err := c.signalAll(sig, status == StatusPaused); err != nil {
			return err
		}
		if all {
			return nil
		}
	}
	pidfd, err := pidfdFor(c.State.Pid, c.State.PidStart)
	if err != nil {
		if cgroupKill {
			return nil
		}
		return err
	}
	defer unix.Close(pidfd)
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			if cgroupKill {
				return nil
			}
			return errNotRunning
		}
		return fmt.Errorf("signal %s to the container's init (pid %d): %w", unix.SignalName(sig), c.State.Pid, err)
	}
	if sig == unix.SIGKILL && status == StatusPaused {
		if m, _ := c.Cgroup(); m != nil {
			_ = m.Thaw()
		}
	}
	return nil
}

func (c *Container) signalAll(sig unix.Signal, paused bool) error {
	m, err := c.Cgroup()
	if err != nil {
		return err
	}
	if m == nil || !m.Exists() {
		return nil
	}
	if err := m.KillAll(sig); err != nil {
		return fmt.Errorf("signal %s to every process of container %s: %w", unix.SignalName(sig), c.ID, err)
	}
	if paused && sig == unix.SIGKILL {
		_ = m.Thaw()
	}
	return nil
}
