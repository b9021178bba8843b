// Package integration runs the real skiff binary, as root, against real
// busybox bundles and asserts what can be observed: output inside the
// container, exit codes, state JSON, cgroup files, and that nothing is
// left behind.
package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/spec"
	"github.com/skiff-runtime/skiff/tests/rootfs"
)

var (
	skiffBin string
	template string // a busybox rootfs, hard-linked into each bundle
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "integration tests run containers: they need root (run `make test` as root)")
		os.Exit(1)
	}
	skiffBin = os.Getenv("SKIFF_BINARY")
	if skiffBin == "" {
		fmt.Fprintln(os.Stderr, "SKIFF_BINARY must name the skiff binary to test (make integration sets it)")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "skiff-it-")
	if err != nil {
		panic(err)
	}
	template = filepath.Join(dir, "rootfs")
	if err := rootfs.Busybox(template, "/bin/busybox"); err != nil {
		fmt.Fprintln(os.Stderr, "build the busybox rootfs:", err)
		os.Exit(1)
	}
	code := m.Run()
	// The containers' cgroups are gone (each test checks); their common
	// parent, which the first container made, goes too.
	for _, d := range cgroupDirs(cgroupParent) {
		_ = os.Remove(d)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// Bundle is one test container: a bundle directory, its spec, an id and a
// private state root.
type Bundle struct {
	t    *testing.T
	Dir  string
	Root string
	ID   string
	Spec *specs.Spec
	// Env is added to the environment of every skiff command.
	Env []string
	// V1View runs every skiff command in a mount namespace where the
	// hybrid host's cgroup2 hierarchy is covered (useV1View): skiff sees
	// cgroup v1 alone, as on a v1 host and in bench/.
	V1View bool
}

// hostCgroupLayout is "v2" (cgroup2 at /sys/fs/cgroup), "hybrid" (v1
// hierarchies and cgroup2 at /sys/fs/cgroup/unified) or "v1".
func hostCgroupLayout() string {
	const cgroup2Magic = 0x63677270
	var st syscall.Statfs_t
	if syscall.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == cgroup2Magic {
		return "v2"
	}
	if syscall.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == cgroup2Magic {
		return "hybrid"
	}
	return "v1"
}

// useV1View makes skiff see cgroup v1 alone: on a hybrid host it sets
// b.V1View, on a v1 host there is nothing to hide; with no v1 hierarchy
// at all it skips the test.
func (b *Bundle) useV1View() {
	b.t.Helper()
	switch hostCgroupLayout() {
	case "hybrid":
		b.V1View = true
	case "v2":
		b.t.Skip("pure cgroup v2 host: no cgroup v1 hierarchies to test on")
	}
}

var idClean = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// cgroupParent is where test containers' cgroups live (absolute
// cgroupsPath), so leak checks know where to look.
const cgroupParent = "/skiff-test"

// systemdCgroup (SKIFF_TEST_SYSTEMD_CGROUP=1, used by `make test-vm`) runs
// every skiff command with --systemd-cgroup and names each container's
// cgroup system.slice:skiff-test:<id> (unit skiff-test-<id>.scope).
var systemdCgroup = os.Getenv("SKIFF_TEST_SYSTEMD_CGROUP") == "1"

// newBundle makes a bundle running args (default: true) with the example
// spec of `skiff spec`, no terminal, and a cgroup under /skiff-test.
func newBundle(t *testing.T, args ...string) *Bundle {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir makes 0700 directories; the root of a container in a user
	// namespace is not host root and must be able to reach its rootfs.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	if err := linkTree(template, filepath.Join(dir, "rootfs")); err != nil {
		t.Fatalf("copy the rootfs: %v", err)
	}
	s := spec.Example(false)
	s.Process.Terminal = false
	// runc's example has a read-only root; tests write marker files.
	s.Root.Readonly = false
	if len(args) == 0 {
		args = []string{"true"}
	}
	s.Process.Args = args
	name := strings.ToLower(idClean.ReplaceAllString(t.Name(), "-"))
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	id := fmt.Sprintf("t%s-%04x", strings.Trim(name, "-"), rand.Intn(1<<16))
	s.Linux.CgroupsPath = cgroupParent + "/" + id
	if systemdCgroup {
		s.Linux.CgroupsPath = "system.slice:skiff-test:" + id
	}
	b := &Bundle{t: t, Dir: dir, Root: filepath.Join(dir, "state"), ID: id, Spec: s}
	b.Save()
	t.Cleanup(func() {
		// Whatever the test did, the container goes, and must leave
		// nothing behind.
		b.Skiff("delete", "--force", b.ID)
		b.NoLeaks()
	})
	return b
}

// prebuiltHelper is the path of the test helper program name (a directory
// of tests/) built beforehand, or of a test data file copied beside it,
// where there is no Go toolchain or source tree (make test-vm sets
// SKIFF_TEST_HELPERS), or "".
func prebuiltHelper(name string) string {
	if dir := os.Getenv("SKIFF_TEST_HELPERS"); dir != "" {
		return filepath.Join(dir, name)
	}
	return ""
}

// inUserNamespace gives the bundle a user namespace mapping container ids
// 0-65535 to host ids from hostID.
func (b *Bundle) inUserNamespace(hostID uint32) {
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: 65536}}
	b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: 65536}}
}

// linkTree copies a directory tree, hard-linking files.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		default:
			return os.Link(p, target)
		}
	})
}

// Save writes config.json.
func (b *Bundle) Save() {
	b.t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "\t")
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// Result is one skiff invocation.
type Result struct {
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
}

// Skiff runs skiff with the bundle's state root.
func (b *Bundle) Skiff(args ...string) Result {
	return b.SkiffIn(nil, args...)
}

// SkiffIn runs skiff with stdin. Output goes to files, not pipes: a
// detached container inherits skiff's stdio and would keep a pipe open.
func (b *Bundle) SkiffIn(stdin []byte, args ...string) Result {
	b.t.Helper()
	cmd := b.command(args...)
	outF, err := os.CreateTemp(b.Dir, "stdout-")
	if err != nil {
		b.t.Fatal(err)
	}
	errF, err := os.CreateTemp(b.Dir, "stderr-")
	if err != nil {
		b.t.Fatal(err)
	}
	defer os.Remove(outF.Name())
	defer os.Remove(errF.Name())
	defer outF.Close()
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start skiff: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		o, _ := os.ReadFile(outF.Name())
		e, _ := os.ReadFile(errF.Name())
		b.t.Fatalf("skiff %s did not finish in 60s\nstdout: %s\nstderr: %s", strings.Join(args, " "), o, e)
	}
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return Result{Stdout: string(o), Stderr: string(e), Code: cmd.ProcessState.ExitCode()}
}

// ExecDetached runs `skiff exec -d --pid-file` of args in the container
// and returns the host pid the pid file names.
func (b *Bundle) ExecDetached(args ...string) int {
	b.t.Helper()
	pidFile := filepath.Join(b.Dir, "exec.pid")
	b.MustSkiff(append([]string{"exec", "-d", "--pid-file", pidFile, b.ID}, args...)...)
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		b.t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(raw))
	if err != nil {
		b.t.Fatalf("pid file %q", raw)
	}
	return pid
}

// MustSkiff runs skiff and fails the test unless it exits 0.
func (b *Bundle) MustSkiff(args ...string) Result {
	b.t.Helper()
	r := b.Skiff(args...)
	if r.Code != 0 {
		b.t.Fatalf("skiff %s failed:\n%s", strings.Join(args, " "), r)
	}
	return r
}

// Run is `skiff run` of the bundle in the foreground.
func (b *Bundle) Run() Result {
	b.t.Helper()
	b.Save()
	return b.Skiff("run", "--bundle", b.Dir, b.ID)
}

// MustRun runs the bundle and returns its stdout; it must exit 0.
func (b *Bundle) MustRun() string {
	b.t.Helper()
	r := b.Run()
	if r.Code != 0 {
		b.t.Fatalf("skiff run failed:\n%s", r)
	}
	return r.Stdout
}

// State returns `skiff state` as a map.
func (b *Bundle) State() map[string]any {
	b.t.Helper()
	r := b.MustSkiff("state", b.ID)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		b.t.Fatalf("state output is not JSON: %v\n%s", err, r.Stdout)
	}
	return m
}

// Status returns the container's status.
func (b *Bundle) Status() string {
	b.t.Helper()
	return b.State()["status"].(string)
}

// NoLeaks asserts nothing of the container is left: state directory,
// cgroups, mounts, processes.
func (b *Bundle) NoLeaks() {
	b.t.Helper()
	if _, err := os.Stat(filepath.Join(b.Root, b.ID)); err == nil {
		b.t.Errorf("leak: state directory %s/%s still exists", b.Root, b.ID)
	}
	for _, d := range cgroupDirs(b.Spec.Linux.CgroupsPath) {
		if _, err := os.Stat(d); err == nil {
			b.t.Errorf("leak: cgroup %s still exists", d)
		}
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if bytes.Contains(mi, []byte(b.Dir)) {
		b.t.Errorf("leak: mounts mention %s:\n%s", b.Dir, grepLines(string(mi), b.Dir))
	}
	rootfsDir := filepath.Join(b.Dir, "rootfs")
	procs, _ := filepath.Glob("/proc/[0-9]*/root")
	for _, p := range procs {
		if l, err := os.Readlink(p); err == nil && (l == rootfsDir || strings.HasPrefix(l, rootfsDir+"/")) {
			b.t.Errorf("leak: process %s still runs in the container's rootfs", filepath.Dir(p))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// cgroupDirs lists the directories an absolute cgroupsPath maps to in
// every mounted hierarchy.
func cgroupDirs(cgPath string) []string {
	if parts := strings.Split(cgPath, ":"); len(parts) == 3 {
		// systemd driver: the scope unit in its slice.
		cgPath = "/" + parts[0] + "/" + parts[1] + "-" + parts[2] + ".scope"
	}
	var out []string
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mi), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		t := strings.Fields(post)
		if len(f) > 4 && len(t) > 0 && (t[0] == "cgroup" || t[0] == "cgroup2") {
			out = append(out, filepath.Join(f[4], cgPath))
		}
	}
	return out
}

func contains(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("expected %q in:\n%s", want, got)
	}
}

func notContains(t *testing.T, got, bad string) {
	t.Helper()
	if strings.Contains(got, bad) {
		t.Fatalf("did not expect %q in:\n%s", bad, got)
	}
}

// command builds an exec.Cmd for skiff with the bundle's root.
func (b *Bundle) command(args ...string) *exec.Cmd {
	global := []string{"--root", b.Root}
	if systemdCgroup {
		global = append(global, "--systemd-cgroup")
	}
	cmd := exec.Command(skiffBin, append(global, args...)...)
	if b.V1View {
		view := []string{"--mount", "--propagation", "private", "--", "/bin/sh", "-c",
			`mount -t tmpfs -o size=1m skiff-test-v1view /sys/fs/cgroup/unified && exec "$@"`, "sh", skiffBin}
		cmd = exec.Command("unshare", append(view, append(global, args...)...)...)
	}
	cmd.Dir = b.Dir
	if len(b.Env) > 0 {
		cmd.Env = append(os.Environ(), b.Env...)
	}
	return cmd
}

// startCollecting starts cmd with its stdout in a buffer the test can read
// while it runs; done receives cmd.Wait's result.
func startCollecting(t *testing.T, cmd *exec.Cmd) (out *lockedBuffer, done chan error) {
	t.Helper()
	out = &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return out, done
}

// lockedBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

const syscallTERM = syscall.SIGTERM

// CgroupInProc is what /proc/<pid>/cgroup shows of the container's cgroup:
// its cgroupsPath, or with the systemd driver the scope that
// "slice:prefix:name" names.
func (b *Bundle) CgroupInProc() string {
	if systemdCgroup {
		return "/skiff-test-" + b.ID + ".scope"
	}
	return b.Spec.Linux.CgroupsPath
}
