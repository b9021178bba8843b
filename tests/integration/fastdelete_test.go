package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// `skiff delete` of a created or stopped container runs in the constructor
// (init/fastdelete.h) when it can, in Go with SKIFF_DELETE=go or whenever
// the constructor leaves it to Go. Every test's clean-up deletes with
// --force and then checks nothing is left (Bundle.NoLeaks).

func deleteEnvs() map[string][]string {
	return map[string][]string{"c": nil, "go": {"SKIFF_DELETE=go"}}
}

func TestDeleteWithoutAGoRuntime(t *testing.T) {
	for mode, env := range deleteEnvs() {
		for _, started := range []bool{false, true} {
			b := newBundle(t, "true")
			b.Env = env
			b.MustSkiff("create", "--bundle", b.Dir, b.ID)
			pid := initPid(b)
			want := "created"
			if started {
				b.MustSkiff("start", b.ID)
				waitFor(t, 5*time.Second, "the workload to exit", func() bool { return b.Status() == "stopped" })
				want = "stopped"
			}
			cg := b.CgroupInProc()
			threads, _ := heldAtItsLog(t, b, "delete", b.ID)
			t.Logf("delete of a %s container in %s: %d threads", want, mode, threads)
			if mode == "c" && threads != 1 {
				t.Errorf("delete of a %s container has %d threads, want 1 (the constructor's delete)", want, threads)
			}
			if mode == "go" && threads < 2 {
				t.Errorf("SKIFF_DELETE=go: delete has %d threads: not the Go delete", threads)
			}
			if _, err := os.Stat(filepath.Join(b.Root, b.ID)); !os.IsNotExist(err) {
				t.Errorf("the state directory is still there (%v)", err)
			}
			// Gone, or a zombie until the host's init reaps it.
			if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !strings.Contains(string(st), ") Z ") {
				t.Errorf("the init (pid %d) is still there: %s", pid, st)
			}
			for _, d := range cgroupDirs(cg) {
				if _, err := os.Stat(d); err == nil {
					t.Errorf("cgroup %s is still there", d)
				}
			}
			b.NoLeaks()
		}
	}
}

// What the constructor leaves to Go behaves as the Go delete.
func TestDeleteLeftToGo(t *testing.T) {
	t.Run("running, without and with --force", func(t *testing.T) {
		got := map[string]Result{}
		for mode, env := range deleteEnvs() {
			b := newBundle(t, "sleep", "100")
			b.Env = env
			b.MustSkiff("create", "--bundle", b.Dir, b.ID)
			b.MustSkiff("start", b.ID)
			r := b.Skiff("delete", b.ID)
			r.Stderr = logTime.ReplaceAllString(strings.ReplaceAll(r.Stderr, b.ID, "ID"), "")
			got[mode] = r
			if r.Code == 0 {
				t.Errorf("delete of a running container succeeded in %s", mode)
			}
			contains(t, r.Stderr, "not stopped")
			b.MustSkiff("delete", "--force", b.ID)
			b.NoLeaks()
		}
		if got["c"] != got["go"] {
			t.Errorf("delete differs:\nconstructor: %s\nGo:          %s", got["c"], got["go"])
		}
	})
	t.Run("poststop hook", func(t *testing.T) {
		b := newBundle(t, "true")
		mark := filepath.Join(b.Dir, "poststop-ran")
		b.Spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + mark}}}}
		b.Save()
		b.MustSkiff("create", "--bundle", b.Dir, b.ID)
		b.MustSkiff("delete", b.ID)
		if _, err := os.Stat(mark); err != nil {
			t.Errorf("the poststop hook did not run: %v", err)
		}
		b.NoLeaks()
	})
}
