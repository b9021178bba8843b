package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// v2 is the cgroupfs driver on a pure cgroup v2 host: one directory.
type v2 struct {
	cfg   Config
	dir   string
	mount string
	// rel is dir as /proc/<pid>/cgroup shows it.
	rel      string
	rootless bool
	// inUnit: the systemd driver's scope, which holds the init already.
	inUnit bool
	// parents: ancestors Create made (Saved.Parents).
	parents []string
}

func newV2(h *host, c Config) (*v2, error) {
	if err := checkName(c); err != nil {
		return nil, err
	}
	m := &v2{cfg: c, mount: h.v2.mountpoint, rootless: c.Rootless}
	m.dir = hierDir(h.v2.mountpoint, h.v2.root, ownBase(h.own[""]), c.Path, c.ID)
	m.rel = relOf(m.mount, m.dir)
	return m, nil
}

func loadV2(s Saved) *v2 {
	m := &v2{dir: s.Paths[""], mount: cgroupRoot, rootless: s.Rootless, parents: s.Parents}
	m.rel = relOf(m.mount, m.dir)
	return m
}

func relOf(mount, dir string) string {
	r, err := filepath.Rel(mount, dir)
	if err != nil || r == "." {
		return "/"
	}
	return "/" + r
}

func (m *v2) Saved() Saved {
	return Saved{Driver: DriverV2, Paths: map[string]string{"": m.dir}, Rootless: m.rootless, Parents: m.parents}
}

func (m *v2) Paths() map[string]string { return map[string]string{"": m.dir} }

func (m *v2) Create() (err error) {
	made, err := createV2(m.mount, m.dir, m.rootless, m.inUnit)
	m.parents = madeParents(made, m.dir)
	defer func() {
		if err != nil {
			removeMade(made)
		}
	}()
	if err != nil {
		if m.rootless && permissionErr(err) {
			logrus.Warnf("rootless: continuing without a cgroup: %v", err)
			return nil
		}
		return err
	}
	return setV2(m.dir, m.cfg.Resources, m.cfg.Devices, SetOptions{}, m.rootless)
}

// createV2 makes dir, refuses a populated or frozen one, and enables
// every available controller in each ancestor below mount so that dir
// gets them (a controller is usable only when all ancestors delegate it).
func createV2(mount, dir string, rootless, inUnit bool) ([]string, error) {
	made, err := mkdirAll(dir)
	if err != nil {
		return made, err
	}
	if !inUnit && (len(made) == 0 || made[len(made)-1] != dir) {
		if pids, err := readPids(dir + "/cgroup.procs"); err == nil && len(pids) > 0 {
			return made, fmt.Errorf("cgroup %s already exists and holds processes %v: the container's cgroup is not empty (another container with the same cgroupsPath?)", dir, pids)
		}
		if s, err := readFile(dir, "cgroup.freeze"); err == nil && strings.TrimSpace(s) == "1" {
			return made, fmt.Errorf("cgroup %s is frozen: a new container would hang in it; thaw it (echo 0 > %s/cgroup.freeze) or remove it", dir, dir)
		}
	}
	rel, err := filepath.Rel(mount, dir)
	if err != nil || rel == "." {
		return made, nil
	}
	parent := mount
	for _, comp := range strings.Split(rel, "/") {
		if err := enableControllers(parent); err != nil {
			if rootless && permissionErr(err) {
				return made, nil
			}
			return made, err
		}
		parent += "/" + comp
	}
	return made, nil
}

// enableControllers writes the controllers dir offers but does not yet
// delegate to cgroup.subtree_control: all at once, or one by one when
// the bulk write fails (a controller can be refused alone, e.g. cpu with
// real-time processes in the parent), skipping the refused ones.
func enableControllers(dir string) error {
	avail, err := readFile(dir, "cgroup.controllers")
	if err != nil {
		return err
	}
	enabled, err := readFile(dir, "cgroup.subtree_control")
	if err != nil {
		return err
	}
	on := map[string]bool{}
	for _, c := range strings.Fields(enabled) {
		on[c] = true
	}
	var missing []string
	for _, c := range strings.Fields(avail) {
		if !on[c] {
			missing = append(missing, "+"+c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	err = writeFile(dir, "cgroup.subtree_control", strings.Join(missing, " "), "")
	if err == nil {
		return nil
	}
	if permissionErr(err) {
		return err
	}
	var failed []string
	for _, c := range missing {
		if err := writeFile(dir, "cgroup.subtree_control", c, ""); err != nil {
			failed = append(failed, c[1:])
		}
	}
	if len(failed) > 0 && logrus.IsLevelEnabled(logrus.DebugLevel) {
		logrus.Debugf("cgroup %s: cannot delegate controllers %v: %v", dir, failed, err)
	}
	return nil
}

// cloneIntoCgroup: clone3 with CLONE_INTO_CGROUP exists since Linux 5.7.
// Without it the child must write cgroup.procs itself, which costs an RCU
// grace period (5-15 ms): that write is only asked for when needed.
var cloneIntoCgroup = sync.OnceValue(func() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return true
	}
	rel := unix.ByteSliceToString(u.Release[:])
	maj, rest, _ := strings.Cut(rel, ".")
	minS, _, _ := strings.Cut(rest, ".")
	a, _ := strconv.Atoi(maj)
	b, _ := strconv.Atoi(strings.TrimFunc(minS, func(r rune) bool { return r < '0' || r > '9' }))
	return a > 5 || (a == 5 && b >= 7)
})

func (m *v2) Attachment() (*Attachment, error) {
	dir := joinableDir(m.dir)
	a, err := attachV2(dir, m.rootless)
	if err == nil {
		// The choice holds while the cgroup delegates nothing.
		a.Volatile, a.Recheck = dir != m.dir, m.dir
	}
	return a, err
}

func (m *v2) SubAttachment(sub []string) (*Attachment, error) {
	dir, err := subDirV2(m.dir, sub)
	if err != nil {
		return nil, err
	}
	return attachV2(dir, m.rootless)
}

func subDirV2(dir string, sub []string) (string, error) {
	subs, err := parseSubCgroups(sub, true)
	if err != nil {
		return "", err
	}
	d := filepath.Join(dir, subs[""])
	if _, err := mkdirAll(d); err != nil {
		return "", err
	}
	return d, nil
}

// attachV2 opens dir for CLONE_INTO_CGROUP, and cgroup.procs for the
// constructor only on kernels without it.
func attachV2(dir string, rootless bool) (a *Attachment, err error) {
	a = &Attachment{}
	f, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if rootless && permissionErr(err) {
			return a, nil
		}
		return nil, newFileError("", "open", dir, err)
	}
	a.Dir = f
	if !cloneIntoCgroup() {
		t, err := openTasks(dir, "cgroup.procs")
		if err != nil {
			f.Close()
			return nil, err
		}
		a.TaskFiles = append(a.TaskFiles, t)
	}
	return a, nil
}

// joinableDir: a cgroup that delegates controllers to sub-cgroups cannot
// take processes (no internal processes rule; a container running its
// own cgroup tree, such as systemd inside). Then an exec joins the first
// populated leaf below it, as runc falls back to the init's cgroup.
func joinableDir(dir string) string {
	sc, err := readFile(dir, "cgroup.subtree_control")
	if err != nil || strings.TrimSpace(sc) == "" {
		return dir
	}
	found := dir
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == dir {
			return nil
		}
		if sc, err := readFile(p, "cgroup.subtree_control"); err != nil || strings.TrimSpace(sc) != "" {
			return nil
		}
		if pids, err := readPids(p + "/cgroup.procs"); err == nil && len(pids) > 0 {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

func (m *v2) Apply(pid int) error {
	err := writeFile(m.dir, "cgroup.procs", strconv.Itoa(pid), "")
	if err != nil && m.rootless && permissionErr(err) {
		return nil
	}
	return err
}

func (m *v2) Exists() bool { return exists(m.dir) }

func (m *v2) Unpopulated() bool { return unpopulated(m.dir) }

func (m *v2) Pids() ([]int, error) { return pidsRecursive(m.dir) }

func (m *v2) KillAll(sig unix.Signal) error { return killAllV2(m.dir, m.rel, sig) }

// killAllV2 uses cgroup.kill for SIGKILL (Linux 5.14: the kernel kills
// the whole tree at once, no fork race) and waits on cgroup.events until
// nothing is left; otherwise it signals each process.
func killAllV2(dir, rel string, sig unix.Signal) error {
	if !exists(dir) {
		return nil
	}
	if sig == unix.SIGKILL && exists(dir+"/cgroup.kill") {
		if err := writeFile(dir, "cgroup.kill", "1", ""); err != nil {
			return err
		}
		waitEvent(dir, "populated", "0", killExitWait)
		return nil
	}
	k := procKiller{
		list:   func() ([]int, error) { return pidsRecursive(dir) },
		member: func(pid int) bool { return inCgroup(pid, "", rel) },
	}
	if exists(dir + "/cgroup.freeze") {
		k.freeze = func() error { return freezeV2(dir) }
		k.thaw = func() error { return thawV2(dir) }
	}
	return k.kill(sig)
}

func (m *v2) Destroy() error {
	if err := removeCgroup(m.dir); err != nil {
		return err
	}
	removeParents(m.parents)
	return nil
}

func (m *v2) Frozen() (bool, error) { return frozenV2(m.dir) }

func frozenV2(dir string) (bool, error) {
	s, err := readFile(dir, "cgroup.freeze")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && exists(dir) {
			return false, nil // Linux < 5.2: no freezer
		}
		return false, err
	}
	return strings.TrimSpace(s) == "1", nil
}

func (m *v2) Freeze() error { return freezeV2(m.dir) }
func (m *v2) Thaw() error   { return thawV2(m.dir) }

func freezeV2(dir string) error {
	if err := writeFile(dir, "cgroup.freeze", "1", ""); err != nil {
		return err
	}
	if !waitEvent(dir, "frozen", "1", freezeTimeout) {
		_ = thawV2(dir)
		return fmt.Errorf("freeze %s: not frozen after %s (a task in uninterruptible sleep?)", dir, freezeTimeout)
	}
	return nil
}

func thawV2(dir string) error {
	if err := writeFile(dir, "cgroup.freeze", "0", ""); err != nil {
		return err
	}
	waitEvent(dir, "frozen", "0", freezeTimeout)
	return nil
}

// waitEvent waits until cgroup.events shows "key value", woken by inotify
// (the kernel notifies every change of the file), not by polling. It
// reports whether the state was reached.
func waitEvent(dir, key, value string, timeout time.Duration) bool {
	want := key + " " + value
	has := func() (bool, bool) {
		b, err := os.ReadFile(dir + "/cgroup.events")
		if err != nil {
			return false, false
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l == want {
				return true, true
			}
		}
		return false, true
	}
	if ok, readable := has(); ok || !readable {
		return ok || !exists(dir)
	}
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(ifd)
	if _, err := unix.InotifyAddWatch(ifd, dir+"/cgroup.events", unix.IN_MODIFY); err != nil {
		return !exists(dir)
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for {
		// Re-check after arming the watch: the change may have come
		// between the first read and the watch.
		if ok, readable := has(); ok || !readable {
			return ok || !exists(dir)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		pfd := []unix.PollFd{{Fd: int32(ifd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int(left/time.Millisecond)+1)
		if err != nil && err != unix.EINTR {
			return false
		}
		if n > 0 {
			_, _ = unix.Read(ifd, buf)
		}
	}
}

func (m *v2) Set(r *specs.LinuxResources, o SetOptions) error {
	if err := checkFits(r); err != nil {
		return err
	}
	return setV2(m.dir, r, m.cfg.Devices, o, m.rootless)
}

func (m *v2) setFiles(r *specs.LinuxResources, devs []specs.LinuxDevice, o SetOptions) error {
	if devs == nil {
		devs = m.cfg.Devices
	}
	return setV2(m.dir, r, devs, o, m.rootless)
}

func (m *v2) Stats() (*Stats, error) { return statsV2(m.dir) }

func (m *v2) OOMEvents(stop <-chan struct{}) (<-chan struct{}, error) {
	return oomEventsV2(m.dir, stop)
}

func (m *v2) OOMKillCount() (uint64, error) { return oomKillV2(m.dir) }
