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
		// Leftovers are expected only when the init is not the init of
		// its own PID namespace: the death of that init kills every other
		// process of the namespace, exec'd ones included, and the kernel
		// reports it only after they are gone. Killing and waiting on an
		// empty cgroup costs ~35 system calls (0.26 ms of a delete), so
		// with its own PID namespace a stat and one file read are done
		// instead; a process put in the cgroup (or a sub-cgroup) from
		// outside is killed as before, and so is one that makes the
		// removal fail.
		err := errLeftovers
		if !c.State.SharedPidNS && m.Unpopulated() {
			err = m.Destroy()
		}
		if err != nil {
			if m.Exists() {
				_ = m.KillAll(unix.SIGKILL)
			}
			err = m.Destroy()
		}
		if err != nil {
			d.Unlock()
			return fmt.Errorf("remove the cgroup of container %s: %w", c.ID, err)
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

var (
	errNoPoststop = errors.New("no poststop hooks")
	errLeftovers  = errors.New("processes may be left in the cgroup")
)

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
