// Package cgroups places containers in control groups and applies their
// linux.resources. One Manager interface, three drivers:
//
//   - v1: one directory per mounted v1 hierarchy (and, on hybrid hosts, in
//     the cgroup2 "unified" mount and the name=systemd hierarchy too);
//   - v2: one directory in the unified hierarchy;
//   - systemd: a transient scope unit started over D-Bus, then the same
//     files as v1/v2 for what systemd cannot express.
//
// Pure logic (value conversions, path rules, device rules, parsing of
// cgroup files) lives in files without syscalls and is table-tested
// without root.
package cgroups

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/genjson"
)

// Config is what a container asks of its cgroup.
type Config struct {
	// ID is the container id ("" when only validating).
	ID string
	// Path is linux.cgroupsPath as given.
	Path     string
	Systemd  bool
	Rootless bool
	// Annotations carry org.systemd.property.* for the systemd driver.
	Annotations map[string]string
	Resources   *specs.LinuxResources
	// Devices are linux.devices: each node is allowed in the device
	// cgroup too (runc does), or the container could not use the nodes
	// it was given.
	Devices []specs.LinuxDevice
}

// Driver names in Saved.
const (
	DriverV1      = "cgroupfs-v1"
	DriverV2      = "cgroupfs-v2"
	DriverSystemd = "systemd"
)

// Saved is a Manager's serialisable form, stored in the container's state
// before the cgroup exists so that a later process (delete --force after a
// crash) can rebuild the Manager with Load without asking the host again.
type Saved struct {
	Driver string `json:"driver"`
	// Paths maps a v1 controller ("memory", "name=systemd") or "" (the
	// unified hierarchy) to the container's absolute host directory.
	Paths map[string]string `json:"paths"`
	// Unit and Slice: the systemd scope (systemd driver only).
	Unit  string `json:"unit,omitempty"`
	Slice string `json:"slice,omitempty"`
	// Legacy: the systemd driver on a v1 or hybrid host.
	Legacy   bool `json:"legacy,omitempty"`
	Rootless bool `json:"rootless,omitempty"`
	// Parents are the ancestor directories this container's create made
	// (cgroupsPath /a/b/<id> with /a/b missing): delete removes them again
	// once they are empty, so that no directory skiff made outlives the
	// containers in it. One another container still uses stays.
	Parents []string `json:"parents,omitempty"`
}

// Attachment is how the first process of a container (or an exec'd one)
// joins the cgroup before any of its code runs.
type Attachment struct {
	// TaskFiles are opened O_WRONLY|O_CLOEXEC; the child's pre-Go
	// constructor writes "0" to each. On v1 these are the `tasks` files:
	// moving only the calling (single) thread skips the global threadgroup
	// lock and so the RCU grace period a cgroup.procs write costs.
	TaskFiles []*os.File
	// Dir is the cgroup2 directory (O_PATH|O_DIRECTORY) for clone3
	// CLONE_INTO_CGROUP; nil when there is none.
	Dir *os.File
	// NeedApply: Apply(pid) must be called once the child exists (systemd
	// starts the scope with the pid).
	NeedApply bool
	// For a saved copy of this attachment (libct's exec template): Volatile
	// when Attachment may choose another directory next time; otherwise
	// Recheck, if set, is a cgroup2 directory whose cgroup.subtree_control
	// must still be empty for the copy to hold.
	Volatile bool
	Recheck  string
}

// Close releases the files (the caller normally hands them to the child).
func (a *Attachment) Close() {
	for _, f := range a.TaskFiles {
		f.Close()
	}
	if a.Dir != nil {
		a.Dir.Close()
	}
}

// SetOptions tune Set.
type SetOptions struct {
	// SkipDevices leaves the device rules alone (update): rules added by
	// hooks, such as GPU ones, must survive.
	SkipDevices bool
}

// Manager is one container's cgroup, whatever the driver.
type Manager interface {
	Saved() Saved
	// Create makes every directory and applies Config.Resources and the
	// device rules; on failure it leaves nothing behind.
	Create() error
	Attachment() (*Attachment, error)
	// SubAttachment joins sub-cgroups of the container's cgroup (exec
	// --cgroup, runc syntax: "sub" or "ctrl[,ctrl]:sub"), made if missing.
	SubAttachment(sub []string) (*Attachment, error)
	// Apply moves pid in (systemd: starts the scope with it).
	Apply(pid int) error
	// Paths maps a v1 controller or "" (unified) to the host directory.
	Paths() map[string]string
	Exists() bool
	// Unpopulated reports whether the cgroup's directory (in its listing
	// hierarchy) has no sub-cgroup and no process; false when it cannot
	// tell. A stat and one file read: delete asks it of containers whose
	// init's death has already killed everything else.
	Unpopulated() bool
	KillAll(sig unix.Signal) error
	Destroy() error
	Frozen() (bool, error)
	Freeze() error
	Thaw() error
	// Pids lists every process, sub-cgroups included.
	Pids() ([]int, error)
	Set(r *specs.LinuxResources, o SetOptions) error
	Stats() (*Stats, error)
	// OOMEvents sends one value per OOM kill and closes the channel when
	// the cgroup goes away or stop is closed.
	OOMEvents(stop <-chan struct{}) (<-chan struct{}, error)
	OOMKillCount() (uint64, error)
}

// New picks the driver for c: systemd if asked, else v2 when
// /sys/fs/cgroup is cgroup2, else v1 (hybrid hosts included).
func New(c Config) (Manager, error) {
	h, err := getHost()
	if err != nil {
		return nil, err
	}
	// Each branch returns a nil interface on error, never a typed nil.
	switch {
	case c.Systemd:
		m, err := newSystemd(h, c)
		if err != nil {
			return nil, err
		}
		return m, nil
	case h.unified:
		m, err := newV2(h, c)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	m, err := newV1(h, c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// FrozenSaved reports whether the cgroup of a saved state is frozen, reading
// the one freezer file without building a manager (list and start ask
// this of every container).
func FrozenSaved(s Saved) (bool, error) {
	v1 := s.Driver == DriverV1 || (s.Driver == DriverSystemd && s.Legacy)
	if !v1 && s.Driver != DriverV2 && s.Driver != DriverSystemd {
		_, err := Load(s)
		return false, err
	}
	if v1 {
		return frozenV1(s.Paths["freezer"])
	}
	return frozenV2(s.Paths[""])
}

// Marshal encodes a saved form for state.json.
func Marshal(s Saved) ([]byte, error) { return genjson.Encode(&s, EncodeSaved) }

// Unmarshal decodes a saved form from state.json.
func Unmarshal(b []byte) (*Saved, error) {
	s := new(Saved)
	if err := genjson.Decode(b, s, DecodeSaved); err != nil {
		return nil, err
	}
	return s, nil
}

// Load rebuilds a Manager from its saved form.
func Load(s Saved) (Manager, error) {
	switch s.Driver {
	case DriverV1:
		return loadV1(s), nil
	case DriverV2:
		return loadV2(s), nil
	case DriverSystemd:
		return loadSystemd(s)
	case "":
		return nil, errors.New("saved cgroup state names no driver (written by an older skiff?)")
	}
	return nil, fmt.Errorf("saved cgroup state names unknown driver %q", s.Driver)
}
