package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// On cgroup v1 alone the init's constructor creates the namespaces while
// create makes the cgroups, and joins them through the tasks files it gets
// afterwards (libct/create.go startWithLateCgroups).

// v1Hierarchies lists the v1 controllers mounted here ("cpu,cpuacct", ...).
func v1Hierarchies(t *testing.T) []string {
	t.Helper()
	var out []string
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) > 4 && strings.HasPrefix(f[4], "/sys/fs/cgroup/") {
			out = append(out, filepath.Base(f[4]))
		}
	}
	return out
}

// inBothViews runs f in the v1 view and on the hybrid host as it is.
func inBothViews(t *testing.T, f func(t *testing.T, view bool)) {
	for _, view := range []bool{true, false} {
		name := "v1 view"
		if !view {
			name = "hybrid"
		}
		t.Run(name, func(t *testing.T) { f(t, view) })
	}
}

// viewBundle is newBundle seeing cgroup v1 alone (view) or on the hybrid
// host as it is.
func viewBundle(t *testing.T, view bool, args ...string) *Bundle {
	t.Helper()
	if !view && hostCgroupLayout() != "hybrid" {
		t.Skip("not a hybrid cgroup host (cgroup2 at /sys/fs/cgroup/unified beside v1)")
	}
	b := newBundle(t, args...)
	if view {
		b.useV1View()
	}
	return b
}

func TestV1InitJoinsItsCgroupsAfterMakingItsNamespaces(t *testing.T) {
	inBothViews(t, lateJoin)
}

// lateJoin: in the v1 view, or on the hybrid host as it is, where the init
// is born in the cgroup2 directory made before it.
func lateJoin(t *testing.T, view bool) {
	b := viewBundle(t, view, "sleep", "100")
	b.Env = []string{"SKIFF_TRACE=1"}
	b.Save()
	r := b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	spawned, made := strings.Index(r.Stderr, "spawn: started"), strings.Index(r.Stderr, "create: cgroups made")
	if spawned < 0 || made < 0 || spawned > made {
		t.Fatalf("want the init spawned before the cgroups were made:\n%s", r.Stderr)
	}
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(initPid(b)), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if p := strings.SplitN(l, ":", 3); len(p) == 3 {
			in[p[1]] = p[2]
		}
	}
	hier := v1Hierarchies(t)
	if len(hier) == 0 {
		t.Fatal("no v1 hierarchy found in /proc/self/mountinfo")
	}
	for _, h := range hier {
		if h == "systemd" || strings.HasPrefix(h, "name=") {
			continue
		}
		if got := in[h]; got != b.Spec.Linux.CgroupsPath {
			t.Errorf("the init is in %s:%s, want %s (whole /proc/pid/cgroup:\n%s)", h, got, b.Spec.Linux.CgroupsPath, data)
		}
	}
	if !view && in[""] != b.Spec.Linux.CgroupsPath {
		t.Errorf("the init is in the cgroup2 hierarchy at %q, want %s:\n%s", in[""], b.Spec.Linux.CgroupsPath, data)
	}
	b.MustSkiff("start", b.ID)
	b.MustSkiff("delete", "--force", b.ID)
}

// A new cgroup namespace is made after the join: its root is the
// container's cgroup.
func TestV1CgroupNamespaceRootIsTheContainersCgroup(t *testing.T) {
	b := newBundle(t, "cat", "/proc/self/cgroup")
	b.useV1View()
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	out := b.MustRun()
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		p := strings.SplitN(l, ":", 3)
		if len(p) == 3 && p[1] != "" && !strings.HasPrefix(p[1], "name=") && p[2] != "/" {
			t.Errorf("inside a new cgroup namespace %s is at %s, want /:\n%s", p[1], p[2], out)
		}
	}
}

// A cgroup that cannot be used fails create after the init started: the
// init goes, and nothing of the container is left (newBundle's cleanup
// checks).
//
// On the hybrid host the cgroup2 directory made before the init must go
// too (newBundle's leak check looks in every hierarchy).
func TestV1CgroupFailureAfterTheInitStarted(t *testing.T) {
	inBothViews(t, lateFailure)
}

func lateFailure(t *testing.T, view bool) {
	b := viewBundle(t, view, "sleep", "100")
	freezer := "/sys/fs/cgroup/freezer"
	if _, err := os.Stat(filepath.Join(freezer, "freezer.state")); err != nil {
		// The root has no freezer.state; a hierarchy is enough.
		if _, err := os.Stat(filepath.Join(freezer, "tasks")); err != nil {
			t.Skip("no v1 freezer hierarchy here: cannot make a frozen cgroup")
		}
	}
	dir := filepath.Join(freezer, b.Spec.Linux.CgroupsPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
		os.Remove(dir)
	})
	if err := os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("FROZEN"), 0); err != nil {
		t.Fatal(err)
	}
	b.Env = []string{"SKIFF_TRACE=1"}
	b.Save()
	r := b.Skiff("create", "--bundle", b.Dir, b.ID)
	if r.Code == 0 {
		t.Fatalf("create in a frozen cgroup succeeded:\n%s", r)
	}
	contains(t, r.Stderr, "is frozen")
	contains(t, r.Stderr, "spawn: started")
	if _, err := os.Stat(filepath.Join(b.Root, b.ID)); err == nil {
		t.Errorf("state directory left after the failed create")
	}
	// The frozen directory was there before: it stays, empty.
	if data, _ := os.ReadFile(filepath.Join(dir, "tasks")); len(strings.TrimSpace(string(data))) > 0 {
		t.Errorf("processes left in %s: %s", dir, data)
	}
	os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
	os.Remove(dir)
}
