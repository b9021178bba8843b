package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// systemdJobTimeout bounds every wait for a systemd job (runc: 30 s). A
// loaded host can take seconds; longer means systemd is stuck.
const systemdJobTimeout = 30 * time.Second

// systemd is the systemd driver: the container's cgroup is a transient
// scope unit (Delegate=yes) that systemd creates with the init's pid;
// resources go both into unit properties and into the cgroup files,
// through the cgroupfs driver of the host's mode pointed at the scope.
type systemd struct {
	cfg    Config
	unit   string
	slice  string
	legacy bool
	// fs manages the files at the scope's path(s).
	fs interface {
		Manager
		setFiles(r *specs.LinuxResources, devs []specs.LinuxDevice, o SetOptions) error
	}
	// creating: Create ran in this process, the scope is started by
	// Apply(pid) with the first process.
	creating bool
	conn     *sdbus.Conn
	userProp []sdbus.Property
	// oomSlice and oomSliceBase: the slice's cgroup and its (hierarchical,
	// v2) OOM kill count just before this process started the scope; see
	// OOMKillCount.
	oomSlice     string
	oomSliceBase uint64
}

func systemdRunning() bool {
	// sd_booted(3): systemd creates this directory as PID 1.
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

func newSystemd(h *host, c Config) (*systemd, error) {
	if !systemdRunning() {
		return nil, errors.New("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system): use the cgroupfs driver (drop --systemd-cgroup)")
	}
	sp, err := parseSystemdPath(c.Path, c.ID, c.Rootless)
	if err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	if c.Rootless {
		return nil, errors.New("--systemd-cgroup with --rootless: the user systemd instance is not supported yet; use the cgroupfs driver")
	}
	slicePath, err := expandSlice(sp.Slice)
	if err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	user, err := annotationProperties(c.Annotations)
	if err != nil {
		return nil, err
	}
	m := &systemd{cfg: c, unit: sp.Unit(), slice: sp.Slice, legacy: !h.unified, userProp: user}
	// The scope's cgroup is <slice path>/<unit> in every hierarchy; an
	// absolute path for the cgroupfs drivers.
	inner := c
	inner.Path = filepath.Join(slicePath, m.unit)
	if h.unified {
		fs, err := newV2(h, inner)
		if err != nil {
			return nil, err
		}
		fs.inUnit = true
		m.fs = fs
	} else {
		fs, err := newV1(h, inner)
		if err != nil {
			return nil, err
		}
		fs.inUnit = true
		m.fs = fs
	}
	return m, nil
}

func loadSystemd(s Saved) (Manager, error) {
	m := &systemd{unit: s.Unit, slice: s.Slice, legacy: s.Legacy}
	fsSaved := s
	if s.Legacy {
		fsSaved.Driver = DriverV1
		m.fs = loadV1(fsSaved)
	} else {
		fsSaved.Driver = DriverV2
		m.fs = loadV2(fsSaved)
	}
	return m, nil
}

func (m *systemd) Saved() Saved {
	s := m.fs.Saved()
	s.Driver = DriverSystemd
	s.Unit, s.Slice, s.Legacy = m.unit, m.slice, m.legacy
	return s
}

func (m *systemd) Paths() map[string]string { return m.fs.Paths() }

func (m *systemd) connect() (*sdbus.Conn, error) {
	if m.conn != nil {
		return m.conn, nil
	}
	// The context lives as long as the connection (godbus closes the
	// connection when it is cancelled): no timeout here; every call has
	// its own.
	ctx := context.Background()
	// systemd's private socket first: no dbus-daemon in the path (root only).
	c, err := sdbus.NewSystemdConnectionContext(ctx)
	if err != nil {
		c, err = sdbus.NewSystemConnectionContext(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("--systemd-cgroup: connect to systemd over D-Bus (/run/systemd/private, then the system bus): %w", err)
	}
	m.conn = c
	return c, nil
}

// Create only checks that systemd can be reached: the scope cannot exist
// without a process, so it is started by Apply with the first one.
func (m *systemd) Create() error {
	if _, err := m.connect(); err != nil {
		return err
	}
	if m.fs.Exists() {
		if pids, _ := m.fs.Pids(); len(pids) > 0 {
			return fmt.Errorf("systemd unit %s already has processes %v: the container's cgroup is not empty (another container with the same cgroupsPath?)", m.unit, pids)
		}
	}
	m.creating = true
	return nil
}

func (m *systemd) Attachment() (*Attachment, error) {
	if m.creating {
		return &Attachment{NeedApply: true}, nil
	}
	return m.fs.Attachment()
}

func (m *systemd) SubAttachment(sub []string) (*Attachment, error) {
	return m.fs.SubAttachment(sub)
}

// Apply starts the scope with pid in it, waits for systemd's job, checks
// that the process landed where the unit's cgroup is expected (crun#331:
// a silently failed unit left containers in the caller's cgroup), then
// writes what the unit properties cannot express.
func (m *systemd) Apply(pid int) error {
	if !m.creating {
		return m.fs.Apply(pid)
	}
	if !m.legacy {
		slice := filepath.Dir(m.fs.Paths()[""])
		if n, err := oomKillV2(slice); err == nil {
			m.oomSlice, m.oomSliceBase = slice, n
		}
	}
	if err := m.startUnit(pid); err != nil {
		return err
	}
	if err := m.fs.Create(); err != nil {
		_ = m.stopUnit()
		return err
	}
	if m.legacy {
		// systemd placed the pid only in the hierarchies it manages.
		if err := m.fs.Apply(pid); err != nil {
			_ = m.stopUnit()
			return err
		}
	}
	if err := m.verifyPlacement(pid); err != nil {
		_ = m.stopUnit()
		return err
	}
	m.creating = false
	return nil
}

func (m *systemd) startUnit(pid int) error {
	c, err := m.connect()
	if err != nil {
		return err
	}
	props := []sdbus.Property{
		sdbus.PropSlice(m.slice),
		sdbus.PropDescription("skiff container " + m.cfg.ID),
		sdbus.PropPids(uint32(pid)),
		// Delegate: the container (and skiff) own the sub-tree; systemd
		// does not touch what is below.
		prop("Delegate", true),
		// No implicit ordering against shutdown.target etc.: a container
		// scope must not wait for, or hold up, unrelated units.
		prop("DefaultDependencies", false),
		prop("MemoryAccounting", true),
		prop("CPUAccounting", true),
		prop("TasksAccounting", true),
	}
	if m.legacy {
		props = append(props, prop("BlockIOAccounting", true))
	} else {
		props = append(props, prop("IOAccounting", true))
	}
	rp, err := resourceProperties(m.cfg.Resources, m.legacy)
	if err != nil {
		return err
	}
	props = mergeProperties(append(props, rp...), m.userProp)
	err = m.runJob("start", func(ctx context.Context, ch chan<- string) (int, error) {
		return c.StartTransientUnitContext(ctx, m.unit, "replace", props, ch)
	})
	if err != nil && isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
		// A failed scope of an earlier container with this name stays
		// loaded until reset (runc#3780).
		ctx, cancel := context.WithTimeout(context.Background(), systemdJobTimeout)
		_ = c.ResetFailedUnitContext(ctx, m.unit)
		cancel()
		err = m.runJob("start", func(ctx context.Context, ch chan<- string) (int, error) {
			return c.StartTransientUnitContext(ctx, m.unit, "replace", props, ch)
		})
	}
	if err != nil {
		if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
			return fmt.Errorf("--systemd-cgroup: unit %s already exists and is active (another container with the same cgroupsPath?)", m.unit)
		}
		return fmt.Errorf("--systemd-cgroup: start unit %s in %s: %w", m.unit, m.slice, err)
	}
	return nil
}

// runJob runs a systemd job method and waits for its result.
func (m *systemd) runJob(what string, call func(ctx context.Context, ch chan<- string) (int, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), systemdJobTimeout)
	defer cancel()
	ch := make(chan string, 1)
	if _, err := call(ctx, ch); err != nil {
		return err
	}
	select {
	case r := <-ch:
		if r != "done" {
			return fmt.Errorf("systemd job to %s unit %s ended %q (see journalctl -u %s)", what, m.unit, r, m.unit)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("systemd did not %s unit %s within %s", what, m.unit, systemdJobTimeout)
	}
}

func isDBusError(err error, name string) bool {
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name == name
	}
	var dep *dbus.Error
	if errors.As(err, &dep) {
		return dep.Name == name
	}
	return strings.Contains(err.Error(), name)
}

func (m *systemd) verifyPlacement(pid int) error {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return fmt.Errorf("--systemd-cgroup: read the cgroup of pid %d: %w", pid, err)
	}
	got := parseProcCgroup(string(b))
	ctrl := ""
	if m.legacy {
		ctrl = "name=systemd"
	}
	want, ok := m.fs.Paths()[ctrl]
	if !ok {
		return nil
	}
	rel := relOf(cgroupRoot, want)
	if m.legacy {
		rel = relOf(cgroupRoot+"/systemd", want)
	}
	if got[ctrl] != rel {
		return fmt.Errorf("--systemd-cgroup: systemd started unit %s but pid %d is in cgroup %q, not %q", m.unit, pid, got[ctrl], rel)
	}
	return nil
}

func (m *systemd) stopUnit() error {
	c, err := m.connect()
	if err != nil {
		return err
	}
	err = m.runJob("stop", func(ctx context.Context, ch chan<- string) (int, error) {
		return c.StopUnitContext(ctx, m.unit, "replace", ch)
	})
	if err != nil && !isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit") {
		return err
	}
	// A scope whose processes were OOM-killed or SIGKILLed ends "failed"
	// and would stay loaded (runc#3780, fixed in runc#3888 the same way).
	ctx, cancel := context.WithTimeout(context.Background(), systemdJobTimeout)
	defer cancel()
	_ = c.ResetFailedUnitContext(ctx, m.unit)
	return nil
}

func (m *systemd) Exists() bool { return m.fs.Exists() }

func (m *systemd) Unpopulated() bool { return m.fs.Unpopulated() }

func (m *systemd) KillAll(sig unix.Signal) error { return m.fs.KillAll(sig) }

// Destroy stops the unit (systemd removes its cgroup), resets it if it
// failed, then removes whatever is left: sub-cgroups the container made,
// v1 hierarchies systemd does not manage.
func (m *systemd) Destroy() error {
	serr := m.stopUnit()
	ferr := m.fs.Destroy()
	if m.conn != nil {
		m.conn.Close()
		m.conn = nil
	}
	if ferr != nil {
		return ferr
	}
	if serr != nil && m.fs.Exists() {
		return serr
	}
	return nil
}

func (m *systemd) Frozen() (bool, error)  { return m.fs.Frozen() }
func (m *systemd) Freeze() error          { return m.fs.Freeze() }
func (m *systemd) Thaw() error            { return m.fs.Thaw() }
func (m *systemd) Pids() ([]int, error)   { return m.fs.Pids() }
func (m *systemd) Stats() (*Stats, error) { return m.fs.Stats() }

// OOMKillCount: systemd stops a scope as soon as it is empty and removes
// its cgroup, so when the OOM killer took a container's only process (an
// init during create) the scope's own count may be gone before it is read.
// On v2 the slice's memory.events counts the kills of its whole sub-tree:
// if the scope is gone and the slice counts more kills than when this
// process started the scope, report those. (Another unit of the same
// slice OOM-killed in that window would be counted too; the scope's own
// count is always preferred.)
func (m *systemd) OOMKillCount() (uint64, error) {
	n, err := m.fs.OOMKillCount()
	if err == nil || m.oomSlice == "" || m.fs.Exists() {
		return n, err
	}
	if now, serr := oomKillV2(m.oomSlice); serr == nil && now > m.oomSliceBase {
		return now - m.oomSliceBase, nil
	}
	return n, err
}

func (m *systemd) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	return m.fs.OOMEvents(stop)
}

// Set updates the unit's properties (so systemd keeps them), then the
// files.
func (m *systemd) Set(r *specs.LinuxResources, o SetOptions) error {
	if err := checkFits(r); err != nil {
		return err
	}
	props, err := resourceProperties(r, m.legacy)
	if err != nil {
		return err
	}
	if len(props) > 0 {
		c, err := m.connect()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), systemdJobTimeout)
		defer cancel()
		if err := c.SetUnitPropertiesContext(ctx, m.unit, true, props...); err != nil {
			return fmt.Errorf("--systemd-cgroup: set the properties of unit %s: %w", m.unit, err)
		}
	}
	return m.fs.setFiles(r, nil, o)
}
