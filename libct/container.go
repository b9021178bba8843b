// Package libct is the container lifecycle the CLI calls: create, start,
// exec, signal, pause, update, destroy. It owns the state machine and the
// cleanup of everything a container is made of.
package libct

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/cgroups"
	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/specjson"
	"github.com/skiff-runtime/skiff/libct/state"
)

// Options are the global flags every verb gets.
type Options struct {
	Root          string
	SystemdCgroup bool
	Rootless      bool
	Debug         bool
}

// Statuses. "paused" is runc's addition to the spec's list.
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusPaused   = "paused"
	StatusStopped  = "stopped"
)

// Container is a container that exists in the state root.
type Container struct {
	opts  *Options
	ID    string
	State *state.State
	dir   string
	cg    cgroups.Manager
	spec  *specs.Spec
}

// ErrNotExist is returned for an unknown id.
var ErrNotExist = state.ErrNotExist

// Load reads a container's state without locking it.
func Load(o *Options, id string) (*Container, error) {
	if err := state.ValidID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(o.Root, id)
	st, err := state.Read(dir)
	if err != nil {
		return nil, err
	}
	return &Container{opts: o, ID: id, State: st, dir: dir}, nil
}

// Dir is the container's state directory.
func (c *Container) Dir() string { return c.dir }

// Cgroup returns the container's cgroup manager, or nil if it has none.
func (c *Container) Cgroup() (cgroups.Manager, error) {
	if c.cg != nil {
		return c.cg, nil
	}
	saved, err := c.savedCgroup()
	if saved == nil || err != nil {
		return nil, err
	}
	m, err := cgroups.Load(*saved)
	if err != nil {
		return nil, err
	}
	c.cg = m
	return m, nil
}

// Status derives the status from the kernel, never from the file:
// create still running, init gone or replaced (start time), frozen cgroup,
// exec FIFO present.
func (c *Container) Status() string {
	st := c.State
	if st.Phase == state.PhaseCreating {
		if state.Locked(c.opts.Root, c.ID) {
			return StatusCreating
		}
		// create was killed before the init was ready.
		return StatusStopped
	}
	if !alive(st.Pid, st.PidStart) {
		return StatusStopped
	}
	if c.frozen() {
		return StatusPaused
	}
	if _, err := os.Lstat(filepath.Join(c.dir, state.FifoFile)); err == nil {
		return StatusCreated
	}
	return StatusRunning
}

// frozen reads the freezer file of the container's cgroup; only that file,
// with no cgroup manager built, when none was loaded yet.
func (c *Container) frozen() bool {
	if c.cg != nil {
		f, err := c.cg.Frozen()
		return err == nil && f
	}
	saved, err := c.savedCgroup()
	if saved == nil || err != nil {
		return false
	}
	f, err := cgroups.FrozenSaved(*saved)
	return err == nil && f
}

// savedCgroup decodes the cgroup recorded in state.json (nil: none).
func (c *Container) savedCgroup() (*cgroups.Saved, error) {
	if len(c.State.Cgroup) == 0 || string(c.State.Cgroup) == "null" {
		return nil, nil
	}
	saved, err := cgroups.Unmarshal(c.State.Cgroup)
	if err != nil {
		return nil, fmt.Errorf("corrupt cgroup state of container %s: %w (delete --force removes the container)", c.ID, err)
	}
	return saved, nil
}

// OCIState is the `state` output: the runtime-spec state plus runc's
// "created" and "owner" fields, in runc's field order.
type OCIState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// JSON encodes the state as `state` prints it: json.MarshalIndent's
// bytes, through the generated encoder.
func (s *OCIState) JSON() ([]byte, error) {
	b, err := genjson.Encode(s, EncodeOCIState)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// OCIState computes the state shown by `state` and `list`.
func (c *Container) OCIState() *OCIState {
	status := c.Status()
	pid := c.State.Pid
	if status == StatusStopped {
		pid = 0
	}
	return &OCIState{
		OCIVersion:  c.State.OCIVersion,
		ID:          c.ID,
		Pid:         pid,
		Status:      status,
		Bundle:      c.State.Bundle,
		Rootfs:      c.State.Rootfs,
		Created:     c.State.Created,
		Annotations: c.State.Annotations,
	}
}

// SpecState is the state passed to hooks.
func (c *Container) SpecState(status string, pid int) *specs.State {
	return &specs.State{
		Version:     specs.Version,
		ID:          c.ID,
		Status:      specs.ContainerState(status),
		Pid:         pid,
		Bundle:      c.State.Bundle,
		Annotations: c.State.Annotations,
	}
}

// Spec reads the config the container was created with, once: later calls
// return the same (shared) spec.
func (c *Container) Spec() (*specs.Spec, error) {
	if c.spec != nil {
		return c.spec, nil
	}
	s := new(specs.Spec)
	b, err := os.ReadFile(filepath.Join(c.dir, state.ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("read the saved config of container %s: %w", c.ID, err)
	}
	if err := genjson.Decode(b, s, specjson.DecodeSpec); err != nil {
		return nil, fmt.Errorf("corrupt saved config of container %s: %w", c.ID, err)
	}
	c.spec = s
	return s, nil
}

// errStatus formats runc's wording for a verb refused in a status.
func errStatus(verb, id, status string) error {
	switch status {
	case StatusStopped:
		return fmt.Errorf("cannot %s a container that has stopped", verb)
	case StatusRunning:
		if verb == "start" {
			return errors.New("cannot start an already running container")
		}
	}
	return fmt.Errorf("cannot %s container %s in the %s state", verb, id, status)
}
