package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// v1 is the cgroupfs driver on cgroup v1 and hybrid hosts: one directory
// per mounted hierarchy, plus one in the cgroup2 "unified" mount of a
// hybrid host (so that systemd and v2-aware tools see the container).
type v1 struct {
	cfg   Config
	paths map[string]string // controller -> dir; "" unified
	dirs  []v1Dir
	// unified is the hybrid host's cgroup2 directory, "" if none.
	unified  string
	rootless bool
	// inUnit: the systemd driver's scope, which holds the init already.
	inUnit bool
	// parents: ancestors Create made (Saved.Parents).
	parents []string
	// unifiedMade: PrepareBirth made the unified directory already.
	unifiedMade bool
}

// v1Dir is one hierarchy's directory and the controllers it serves.
type v1Dir struct {
	dir   string
	ctrls []string
	mount string
}

func newV1(h *host, c Config) (*v1, error) {
	if err := checkName(c); err != nil {
		return nil, err
	}
	m := &v1{cfg: c, paths: map[string]string{}, rootless: c.Rootless}
	for _, hm := range h.v1 {
		dir := hierDir(hm.mountpoint, hm.root, h.own[hm.controllers[0]], c.Path, c.ID)
		m.dirs = append(m.dirs, v1Dir{dir: dir, ctrls: hm.controllers, mount: hm.mountpoint})
		for _, ctrl := range hm.controllers {
			m.paths[ctrl] = dir
		}
	}
	if h.v2 != nil {
		m.unified = hierDir(h.v2.mountpoint, h.v2.root, h.own[""], c.Path, c.ID)
		m.paths[""] = m.unified
	}
	m.orderDirs()
	return m, nil
}

func loadV1(s Saved) *v1 {
	m := &v1{paths: map[string]string{}, rootless: s.Rootless, parents: s.Parents}
	byDir := map[string]int{}
	for ctrl, dir := range s.Paths {
		m.paths[ctrl] = dir
		if ctrl == "" {
			m.unified = dir
			continue
		}
		if i, ok := byDir[dir]; ok {
			m.dirs[i].ctrls = append(m.dirs[i].ctrls, ctrl)
			continue
		}
		byDir[dir] = len(m.dirs)
		m.dirs = append(m.dirs, v1Dir{dir: dir, ctrls: []string{ctrl}})
	}
	m.orderDirs()
	return m
}

// v1Order is runc's order of controllers for Set: cpuset first (a new
// cgroup cannot be joined before it has cpus and mems), devices before
// anything runs, freezer last.
var v1Order = []string{"cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc", "freezer", "name=systemd"}

func (m *v1) orderDirs() {
	rank := func(d v1Dir) int {
		best := len(v1Order)
		for _, c := range d.ctrls {
			for i, o := range v1Order {
				if c == o && i < best {
					best = i
				}
			}
		}
		return best
	}
	for i := 1; i < len(m.dirs); i++ {
		for j := i; j > 0 && rank(m.dirs[j]) < rank(m.dirs[j-1]); j-- {
			m.dirs[j], m.dirs[j-1] = m.dirs[j-1], m.dirs[j]
		}
	}
}

func (m *v1) Saved() Saved {
	p := make(map[string]string, len(m.paths))
	for k, v := range m.paths {
		p[k] = v
	}
	return Saved{Driver: DriverV1, Paths: p, Rootless: m.rootless, Parents: m.parents}
}

func (m *v1) Paths() map[string]string {
	p := make(map[string]string, len(m.paths))
	for k, v := range m.paths {
		p[k] = v
	}
	return p
}

// dirOf is the directory of a controller's hierarchy ("" if not mounted).
func (m *v1) dirOf(ctrl string) string { return m.paths[ctrl] }

// permissionErr: what a rootless container without delegation gets.
func permissionErr(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EROFS)
}

// Create makes the directories, refuses a cgroup that already holds
// processes or is frozen (a new init would hang in it), copies the
// parent's cpuset down and applies the resources and device rules.
func (m *v1) Create() (err error) {
	var made [][]string
	defer func() {
		if err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				removeMade(made[i])
			}
		}
	}()
	kept := m.dirs[:0]
	for _, d := range m.dirs {
		mk, err := mkdirAll(d.dir)
		made = append(made, mk)
		m.parents = append(m.parents, madeParents(mk, d.dir)...)
		if err != nil {
			if m.rootless && permissionErr(err) {
				logrus.Warnf("rootless: continuing without the %s cgroup: %v", strings.Join(d.ctrls, ","), err)
				for _, c := range d.ctrls {
					delete(m.paths, c)
				}
				continue
			}
			return err
		}
		if !m.inUnit && (len(mk) == 0 || mk[len(mk)-1] != d.dir) {
			if err := checkReusable(d); err != nil {
				return err
			}
		}
		if hasCtrl(d.ctrls, "cpuset") {
			if err := copyCPUSetDown(d.mount, d.dir); err != nil {
				return err
			}
		}
		kept = append(kept, d)
	}
	m.dirs = kept
	if m.unified != "" && !m.unifiedMade {
		mk, err := mkdirAll(m.unified)
		made = append(made, mk)
		m.parents = append(m.parents, madeParents(mk, m.unified)...)
		if err != nil {
			if !permissionErr(err) || !m.rootless {
				return err
			}
			logrus.Warnf("rootless: continuing without the cgroup2 directory: %v", err)
			delete(m.paths, "")
			m.unified = ""
		}
	}
	return m.set(m.cfg.Resources, m.cfg.Devices, SetOptions{})
}

// PrepareBirth makes the hybrid host's cgroup2 directory, which the first
// process is born into (CLONE_INTO_CGROUP), before Create makes the rest
// while that process already starts. It returns an O_PATH handle of the
// directory (nil without a cgroup2 directory) and a function removing
// what it made, for a Create that fails.
func (m *v1) PrepareBirth() (*os.File, func(), error) {
	if m.unified == "" || m.rootless {
		return nil, func() {}, nil
	}
	mk, err := mkdirAll(m.unified)
	if err != nil {
		removeMade(mk)
		return nil, nil, err
	}
	f, err := os.OpenFile(m.unified, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		removeMade(mk)
		return nil, nil, newFileError("", "open", m.unified, err)
	}
	m.parents = append(m.parents, madeParents(mk, m.unified)...)
	m.unifiedMade = true
	return f, func() { removeMade(mk) }, nil
}

// checkReusable allows an existing directory only when it is empty of
// processes and not frozen (runc refuses the same).
func checkReusable(d v1Dir) error {
	if pids, err := readPids(d.dir + "/cgroup.procs"); err == nil && len(pids) > 0 {
		return fmt.Errorf("cgroup %s already exists and holds processes %v: the container's cgroup is not empty (another container with the same cgroupsPath?)", d.dir, pids)
	}
	if hasCtrl(d.ctrls, "freezer") {
		if s, err := readFile(d.dir, "freezer.state"); err == nil && strings.TrimSpace(s) != "THAWED" {
			return fmt.Errorf("cgroup %s is frozen (%s): a new container would hang in it; thaw it or remove it", d.dir, strings.TrimSpace(s))
		}
	}
	return nil
}

// copyCPUSetDown gives every level below mount an effective cpuset: a new
// v1 cpuset directory starts with empty cpus and mems, and joining it
// fails with ENOSPC until they are set.
func copyCPUSetDown(mount, dir string) error {
	rel, err := filepath.Rel(mount, dir)
	if err != nil || rel == "." {
		return nil
	}
	parent := mount
	// above holds what the level above has, once read, so that a chain of
	// new directories reads each value once.
	files := [2]string{"cpuset.cpus", "cpuset.mems"}
	var above [2]string
	for _, comp := range strings.Split(rel, "/") {
		cur := parent + "/" + comp
		for i, f := range files {
			v, err := readFile(cur, f)
			if err != nil {
				return err
			}
			if v = strings.TrimSpace(v); v != "" {
				above[i] = v
				continue
			}
			if above[i] == "" {
				pv, err := readFile(parent, f)
				if err != nil {
					return err
				}
				above[i] = strings.TrimSpace(pv)
			}
			if err := writeFile(cur, f, above[i], ""); err != nil {
				return err
			}
		}
		parent = cur
	}
	return nil
}

func hasCtrl(ctrls []string, c string) bool {
	for _, x := range ctrls {
		if x == c {
			return true
		}
	}
	return false
}

func (m *v1) Attachment() (*Attachment, error) {
	return m.attach(nil)
}

func (m *v1) SubAttachment(sub []string) (*Attachment, error) {
	subs, err := parseSubCgroups(sub, false)
	if err != nil {
		return nil, err
	}
	for c := range subs {
		if c != "" && m.paths[c] == "" {
			return nil, fmt.Errorf("--cgroup %s: the container has no cgroup for controller %q", c+":"+subs[c], c)
		}
	}
	return m.attach(subs)
}

// attach opens each hierarchy's tasks file (or that of the requested
// sub-cgroup, made if missing), and the hybrid cgroup2 directory for
// CLONE_INTO_CGROUP.
func (m *v1) attach(subs map[string]string) (a *Attachment, err error) {
	a = &Attachment{}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	for _, d := range m.dirs {
		dir := d.dir
		if p, ok := subFor(subs, d.ctrls); ok {
			dir = filepath.Join(d.dir, p)
			if _, err := mkdirAll(dir); err != nil {
				return nil, err
			}
			if hasCtrl(d.ctrls, "cpuset") {
				if err := copyCPUSetDown(d.dir, dir); err != nil {
					return nil, err
				}
			}
		}
		f, err := openTasks(dir, "tasks")
		if err != nil {
			if m.rootless && permissionErr(err) {
				continue
			}
			return nil, err
		}
		a.TaskFiles = append(a.TaskFiles, f)
	}
	if m.unified != "" {
		dir := m.unified
		if p, ok := subs[""]; ok {
			dir = filepath.Join(dir, p)
			if _, err := mkdirAll(dir); err != nil {
				return nil, err
			}
		}
		f, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			if !(m.rootless && permissionErr(err)) {
				return nil, newFileError("", "open", dir, err)
			}
		} else {
			a.Dir = f
		}
	}
	return a, nil
}

func (m *v1) Apply(pid int) error {
	s := strconv.Itoa(pid)
	for _, d := range m.dirs {
		if err := writeFile(d.dir, "cgroup.procs", s, ""); err != nil {
			if m.rootless && permissionErr(err) {
				continue
			}
			return err
		}
	}
	if m.unified != "" {
		if err := writeFile(m.unified, "cgroup.procs", s, ""); err != nil && !(m.rootless && permissionErr(err)) {
			return err
		}
	}
	return nil
}

// listDir is the hierarchy used to list processes: every process of the
// container is in each hierarchy, so one suffices.
func (m *v1) listDir() (string, string) {
	for _, c := range []string{"pids", "freezer", "memory", "cpu", "devices"} {
		if d := m.paths[c]; d != "" {
			return c, d
		}
	}
	if len(m.dirs) > 0 {
		return m.dirs[0].ctrls[0], m.dirs[0].dir
	}
	return "", m.unified
}

func (m *v1) Exists() bool {
	_, d := m.listDir()
	return d != "" && exists(d)
}

func (m *v1) Unpopulated() bool {
	_, d := m.listDir()
	return d != "" && unpopulated(d)
}

func (m *v1) Pids() ([]int, error) {
	_, d := m.listDir()
	if d == "" {
		return nil, errors.New("the container has no cgroup to list processes from")
	}
	return pidsRecursive(d)
}

func (m *v1) KillAll(sig unix.Signal) error {
	ctrl, d := m.listDir()
	if d == "" || !exists(d) {
		return nil
	}
	k := procKiller{list: func() ([]int, error) { return pidsRecursive(d) }}
	if rel, ok := m.relPath(ctrl, d); ok {
		k.member = func(pid int) bool { return inCgroup(pid, ctrl, rel) }
	}
	if m.paths["freezer"] != "" {
		k.freeze, k.thaw = m.Freeze, m.Thaw
	}
	// Hybrid host: the processes are in the cgroup2 directory too, whose
	// cgroup.kill (Linux 5.14) kills them all at once, without the fork
	// race; the v1 loop then only finds what escaped it.
	if sig == unix.SIGKILL && m.unified != "" && exists(m.unified+"/cgroup.kill") {
		if err := writeFile(m.unified, "cgroup.kill", "1", ""); err == nil {
			// A task frozen by the v1 freezer cannot die.
			if frozen, _ := m.Frozen(); frozen {
				_ = m.Thaw()
			}
			waitEvent(m.unified, "populated", "0", killExitWait)
		}
	}
	return k.kill(sig)
}

// relPath is dir as /proc/<pid>/cgroup shows it for ctrl.
func (m *v1) relPath(ctrl, dir string) (string, bool) {
	for _, d := range m.dirs {
		if d.dir == dir && d.mount != "" {
			r, err := filepath.Rel(d.mount, dir)
			if err != nil {
				return "", false
			}
			return "/" + r, true
		}
	}
	// Loaded from state: the mount is not recorded; infer it from the
	// conventional layout /sys/fs/cgroup/<hierarchy>/...
	if strings.HasPrefix(dir, cgroupRoot+"/") {
		rest := strings.TrimPrefix(dir, cgroupRoot+"/")
		if _, r, ok := strings.Cut(rest, "/"); ok {
			return "/" + r, true
		}
	}
	return "", false
}

func (m *v1) Destroy() error {
	var first error
	dirs := make([]string, 0, len(m.dirs)+1)
	for _, d := range m.dirs {
		dirs = append(dirs, d.dir)
	}
	if m.unified != "" {
		dirs = append(dirs, m.unified)
	}
	for _, d := range dirs {
		if err := removeCgroup(d); err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		removeParents(m.parents)
	}
	return first
}

func (m *v1) Frozen() (bool, error) { return frozenV1(m.paths["freezer"]) }

// frozenV1 reads freezer.state of the freezer directory d ("": none).
func frozenV1(d string) (bool, error) {
	if d == "" {
		return false, nil
	}
	s, err := readFile(d, "freezer.state")
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(s) == "FROZEN", nil
}

// freezeTimeout bounds Freeze: v1 cannot freeze a task in uninterruptible
// sleep, and a busy forker can keep the cgroup FREEZING.
const freezeTimeout = 5 * time.Second

// Freeze writes FROZEN until freezer.state reads FROZEN. v1 has no
// notification for the transition, so this one path has to poll; it
// backs off from 1 ms, and every 50 tries thaws and starts over (tasks
// that keep forking can stall a freeze forever, runc does the same).
func (m *v1) Freeze() error {
	d := m.paths["freezer"]
	if d == "" {
		return errors.New("the container has no freezer cgroup (no freezer hierarchy is mounted)")
	}
	deadline := time.Now().Add(freezeTimeout)
	delay := time.Millisecond
	for try := 1; ; try++ {
		if err := writeFile(d, "freezer.state", "FROZEN", ""); err != nil {
			return err
		}
		s, err := readFile(d, "freezer.state")
		if err != nil {
			return err
		}
		if strings.TrimSpace(s) == "FROZEN" {
			return nil
		}
		if time.Now().After(deadline) {
			_ = m.Thaw()
			return fmt.Errorf("freeze %s: still %s after %s (a task in uninterruptible sleep?)", d, strings.TrimSpace(s), freezeTimeout)
		}
		if try%50 == 0 {
			_ = writeFile(d, "freezer.state", "THAWED", "")
			delay = time.Millisecond
		}
		time.Sleep(delay)
		if delay < 16*time.Millisecond {
			delay *= 2
		}
	}
}

func (m *v1) Thaw() error {
	d := m.paths["freezer"]
	if d == "" {
		return errors.New("the container has no freezer cgroup (no freezer hierarchy is mounted)")
	}
	return writeFile(d, "freezer.state", "THAWED", "")
}

func (m *v1) Set(r *specs.LinuxResources, o SetOptions) error {
	if err := checkFits(r); err != nil {
		return err
	}
	// After Load the linux.devices nodes are unknown: callers that do not
	// skip devices (update does) get the spec rules and the defaults.
	return m.set(r, m.cfg.Devices, o)
}

func (m *v1) setFiles(r *specs.LinuxResources, devs []specs.LinuxDevice, o SetOptions) error {
	if devs == nil {
		devs = m.cfg.Devices
	}
	return m.set(r, devs, o)
}
