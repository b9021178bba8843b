package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// `skiff list` runs in the constructor (init/fastlist.h) when it can, and in
// Go with SKIFF_LIST=go or whenever the constructor leaves it to Go.

// listIn runs list against b's root in the constructor ("c") and in Go.
func listIn(b *Bundle, mode string, args ...string) Result {
	b.t.Helper()
	saved := b.Env
	defer func() { b.Env = saved }()
	if mode == "go" {
		b.Env = append(append([]string(nil), saved...), "SKIFF_LIST=go")
	}
	return b.Skiff(append([]string{"list"}, args...)...)
}

// listOnCPUs runs the constructor's list with only the given CPUs: the
// child inherits the affinity of the thread that forks it.
func listOnCPUs(t *testing.T, b *Bundle, cpus []int) Result {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var saved, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &saved); err != nil {
		t.Fatal(err)
	}
	for _, c := range cpus {
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &saved)
	return listIn(b, "c")
}

// fakeState makes a container directory in b's root by hand.
func fakeState(t *testing.T, b *Bundle, name, stateJSON string) string {
	t.Helper()
	dir := filepath.Join(b.Root, name)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if stateJSON != "" {
		if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(stateJSON), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const creatingState = `{"id":"%s","phase":"creating","ociVersion":"1.3.0","bundle":"/b/%s","rootfs":"/b/rootfs","created":"2026-01-02T03:04:05.5Z","hooks":{}}`

// everyStatus makes four containers in one root (created, with the given
// annotations, running, stopped, paused) and two more state directories:
// a-creating, whose create holds its lock, and b-killed-create, whose
// create was killed.
func everyStatus(t *testing.T, annotations map[string]string) (created, running, stopped, paused *Bundle) {
	t.Helper()
	created = newBundle(t, "sleep", "100")
	if annotations != nil {
		created.Spec.Annotations = annotations
		created.Save()
	}
	shared := func(args ...string) *Bundle {
		b := newBundle(t, args...)
		b.Root = created.Root
		return b
	}
	running, stopped, paused = shared("sleep", "100"), shared("true"), shared("sleep", "100")
	for _, b := range []*Bundle{created, running, stopped, paused} {
		b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	}
	for _, b := range []*Bundle{running, stopped, paused} {
		b.MustSkiff("start", b.ID)
	}
	paused.MustSkiff("pause", paused.ID)
	waitFor(t, 5*time.Second, "the short workload to exit", func() bool { return stopped.Status() == "stopped" })

	held := fakeState(t, created, "a-creating", fmt.Sprintf(creatingState, "a-creating", "a"))
	lock, err := os.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	fakeState(t, created, "b-killed-create", fmt.Sprintf(creatingState, "b-killed-create", "b"))
	return created, running, stopped, paused
}

// One root with a container in every status, and what else a root may
// hold: list prints the same, byte for byte, from the constructor and Go.
func TestListIsTheSameInCAndGo(t *testing.T) {
	created, running, stopped, paused := everyStatus(t, nil)
	// Enough of them for the constructor's list to share them out among
	// its workers (one for every 16).
	for i := range 40 {
		name := fmt.Sprintf("e-killed-%02d", i)
		fakeState(t, created, name, fmt.Sprintf(creatingState, name, name))
	}
	fakeState(t, created, "c-no-state-yet", "")
	fakeState(t, created, ".hidden", fmt.Sprintf(creatingState, "hidden", "h"))
	if err := os.WriteFile(filepath.Join(created.Root, "d-a-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(created.Root, "d-a-file"))

	for _, args := range [][]string{nil, {"-q"}, {"--quiet"}, {"--format", "table"}, {"-f=table"}} {
		c, g := listIn(created, "c", args...), listIn(created, "go", args...)
		if c != g {
			t.Errorf("list %v differs:\nconstructor: %s\nGo:          %s", args, c, g)
		}
		if c.Code != 0 || c.Stderr != "" {
			t.Errorf("list %v: %s", args, c)
		}
	}
	// The constructor starts its workers each on a CPU of its own (the
	// process's CPUs less the creator's): on one CPU there are none, on
	// a set without CPU 0 they use the others.
	all := listIn(created, "go")
	var mask unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mask); err != nil {
		t.Fatal(err)
	}
	var cpus []int
	for c := 0; c < len(mask)*64; c++ {
		if mask.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	sets := [][]int{cpus[:1], cpus[len(cpus)-1:]}
	if len(cpus) > 2 {
		sets = append(sets, cpus[1:])
	}
	for _, set := range sets {
		if c := listOnCPUs(t, created, set); c != all {
			t.Errorf("list on CPUs %v differs:\nconstructor: %s\nGo:          %s", set, c, all)
		}
	}
	table := listIn(created, "c").Stdout
	t.Logf("list:\n%s", table)
	for _, want := range []string{
		created.ID + " ", running.ID + " ", stopped.ID + " ", paused.ID + " ",
		" created ", " running ", " stopped ", " paused ", "a-creating ", " creating ", "b-killed-create ",
	} {
		contains(t, table, want)
	}
	for _, bad := range []string{"c-no-state-yet", "hidden", "d-a-file"} {
		notContains(t, table, bad)
	}
	if ids := listIn(created, "c", "-q").Stdout; strings.Count(ids, "\n") != 46 {
		t.Errorf("list -q printed %q, want 46 ids", ids)
	}
}

// What the constructor leaves to Go comes out the same: a state file it
// cannot read (Go warns and skips it), JSON, a root that is not there.
func TestListLeftToGo(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	fakeState(t, b, "corrupt", `{"id":"corrupt","phase":`)
	for _, args := range [][]string{nil, {"--format", "json"}, {"-q"}} {
		c, g := listIn(b, "c", args...), listIn(b, "go", args...)
		if c != g {
			t.Errorf("list %v differs:\nconstructor: %s\nGo:          %s", args, c, g)
		}
		contains(t, c.Stdout, b.ID)
		contains(t, c.Stderr, "skipping corrupt")
	}
	missing := *b
	missing.Root = filepath.Join(b.Dir, "no-such-root")
	c, g := listIn(&missing, "c"), listIn(&missing, "go")
	c.Stderr, g.Stderr = logTime.ReplaceAllString(c.Stderr, ""), logTime.ReplaceAllString(g.Stderr, "")
	if c != g || c.Code == 0 {
		t.Errorf("list of a missing --root:\nconstructor: %s\nGo:          %s", c, g)
	}
}

// The constructor's list is one thread: no Go runtime (heldAtItsLog).
func TestListWithoutAGoRuntime(t *testing.T) {
	for mode, env := range map[string][]string{"c": nil, "go": {"SKIFF_LIST=go"}} {
		b := newBundle(t, "true")
		b.MustSkiff("create", "--bundle", b.Dir, b.ID)
		b.Env = env
		threads, _ := heldAtItsLog(t, b, "list")
		t.Logf("list in %s: %d threads", mode, threads)
		if mode == "c" && threads != 1 {
			t.Errorf("list has %d threads, want 1 (the constructor's list)", threads)
		}
		if mode == "go" && threads < 2 {
			t.Errorf("SKIFF_LIST=go: list has %d threads: not the Go list", threads)
		}
	}
}
