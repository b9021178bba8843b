package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/cgroups"
)

// Cgroup tests: each resource is checked in the cgroup file (outside) and,
// where cheap, by its effect (inside). They run on cgroup v1 hybrid (the
// dev host), pure v2 and the systemd driver (the VM, make test-vm).

func hostV2() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

func u64(v uint64) *uint64 { return &v }
func u32(v uint32) *uint32 { return &v }

// cgDir is the host directory of pid's cgroup in the hierarchy of ctrl
// ("" for cgroup v2), from /proc/<pid>/cgroup and the mount table.
func cgDir(t *testing.T, pid int, ctrl string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("read the cgroup of pid %d: %v", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		match := parts[1] == "" && ctrl == ""
		for _, c := range strings.Split(parts[1], ",") {
			if c == ctrl && ctrl != "" {
				match = true
			}
		}
		if !match {
			continue
		}
		mount := "/sys/fs/cgroup"
		if !hostV2() {
			switch ctrl {
			case "":
				mount += "/unified"
			case "name=systemd":
				mount += "/systemd"
			default:
				mount += "/" + ctrl
			}
		}
		return mount + parts[2]
	}
	t.Fatalf("pid %d has no cgroup for %q:\n%s", pid, ctrl, b)
	return ""
}

// cgRead reads a cgroup file of pid's container.
func cgRead(t *testing.T, pid int, ctrl, file string) string {
	t.Helper()
	if hostV2() {
		ctrl = ""
	}
	b, err := os.ReadFile(filepath.Join(cgDir(t, pid, ctrl), file))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return strings.TrimSpace(string(b))
}

func expectCg(t *testing.T, pid int, ctrl, file, want string) {
	t.Helper()
	if got := cgRead(t, pid, ctrl, file); got != want {
		t.Errorf("%s = %q, want %q", file, got, want)
	}
}

// cgBundle is newBundle for these tests. With SKIFF_TEST_VM=1 (make
// test-vm, Linux 6.1 guest) masked paths that are directories are dropped:
// libct/rootfs masks them by cloning a detached tmpfs mount with
// open_tree(OPEN_TREE_CLONE), which kernels before 6.15 refuse with EINVAL.
// That is a rootfs bug to fix there; here it would hide every cgroup result.
func cgBundle(t *testing.T, args ...string) *Bundle {
	t.Helper()
	b := newBundle(t, args...)
	if os.Getenv("SKIFF_TEST_VM") == "1" {
		var keep []string
		for _, p := range b.Spec.Linux.MaskedPaths {
			if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
				keep = append(keep, p)
			}
		}
		b.Spec.Linux.MaskedPaths = keep
		b.Save()
	}
	return b
}

// startDetached runs the bundle detached and returns the init pid.
func startDetached(t *testing.T, b *Bundle) int {
	t.Helper()
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	return int(b.State()["pid"].(float64))
}

func TestCgroupLimitsInFiles(t *testing.T) {
	b := cgBundle(t, "sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 1000")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(128 << 20)}
	b.Spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0", Mems: "0"}
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(64)}
	pid := startDetached(t, b)
	if hostV2() {
		expectCg(t, pid, "", "memory.max", "67108864")
		expectCg(t, pid, "", "memory.low", "33554432")
		expectCg(t, pid, "", "memory.swap.max", "67108864") // swap - limit
		expectCg(t, pid, "", "cpu.weight", "20")            // runc's conversion of 512 shares
		expectCg(t, pid, "", "cpu.max", "50000 100000")
		expectCg(t, pid, "", "cpuset.cpus", "0")
		expectCg(t, pid, "", "pids.max", "64")
	} else {
		expectCg(t, pid, "memory", "memory.limit_in_bytes", "67108864")
		expectCg(t, pid, "memory", "memory.soft_limit_in_bytes", "33554432")
		expectCg(t, pid, "memory", "memory.memsw.limit_in_bytes", "134217728")
		expectCg(t, pid, "cpu", "cpu.shares", "512")
		expectCg(t, pid, "cpu", "cpu.cfs_quota_us", "50000")
		expectCg(t, pid, "cpu", "cpu.cfs_period_us", "100000")
		expectCg(t, pid, "cpuset", "cpuset.cpus", "0")
		expectCg(t, pid, "cpuset", "cpuset.mems", "0")
		expectCg(t, pid, "pids", "pids.max", "64")
	}
	// Inside: the cpuset pins the init.
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	contains(t, string(status), "Cpus_allowed_list:\t0\n")
	// Inside, the cgroup namespace shows the container's own limits.
	file := "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	if hostV2() {
		file = "/sys/fs/cgroup/memory.max"
	}
	r := b.MustSkiff("exec", b.ID, "cat", file)
	contains(t, r.Stdout, "67108864")
}

// PITFALLS 16: create returns with the init already in its final cgroup
// (containerd reads /proc/<init>/cgroup right away), limits set.
func TestCgroupPlacedBeforeStart(t *testing.T) {
	b := cgBundle(t, "sleep", "1000")
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(10)}
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	pid := int(b.State()["pid"].(float64))
	cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	want := b.Spec.Linux.CgroupsPath
	if systemdCgroup {
		want = "/system.slice/skiff-test-" + b.ID + ".scope"
	}
	for _, l := range strings.Split(strings.TrimSpace(string(cg)), "\n") {
		// Every hierarchy, the cgroup2 one of a hybrid host included.
		if !strings.HasSuffix(l, ":"+want) {
			t.Errorf("before start, the init is not in %s: %q", want, l)
		}
	}
	expectCg(t, pid, "pids", "pids.max", "10")
	if b.Status() != "created" {
		t.Errorf("status %s, want created", b.Status())
	}
}

func TestCgroupMemoryLimitOOMKills(t *testing.T) {
	// tail of /dev/zero buffers an endless line under a 16 MiB limit (no
	// swap). One process: with a pipeline the OOM killer may pick a
	// helper and the rest would carry on.
	b := cgBundle(t, "tail", "/dev/zero")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(16 << 20), Swap: i64(16 << 20)}
	r := b.Run()
	if r.Code != 137 {
		t.Fatalf("want exit 137 (SIGKILL by the OOM killer):\n%s", r)
	}
}

// An init OOM-killed while create sets the container up: the error says so
// (otherwise it is only a broken sync socket), and nothing is left. With
// the systemd driver the scope is gone by then (systemd stops it once
// empty): the slice's count stands in for it.
func TestCgroupCreateSaysInitWasOOMKilled(t *testing.T) {
	b := cgBundle(t, "true")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(1 << 20), Swap: i64(1 << 20)}
	b.Save()
	r := b.Skiff("create", "--bundle", b.Dir, b.ID)
	if r.Code == 0 {
		t.Fatalf("create under a 1 MiB memory limit succeeded:\n%s", r)
	}
	contains(t, r.Stderr, "the container's init was OOM-killed while being set up: raise linux.resources.memory.limit (1048576 bytes)")
	if st := b.Skiff("state", b.ID); st.Code == 0 {
		t.Errorf("the failed create left a container:\n%s", st)
	}
}

// The same for an exec'd process (through the Go init, which needs memory),
// and only for a kill during that exec: the count is the container's
// whole life's, and a later failure is not blamed on an earlier OOM.
func TestCgroupExecSaysProcessWasOOMKilled(t *testing.T) {
	b := cgBundle(t, "sleep", "1000")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(64 << 20)}
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	b.MustSkiff("update", "--memory", "1048576", "--memory-swap", "1048576", b.ID)
	b.Env = []string{"SKIFF_EXEC_INIT=go"}
	r := b.Skiff("exec", b.ID, "true")
	if r.Code == 0 {
		t.Fatalf("exec through the Go init under a 1 MiB limit succeeded:\n%s", r)
	}
	contains(t, r.Stderr, "the exec'd process was OOM-killed while being set up: raise linux.resources.memory.limit (1048576 bytes)")
	// Memory enough again (a failed fast exec is retried through the Go
	// init): the missing binary is the only failure.
	b.Env = nil
	b.MustSkiff("update", "--memory", "67108864", "--memory-swap", "67108864", b.ID)
	r = b.Skiff("exec", b.ID, "/no/such/binary")
	if r.Code == 0 {
		t.Fatalf("exec of a missing binary succeeded:\n%s", r)
	}
	notContains(t, r.Stderr, "OOM")
}

// The OOM is visible to engines: an oom event on `events`, the kill count
// in the cgroup, failcnt in `events --stats`.
func TestCgroupOOMEvent(t *testing.T) {
	b := cgBundle(t, "sleep", "1000")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(16 << 20), Swap: i64(16 << 20)}
	pid := startDetached(t, b)

	ev := b.command("events", "--interval", "1s", b.ID)
	out, err := ev.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ev.Process.Kill(); _ = ev.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// The first stats line means the watcher is set up.
	select {
	case l := <-lines:
		contains(t, l, `"type":"stats"`)
	case <-time.After(20 * time.Second):
		t.Fatal("no stats line from events within 20s")
	}
	r := b.Skiff("exec", b.ID, "tail", "/dev/zero") // one process: the one the OOM killer must take
	if r.Code != 137 {
		t.Errorf("the exec'd allocator: want exit 137:\n%s", r)
	}
	deadline := time.After(20 * time.Second)
	for got := false; !got; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("events ended without an oom event")
			}
			if strings.Contains(l, `"type":"oom"`) {
				contains(t, l, `"id":"`+b.ID+`"`)
				got = true
			}
		case <-deadline:
			t.Fatal("no oom event within 20s")
		}
	}
	// At least one kill: the kernel may take more than one task of the
	// pipeline (sh, head, tr) before memory is back under the limit.
	counters := ""
	if hostV2() {
		counters = cgRead(t, pid, "", "memory.events")
	} else {
		counters = cgRead(t, pid, "memory", "memory.oom_control")
	}
	if m := regexp.MustCompile(`(?m)^oom_kill (\d+)$`).FindStringSubmatch(counters); m == nil || m[1] == "0" {
		t.Errorf("the OOM kill is not counted in the memory cgroup:\n%s", counters)
	}
	var st struct {
		Data struct {
			Memory struct {
				Usage struct {
					Limit   uint64 `json:"limit"`
					Max     uint64 `json:"max"`
					Failcnt uint64 `json:"failcnt"`
				} `json:"usage"`
			} `json:"memory"`
		} `json:"data"`
	}
	r = b.MustSkiff("events", "--stats", b.ID)
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("events --stats: %v\n%s", err, r.Stdout)
	}
	// The peak reached the limit (failcnt is not counted by every kernel:
	// 6.18's v1 memcg reports 0 after an OOM kill).
	if u := st.Data.Memory.Usage; u.Limit != 16<<20 || (u.Max < u.Limit && u.Failcnt == 0) {
		t.Errorf("events --stats memory.usage = %+v, want limit %d reached", u, 16<<20)
	}
}

func TestCgroupPidsLimitStopsForkLoop(t *testing.T) {
	b := cgBundle(t, "sleep", "1000")
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(10)}
	pid := startDetached(t, b)
	// The shell dies on its first failed fork; the sleeps it made stay.
	r := b.Skiff("exec", b.ID, "sh", "-c", `i=0; while [ $i -lt 30 ]; do sleep 100 & i=$((i+1)); done`)
	if r.Code == 0 {
		t.Fatalf("30 forks under pids.limit 10 succeeded:\n%s", r)
	}
	contains(t, r.Stderr, "fork")
	pids := psJSON(t, b)
	cur, _ := strconv.Atoi(cgRead(t, pid, "pids", "pids.current"))
	if len(pids) < 5 || len(pids) > 10 || cur > 10 {
		t.Errorf("%d processes (pids.current %d) under pids.limit 10", len(pids), cur)
	}
}

func TestCgroupUpdate(t *testing.T) {
	b := cgBundle(t, "sleep", "1000")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(20)}
	pid := startDetached(t, b)

	b.MustSkiff("update", "--memory", "128m", "--pids-limit", "30", "--cpu-share", "256", "--cpu-quota", "20000", "--cpu-period", "100000", b.ID)
	if hostV2() {
		expectCg(t, pid, "", "memory.max", "134217728")
		expectCg(t, pid, "", "pids.max", "30")
		expectCg(t, pid, "", "cpu.weight", "10")
		expectCg(t, pid, "", "cpu.max", "20000 100000")
	} else {
		expectCg(t, pid, "memory", "memory.limit_in_bytes", "134217728")
		expectCg(t, pid, "pids", "pids.max", "30")
		expectCg(t, pid, "cpu", "cpu.shares", "256")
		expectCg(t, pid, "cpu", "cpu.cfs_quota_us", "20000")
	}

	// --resources - : what containerd and docker send.
	res := `{"memory":{"limit":268435456},"pids":{"limit":40}}`
	r := b.SkiffIn([]byte(res), "update", "--resources", "-", b.ID)
	if r.Code != 0 {
		t.Fatalf("update --resources -:\n%s", r)
	}
	if hostV2() {
		expectCg(t, pid, "", "memory.max", "268435456")
		expectCg(t, pid, "", "pids.max", "40")
		expectCg(t, pid, "", "cpu.max", "20000 100000") // kept
	} else {
		expectCg(t, pid, "memory", "memory.limit_in_bytes", "268435456")
		expectCg(t, pid, "pids", "pids.max", "40")
		expectCg(t, pid, "cpu", "cpu.cfs_quota_us", "20000") // kept
	}

	// A value the kernel refuses: the error names the field and the
	// previous limits stay.
	r = b.SkiffIn([]byte(`{"cpu":{"shares":1}}`), "update", "--resources", "-", b.ID)
	if r.Code == 0 {
		t.Fatal("update with cpu.shares 1 succeeded")
	}
	contains(t, r.Stderr, "linux.resources.cpu.shares")

	// Devices are never touched by update: /dev/null still works.
	r = b.MustSkiff("exec", b.ID, "sh", "-c", "echo x > /dev/null && echo ok")
	contains(t, r.Stdout, "ok")
}

func TestCgroupPauseResume(t *testing.T) {
	b := cgBundle(t, "sleep", "1000")
	pid := startDetached(t, b)
	b.MustSkiff("pause", b.ID)
	if s := b.Status(); s != "paused" {
		t.Fatalf("status after pause: %s", s)
	}
	if hostV2() {
		contains(t, cgRead(t, pid, "", "cgroup.events"), "frozen 1")
	} else {
		expectCg(t, pid, "freezer", "freezer.state", "FROZEN")
	}
	st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if f := strings.Fields(string(st)); len(f) < 3 || (f[2] != "D" && f[2] != "S") {
		t.Logf("frozen task state: %s", st)
	}
	r := b.Skiff("exec", b.ID, "true")
	if r.Code == 0 {
		t.Error("exec into a paused container succeeded without --ignore-paused")
	}
	b.MustSkiff("resume", b.ID)
	if s := b.Status(); s != "running" {
		t.Fatalf("status after resume: %s", s)
	}
	// A paused container is still killed by SIGKILL.
	b.MustSkiff("pause", b.ID)
	start := time.Now()
	b.MustSkiff("kill", b.ID, "KILL")
	waitFor(t, 5*time.Second, "the paused container to stop", func() bool { return b.Status() == "stopped" })
	t.Logf("paused container stopped %v after SIGKILL", time.Since(start))

	// A created container can be paused; resume returns to created.
	c := cgBundle(t, "sleep", "1000")
	c.Save()
	c.MustSkiff("create", "--bundle", c.Dir, c.ID)
	c.MustSkiff("pause", c.ID)
	if s := c.Status(); s != "paused" {
		t.Fatalf("created container after pause: %s", s)
	}
	c.MustSkiff("resume", c.ID)
	if s := c.Status(); s != "created" {
		t.Fatalf("created container after pause+resume: %s", s)
	}
}

func psJSON(t *testing.T, b *Bundle) []int {
	t.Helper()
	r := b.MustSkiff("ps", "--format", "json", b.ID)
	var pids []int
	if err := json.Unmarshal([]byte(r.Stdout), &pids); err != nil {
		t.Fatalf("ps --format json is not a JSON array of pids: %v\n%s", err, r.Stdout)
	}
	return pids
}

func TestCgroupPsJSONAndExecJoins(t *testing.T) {
	b := cgBundle(t, "sh", "-c", "sleep 1000 & sleep 1000")
	pid := startDetached(t, b)
	b.MustSkiff("exec", "-d", b.ID, "sleep", "999")
	var pids []int
	// init (sh, or sleep if sh execs its last command), a sleep, the exec'd sleep
	waitFor(t, 5*time.Second, "3 processes in ps", func() bool { pids = psJSON(t, b); return len(pids) >= 3 })
	ctrl := "pids"
	if hostV2() {
		ctrl = ""
	}
	want := cgDir(t, pid, ctrl)
	for _, p := range pids {
		if got := cgDir(t, p, ctrl); got != want {
			t.Errorf("pid %d is in %s, not the container's %s", p, got, want)
		}
		if !hostV2() {
			// The exec'd process joined every hierarchy, cgroup2 included
			// (runc#2087: runc misses the unified one on hybrid hosts).
			if got, w := cgDir(t, p, ""), cgDir(t, pid, ""); got != w {
				t.Errorf("pid %d: cgroup2 %s, want %s", p, got, w)
			}
		}
	}

	// exec --cgroup: a sub-cgroup, made if missing.
	sub := "sub"
	if !hostV2() {
		sub = "memory,pids:sub"
	}
	r := b.MustSkiff("exec", "--cgroup", sub, b.ID, "cat", "/proc/self/cgroup")
	contains(t, r.Stdout, "/sub")
	r = b.Skiff("exec", "--cgroup", "../../escape", b.ID, "true")
	if r.Code == 0 {
		t.Error("exec --cgroup ../../escape succeeded")
	}
}

func TestCgroupEventsStats(t *testing.T) {
	b := cgBundle(t, "sh", "-c", "sleep 1000 & sleep 1000")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	b.Spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(50)}
	startDetached(t, b)
	r := b.MustSkiff("events", "--stats", b.ID)
	var ev struct {
		Type string                     `json:"type"`
		ID   string                     `json:"id"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &ev); err != nil {
		t.Fatalf("events --stats is not one JSON object: %v\n%s", err, r.Stdout)
	}
	if ev.Type != "stats" || ev.ID != b.ID {
		t.Errorf("event type %q id %q", ev.Type, ev.ID)
	}
	// runc's types.Stats keys.
	for _, k := range []string{"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"} {
		if _, ok := ev.Data[k]; !ok {
			t.Errorf("stats lack %q:\n%s", k, r.Stdout)
		}
	}
	var d struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Usage struct {
				Limit uint64 `json:"limit"`
				Usage uint64 `json:"usage"`
			} `json:"usage"`
			Raw map[string]uint64 `json:"raw"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	}
	raw, _ := json.Marshal(ev.Data)
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.CPU.Usage.Total == 0 || d.Memory.Usage.Limit != 64<<20 || d.Memory.Usage.Usage == 0 || len(d.Memory.Raw) == 0 || d.Pids.Current != 2 || d.Pids.Limit != 50 {
		t.Errorf("stats values: %+v", d)
	}
	// The same keys as runc's, when runc is installed on this machine.
	if runc, err := exec.LookPath("runc"); err == nil && !systemdCgroup {
		compareWithRunc(t, runc, ev.Data)
	}
}

// compareWithRunc runs the same kind of container with runc and checks
// that skiff's stats have every key runc's have, at every level.
func compareWithRunc(t *testing.T, runc string, ours map[string]json.RawMessage) {
	b := cgBundle(t, "sleep", "1000")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	b.Save()
	root := filepath.Join(b.Dir, "runc-root")
	runcCmd := func(args ...string) ([]byte, error) {
		c := exec.Command(runc, append([]string{"--root", root}, args...)...)
		c.Stdin = nil
		return c.Output()
	}
	// Output to a file, not a pipe: the detached container inherits it.
	logf, err := os.CreateTemp(b.Dir, "runc-out-")
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(runc, "--root", root, "run", "-d", "--bundle", b.Dir, b.ID+"-runc")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logf.Name())
		t.Logf("runc could not run the bundle (skipping the comparison): %v\n%s", err, out)
		return
	}
	defer func() {
		_, _ = runcCmd("delete", "--force", b.ID+"-runc")
	}()
	out, err := runcCmd("events", "--stats", b.ID+"-runc")
	if err != nil {
		t.Logf("runc events --stats: %v", err)
		return
	}
	var theirs struct {
		Data map[string]any `json:"data"`
	}
	// Numbers as written: "no limit" is 2^64-1, which a float64 rounds up.
	dec := json.NewDecoder(strings.NewReader(string(out)))
	dec.UseNumber()
	if err := dec.Decode(&theirs); err != nil {
		t.Fatalf("runc's stats: %v", err)
	}
	// Zero values are omitted by both, so compare schemas, not runs: runc's
	// data read into skiff's Stats type and written out again must keep
	// every key (a key skiff's type lacks, or spells differently, is lost).
	var st cgroups.Stats
	raw, _ := json.Marshal(theirs.Data)
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("runc's stats do not fit skiff's schema: %v", err)
	}
	raw, _ = json.Marshal(&st)
	var again map[string]any
	_ = json.Unmarshal(raw, &again)
	for _, k := range missingKeys("", theirs.Data, again) {
		t.Errorf("runc's stats have %s, skiff's schema does not", k)
	}
	// And skiff's own output has every top-level key runc's has.
	for k := range theirs.Data {
		if _, ok := ours[k]; !ok {
			t.Errorf("runc's stats have %q, skiff's output does not", k)
		}
	}
}

func missingKeys(prefix string, theirs, ours map[string]any) []string {
	var out []string
	for k, v := range theirs {
		if prefix == ".memory.raw" {
			continue // kernel counters, compared by name only at the top
		}
		ov, ok := ours[k]
		if !ok {
			out = append(out, prefix+"."+k)
			continue
		}
		if tm, ok := v.(map[string]any); ok {
			if om, ok := ov.(map[string]any); ok {
				out = append(out, missingKeys(prefix+"."+k, tm, om)...)
			}
		}
	}
	return out
}

// A container sharing the host's PID namespace: killing its init does
// not kill the rest, so kill --all and delete must find them by cgroup.
func sharedPidBundle(t *testing.T, args ...string) *Bundle {
	b := cgBundle(t, args...)
	var ns []specs.LinuxNamespace
	for _, n := range b.Spec.Linux.Namespaces {
		if n.Type != specs.PIDNamespace {
			ns = append(ns, n)
		}
	}
	b.Spec.Linux.Namespaces = ns
	return b
}

func TestCgroupKillAll(t *testing.T) {
	b := sharedPidBundle(t, "sh", "-c", "trap 'exit 0' TERM; sleep 1000 & sleep 1000 & wait")
	startDetached(t, b)
	var pids []int
	waitFor(t, 5*time.Second, "3 processes", func() bool { pids = psJSON(t, b); return len(pids) == 3 })
	b.MustSkiff("kill", "--all", b.ID, "TERM")
	for _, p := range pids {
		p := p
		waitFor(t, 5*time.Second, fmt.Sprintf("pid %d to exit after kill --all TERM", p), func() bool {
			return syscall.Kill(p, 0) != nil || isZombie(p)
		})
	}
	waitFor(t, 5*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
	// --all on a stopped container is not an error (podman relies on it).
	b.MustSkiff("kill", "--all", b.ID, "KILL")
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func TestCgroupDeleteKillsLingering(t *testing.T) {
	b := sharedPidBundle(t, "sh", "-c", "sleep 1000 & exec sleep 1001")
	pid := startDetached(t, b)
	var pids []int
	waitFor(t, 5*time.Second, "2 processes", func() bool { pids = psJSON(t, b); return len(pids) == 2 })
	// The init dies alone (as after a crash); its child lingers.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
	b.MustSkiff("delete", b.ID)
	for _, p := range pids {
		if syscall.Kill(p, 0) == nil && !isZombie(p) {
			t.Errorf("pid %d still runs after delete", p)
		}
	}
	b.NoLeaks()
}

// Relative and empty cgroupsPath nest in skiff's own cgroup (v1) or its
// parent (v2), per hierarchy, as runc does.
func TestCgroupRelativePath(t *testing.T) {
	if systemdCgroup {
		t.Skip("the systemd driver names units, not paths")
	}
	own := map[string]string{}
	b, _ := os.ReadFile("/proc/self/cgroup")
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		p := strings.SplitN(l, ":", 3)
		for _, c := range strings.Split(p[1], ",") {
			own[c] = p[2]
		}
	}
	for _, rel := range []string{"", "skiff-test-rel/nested"} {
		t.Run(fmt.Sprintf("%q", rel), func(t *testing.T) {
			if rel != "" {
				// Like runc, delete removes the container's own directory,
				// not the parents create made for it: remove those here,
				// after the container's cleanup (cleanups run last first).
				t.Cleanup(func() {
					for ctrl, p := range own {
						base := "/sys/fs/cgroup/" + strings.TrimPrefix(ctrl, "name=")
						if hostV2() {
							base, p = "/sys/fs/cgroup", filepath.Dir(p)
						} else if ctrl == "" {
							base = "/sys/fs/cgroup/unified"
						}
						_ = os.Remove(filepath.Join(base, p, "skiff-test-rel"))
					}
				})
			}
			c := cgBundle(t, "sleep", "1000")
			abs := c.Spec.Linux.CgroupsPath
			c.Spec.Linux.CgroupsPath = rel
			pid := startDetached(t, c)
			// The harness's leak check knows absolute paths only: it gets
			// the (never made) absolute one back, the dirs are checked here.
			defer func() { c.Spec.Linux.CgroupsPath = abs }()
			leaf := rel
			if rel == "" {
				leaf = c.ID
			}
			var dirs []string
			for _, ctrl := range []string{"memory", "pids", ""} {
				if hostV2() && ctrl != "" {
					continue
				}
				base := own[ctrl]
				if hostV2() {
					base = filepath.Dir(base)
				}
				want := filepath.Join(base, leaf)
				dir := cgDir(t, pid, ctrl)
				if !strings.HasSuffix(dir, want) {
					t.Errorf("%q: the init is in %s, want .../%s", ctrl, dir, want)
				}
				dirs = append(dirs, dir)
			}
			c.MustSkiff("delete", "--force", c.ID)
			for _, d := range dirs {
				if _, err := os.Stat(d); err == nil {
					t.Errorf("leak: %s", d)
				}
			}
		})
	}
}

func TestCgroupUnsupportedFieldIsAnError(t *testing.T) {
	b := cgBundle(t, "true")
	// net_cls: not mounted on the dev host, absent from cgroup v2.
	b.Spec.Linux.Resources.Network = &specs.LinuxNetwork{ClassID: u32(0x100001)}
	b.Spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: u64(1), Cpus: "0-"}
	if hostV2() {
		b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Swappiness: u64(10)}
	} else {
		b.Spec.Linux.Resources.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}}
	}
	r := b.Run()
	if r.Code == 0 {
		t.Fatalf("run with unsupported fields succeeded:\n%s", r)
	}
	for _, f := range []string{"linux.resources.network.classID", "linux.resources.cpu.shares", "linux.resources.cpu.cpus"} {
		contains(t, r.Stderr, f)
	}
	if hostV2() {
		contains(t, r.Stderr, "linux.resources.memory.swappiness")
	} else {
		contains(t, r.Stderr, "linux.resources.hugepageLimits[0]")
	}
	b.NoLeaks()
}

// PITFALLS 8: default-deny devices; the defaults and spec rules allowed.
// A node of a number no driver has (240 is for local use) tells the two
// apart: the device cgroup refuses with EPERM, an allowed open reaches the
// kernel and fails with ENXIO.
func TestCgroupDevices(t *testing.T) {
	b := cgBundle(t, "sh", "-c", `
mknod /tmp/sda b 8 0 && (head -c1 /tmp/sda 2>&1 >/dev/null; true)
mknod /tmp/x c 240 0 && (cat /tmp/x 2>&1; (echo > /tmp/x) 2>&1; true)
mknod /tmp/y c 241 0 && (cat /tmp/y 2>&1; true)
echo x > /dev/null && echo null-ok
head -c1 /dev/urandom >/dev/null && echo urandom-ok`)
	caps := []string{"CAP_MKNOD", "CAP_DAC_OVERRIDE"}
	b.Spec.Process.Capabilities.Bounding = append(b.Spec.Process.Capabilities.Bounding, caps...)
	b.Spec.Process.Capabilities.Effective = append(b.Spec.Process.Capabilities.Effective, caps...)
	b.Spec.Process.Capabilities.Permitted = append(b.Spec.Process.Capabilities.Permitted, caps...)
	// Allow reading (only) char 240:*.
	b.Spec.Linux.Resources.Devices = append(b.Spec.Linux.Resources.Devices,
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(240), Access: "r"})
	out := b.MustRun()
	lines := strings.Split(out, "\n")
	want := []string{
		"/tmp/sda: Operation not permitted",            // a disk: default deny
		"/tmp/x': No such device or address",           // read allowed by the spec rule
		"can't create /tmp/x: Operation not permitted", // ...write is not
		"/tmp/y': Operation not permitted",             // no rule
		"null-ok", "urandom-ok",
	}
	for _, w := range want {
		found := false
		for _, l := range lines {
			if strings.Contains(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("expected %q in:\n%s", w, out)
		}
	}
}

// systemd driver: the unit exists while the container does, and goes
// (reset even if it failed) with delete.
func TestCgroupSystemdUnit(t *testing.T) {
	if !systemdCgroup {
		t.Skip("SKIFF_TEST_SYSTEMD_CGROUP=1 only")
	}
	b := cgBundle(t, "sleep", "1000")
	b.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	startDetached(t, b)
	unit := "skiff-test-" + b.ID + ".scope"
	out, err := exec.Command("systemctl", "show", "-p", "ActiveState", "-p", "ControlGroup", "-p", "MemoryMax", "-p", "Delegate", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl show %s: %v\n%s", unit, err, out)
	}
	for _, want := range []string{"ActiveState=active", "ControlGroup=/system.slice/" + unit, "MemoryMax=67108864", "Delegate=yes"} {
		contains(t, string(out), want)
	}
	b.MustSkiff("delete", "--force", b.ID)
	out, _ = exec.Command("systemctl", "show", "-p", "LoadState", "-p", "ActiveState", unit).CombinedOutput()
	if !strings.Contains(string(out), "LoadState=not-found") && !strings.Contains(string(out), "ActiveState=inactive") {
		t.Errorf("unit %s after delete:\n%s", unit, out)
	}
	// An OOM-killed container's unit must not stay "failed".
	c := cgBundle(t, "tail", "/dev/zero")
	c.Spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(16 << 20), Swap: i64(16 << 20)}
	if r := c.Run(); r.Code != 137 {
		t.Errorf("OOM under systemd: want exit 137:\n%s", r)
	}
	c.MustSkiff("delete", "--force", c.ID)
	out, _ = exec.Command("systemctl", "is-failed", "skiff-test-"+c.ID+".scope").CombinedOutput()
	if strings.TrimSpace(string(out)) == "failed" {
		t.Errorf("the OOM-killed container's unit is still failed after delete")
	}
}

// The parent directories of cgroupsPath that create made are removed by
// delete; a parent that existed before (made by someone else) stays.
func TestCgroupParentsMadeByCreateAreRemoved(t *testing.T) {
	if systemdCgroup {
		t.Skip("the systemd driver's slices belong to systemd: cgroupfs drivers only")
	}
	b := cgBundle(t, "sleep", "1000")
	made := cgroupParent + "/" + b.ID + "-made"
	b.Spec.Linux.CgroupsPath = made + "/a/" + b.ID
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	for _, d := range cgroupDirs(made + "/a") {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("parent %s missing while the container runs: %v", d, err)
		}
	}
	b.MustSkiff("delete", "--force", b.ID)
	for _, d := range cgroupDirs(made) {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("parent %s made by create is left after delete", d)
			os.Remove(d + "/a")
			os.Remove(d)
		}
	}

	kept := cgroupParent + "/" + b.ID + "-kept"
	for _, d := range cgroupDirs(kept) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(d) })
	}
	b.Spec.Linux.CgroupsPath = kept + "/" + b.ID
	b.Spec.Process.Args = []string{"true"}
	b.Save()
	b.MustRun()
	for _, d := range cgroupDirs(kept) {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("parent %s that existed before the container was removed: %v", d, err)
		}
	}
	b.NoLeaks()
}
