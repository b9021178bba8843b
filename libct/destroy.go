package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/hooks"
	"github.com/skiff-runtime/skiff/libct/phase"
	"github.com/skiff-runtime/skiff/libct/state"
)

// killTimeout bounds how long delete waits for a SIGKILLed init to go.
const killTimeout = 10 * time.Second

// Delete removes a container. A created container is killed first (no
// --force needed); a running or paused one needs force. Leftover processes
// in the cgroup are killed, then the cgroup and the state directory go,
// then poststop hooks run (failures are warnings).
func Delete(g *Options, id string, force bool) error {
	if err := state.ValidID(id); err != nil {
		return err
	}
	d, err := state.Open(g.Root, id, true)
	if err != nil {
		if errors.Is(err, state.ErrNotExist) && force {
			return nil
		}
		return err
	}
	st, err := d.Load()
	if err != nil {
		// An aborted create left a directory without a state file, or a
		// corrupt one: remove what is there.
		if errors.Is(err, state.ErrNotExist) || force {
			return d.Remove()
		}
		d.Unlock()
		return err
	}
	c := &Container{opts: g, ID: id, State: st, dir: d.Path}
	phase.Mark("delete: loaded")
	return c.destroy(d, force)
}

func (c *Container) destroy(d *state.Dir, force bool) error {
	status := c.Status()
	if status == StatusCreating {
		// The lock is ours, so no create holds it: the phase is stale.
		status = StatusStopped
	}
	switch status {
	case StatusRunning, StatusPaused:
		if !force {
			d.Unlock()
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", c.ID, status)
		}
		fallthrough
	case StatusCreated:
		if err := c.killAndWait(status == StatusPaused); err != nil {
			d.Unlock()
			return err
		}
		phase.Mark("delete: init gone")
	}
	m, err := c.Cgroup()
	if err != nil && !force {
		d.Unlock()
		return err
	}
	if m != nil {
		// With a PID namespace of its own, the init's death has killed
		// every other process of the namespace before the kernel reported
		// it: a stat and one read confirm the cgroup is empty instead of
		// killing and waiting on it (~35 system calls). Anything put there
		// from outside, or a failed removal, takes the full path.
		removed := !c.State.SharedPidNS && m.Unpopulated() && m.Destroy() == nil
		if !removed {
			if m.Exists() {
				_ = m.KillAll(unix.SIGKILL)
			}
			if err := m.Destroy(); err != nil {
				d.Unlock()
				hint := ""
				if errors.Is(err, unix.EBUSY) {
					hint = " (kill or move out what is still in it, then run delete again)"
				}
				return fmt.Errorf("remove the cgroup of container %s: %w%s", c.ID, err, hint)
			}
		}
	}
	phase.Mark("delete: cgroups removed")
	var s *specs.Spec
	specErr := errNoPoststop
	if h := c.State.Hooks; h == nil || h.Poststop {
		// Read before the state directory, which holds the config, goes.
		s, specErr = c.Spec()
	}
	if err := d.Remove(); err != nil {
		return err
	}
	phase.Mark("delete: state removed")
	if specErr == nil && s.Hooks != nil && len(s.Hooks.Poststop) > 0 {
		st := c.SpecState(StatusStopped, 0)
		for _, err := range hooks.RunAll(hooks.Poststop, s.Hooks.Poststop, st, nil) {
			logrus.Warn(err)
		}
	}
	return nil
}

var errNoPoststop = errors.New("no poststop hooks")

// killAndWait SIGKILLs the init (thawing a paused container) and waits for
// it to exit, on a pidfd: no sleeping loop (runc takes 100 ms here).
func (c *Container) killAndWait(paused bool) error {
	pidfd, err := pidfdFor(c.State.Pid, c.State.PidStart)
	if err != nil {
		return nil // already gone
	}
	defer unix.Close(pidfd)
	if c.State.SharedPidNS {
		_ = c.signalAll(unix.SIGKILL, paused)
	}
	if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill the container's init (pid %d): %w", c.State.Pid, err)
	}
	if paused {
		if m, _ := c.Cgroup(); m != nil {
			_ = m.Thaw()
		}
	}
	if !waitExit(pidfd, int(killTimeout/time.Millisecond)) {
		return fmt.Errorf("container init still running %s after SIGKILL (pid %d; stuck in the kernel? see its wchan in /proc/%d/wchan)", killTimeout, c.State.Pid, c.State.Pid)
	}
	return nil
}

// removeFifo is used when the container leaves the created state.
func (c *Container) removeFifo() {
	_ = os.Remove(filepath.Join(c.dir, state.FifoFile))
}
