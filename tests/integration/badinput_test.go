package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Every bad input gets one clear error naming the field or path, exit 1,
// and nothing left behind (the bundle's cleanup checks for leaks).

func expectCreateFails(t *testing.T, b *Bundle, want ...string) Result {
	t.Helper()
	r := b.Skiff("create", "--bundle", b.Dir, b.ID)
	if r.Code != 1 {
		t.Fatalf("create must fail with exit 1:\n%s", r)
	}
	for _, w := range want {
		contains(t, r.Stderr, w)
	}
	if n := strings.Count(strings.TrimSpace(r.Stderr), "\n"); n > 0 {
		t.Errorf("the error must be one line, got %d:\n%s", n+1, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(b.Root, b.ID)); err == nil {
		t.Errorf("a failed create left its state directory")
	}
	return r
}

func TestMalformedConfig(t *testing.T) {
	b := newBundle(t)
	os.WriteFile(filepath.Join(b.Dir, "config.json"), []byte("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}"), 0o644)
	expectCreateFails(t, b, "config.json", "line 3")
}

func TestConfigWrongType(t *testing.T) {
	b := newBundle(t)
	os.WriteFile(filepath.Join(b.Dir, "config.json"), []byte(`{"ociVersion":"1.0.2","process":{"args":"sh"}}`), 0o644)
	expectCreateFails(t, b, "process.args")
}

func TestMissingConfig(t *testing.T) {
	b := newBundle(t)
	os.Remove(filepath.Join(b.Dir, "config.json"))
	expectCreateFails(t, b, "config.json")
}

func TestMissingRootfs(t *testing.T) {
	b := newBundle(t)
	b.Spec.Root.Path = "no-such-rootfs"
	b.Save()
	expectCreateFails(t, b, filepath.Join(b.Dir, "no-such-rootfs"))
}

func TestMissingBinary(t *testing.T) {
	b := newBundle(t, "no-such-binary", "arg")
	b.Save()
	expectCreateFails(t, b, `no-such-binary`, `executable file not found in $PATH`)
}

func TestMissingBinaryAbsolute(t *testing.T) {
	b := newBundle(t, "/usr/bin/nope")
	b.Save()
	expectCreateFails(t, b, "/usr/bin/nope", "no such file or directory")
}

func TestBadContainerIDs(t *testing.T) {
	b := newBundle(t)
	for _, id := range []string{"../x", "a/b", "..", ".", "has space", ""} {
		r := b.Skiff("create", "--bundle", b.Dir, id)
		if r.Code != 1 {
			t.Errorf("create %q must fail:\n%s", id, r)
			continue
		}
		if id != "" {
			contains(t, r.Stderr, "invalid container ID format")
		}
	}
	if _, err := os.Stat(filepath.Join(b.Dir, "x")); err == nil {
		t.Error("create ../x wrote outside the state root")
	}
}

func TestDuplicateID(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	r := b.Skiff("create", "--bundle", b.Dir, b.ID)
	if r.Code != 1 {
		t.Fatalf("a duplicate id must fail:\n%s", r)
	}
	contains(t, r.Stderr, "already exists")
	if s := b.Status(); s != "created" {
		t.Fatalf("the first container must be untouched, status %s", s)
	}
}

func TestInvalidNamespacePath(t *testing.T) {
	b := newBundle(t)
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces[:0:0], specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/999999999/ns/net"}, specs.LinuxNamespace{Type: specs.MountNamespace})
	b.Save()
	expectCreateFails(t, b, "/proc/999999999/ns/net")
}

func TestNamespacePathOfWrongType(t *testing.T) {
	b := newBundle(t)
	b.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/proc/self/ns/uts"}, {Type: specs.MountNamespace}}
	b.Save()
	expectCreateFails(t, b, "network")
}

func TestSeveralProblemsReportedAtOnce(t *testing.T) {
	b := newBundle(t)
	b.Spec.Process.Args = nil
	b.Spec.Process.Cwd = "relative"
	b.Spec.Hostname = "x"
	b.Spec.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	b.Save()
	expectCreateFails(t, b, "process.args", "process.cwd", "hostname")
}

func TestTerminalWithoutConsoleSocket(t *testing.T) {
	b := newBundle(t, "sh")
	b.Spec.Process.Terminal = true
	b.Save()
	expectCreateFails(t, b, "console socket")
}

// PITFALLS 19: kill -9 of create at any point; delete --force cleans up.
// Also in a cgroup-v1-only view, where the init enters its namespaces
// while create makes the cgroups ("spawn: started" comes first there).
func TestKilledCreateCleansUpWithDeleteForce(t *testing.T) {
	for _, view := range []bool{false, true} {
		for _, point := range []string{"create: state saved", "create: cgroups made", "spawn: started", "create: init started", "init: config", "init: mounts done", "init: ready acked", "create: init ready"} {
			name := strings.ReplaceAll(point, " ", "_")
			if view {
				name = "v1view/" + name
			}
			t.Run(name, func(t *testing.T) { killedCreate(t, point, view) })
		}
	}
}

func killedCreate(t *testing.T, point string, view bool) {
	b := newBundle(t, "sleep", "100")
	if view {
		b.useV1View()
	}
	cmd := b.command("create", "--bundle", b.Dir, b.ID)
	cmd.Env = append(os.Environ(), "SKIFF_TEST_HANG="+point)
	errf, _ := os.Create(filepath.Join(b.Dir, "create.err"))
	cmd.Stderr = errf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "create to reach "+point, func() bool {
		data, _ := os.ReadFile(errf.Name())
		return strings.Contains(string(data), point)
	})
	// SIGKILL skiff (and, like a real crash, only skiff).
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	r := b.Skiff("delete", "--force", b.ID)
	if r.Code != 0 {
		t.Fatalf("delete --force after a killed create:\n%s", r)
	}
	// An init hung in the test failpoint dies with its parent
	// (parent-death signal) or is killed by delete.
	waitFor(t, 5*time.Second, "no process left in the rootfs", func() bool {
		procs, _ := filepath.Glob("/proc/[0-9]*/root")
		for _, p := range procs {
			if l, _ := os.Readlink(p); strings.HasPrefix(l, filepath.Join(b.Dir, "rootfs")) {
				return false
			}
		}
		return true
	})
	// Anything the test started in skiff's process group. Never
	// shell out to kill(1) with a negative pid: an argument it
	// misparses becomes kill(-1), which kills every process.
	if pgid := cmd.Process.Pid; pgid > 1 {
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
}
