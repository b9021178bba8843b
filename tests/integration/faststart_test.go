package integration

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// `skiff start` runs in the constructor (init/faststart.h) when it can, and
// in Go with SKIFF_START=go or whenever the constructor leaves it to Go.

func startEnvs() map[string][]string {
	return map[string][]string{"c": nil, "go": {"SKIFF_START=go"}}
}

// heldAtItsLog runs skiff with --log naming a FIFO: the command opens its
// log first (Go in its logging set-up, the constructor to create the file
// as Go would), and blocks there until the FIFO has a reader. Meanwhile it
// returns the command's thread count and VmRSS, then lets it finish.
func heldAtItsLog(t *testing.T, b *Bundle, args ...string) (threads, rssKB int) {
	t.Helper()
	fifo := filepath.Join(b.Dir, "held-log")
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(fifo)
	cmd := b.command(append([]string{"--log", fifo}, args...)...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Any of its threads: Go may open the log on another than the first.
	waitFor(t, 10*time.Second, "skiff to wait for a reader of its log", func() bool {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
		for _, task := range tasks {
			if w, _ := os.ReadFile(task); string(w) == "wait_for_partner" {
				return true
			}
		}
		return false
	})
	st := procStatus(t, pid)
	threads, _ = strconv.Atoi(strings.TrimSpace(st["Threads"]))
	rssKB = statusKB(t, st, "VmRSS")
	r, err := os.OpenFile(fifo, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go io.Copy(io.Discard, r)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("skiff %v: %v\n%s", args, err, out.String())
	}
	return threads, rssKB
}

func TestStartWithoutAGoRuntime(t *testing.T) {
	rss := map[string]int{}
	for mode, env := range startEnvs() {
		b := newBundle(t, "sh", "-c", "echo started >/out")
		b.Env = env
		b.MustSkiff("create", "--bundle", b.Dir, b.ID)
		threads, kb := heldAtItsLog(t, b, "start", b.ID)
		rss[mode] = kb
		t.Logf("start in %s: %d threads, VmRSS %d kB", mode, threads, kb)
		if mode == "c" && threads != 1 {
			t.Errorf("start has %d threads, want 1 (the constructor's start)", threads)
		}
		if mode == "go" && threads < 2 {
			t.Errorf("SKIFF_START=go: start has %d threads: not the Go start", threads)
		}
		waitFor(t, 5*time.Second, "the workload to exit", func() bool { return b.Status() == "stopped" })
		out, err := os.ReadFile(filepath.Join(b.Dir, "rootfs", "out"))
		if err != nil || string(out) != "started\n" {
			t.Errorf("start in %s: the workload wrote %q (%v), want \"started\\n\"", mode, out, err)
		}
		if _, err := os.Lstat(filepath.Join(b.Root, b.ID, "exec.fifo")); !os.IsNotExist(err) {
			t.Errorf("start in %s: the exec FIFO is still there (%v)", mode, err)
		}
		b.MustSkiff("delete", b.ID)
	}
	if rss["c"] >= rss["go"] {
		t.Errorf("start's VmRSS: %d kB in the constructor, %d kB in Go", rss["c"], rss["go"])
	}
}

var logTime = regexp.MustCompile(`time="[^"]*" |"time":"[^"]*"`)

// startResult is start's exit code, stderr and --log json lines, without
// timestamps.
func startResult(t *testing.T, b *Bundle, id string) (int, string, string) {
	t.Helper()
	log := filepath.Join(b.Dir, "start.log")
	os.Remove(log)
	r := b.Skiff("--log", log, "--log-format", "json", "start", id)
	raw, _ := os.ReadFile(log)
	return r.Code, logTime.ReplaceAllString(r.Stderr, ""), logTime.ReplaceAllString(string(raw), "")
}

// Every way start can fail, the constructor's start fails as the Go start
// does: the same exit code, message and log line.
func TestStartFailuresAreTheSameInCAndGo(t *testing.T) {
	cases := []struct {
		name, want string
		args       []string
		prepare    func(t *testing.T, b *Bundle) string // returns the id to start
		after      func(t *testing.T, b *Bundle)
	}{
		{"the workload binary went away", "exec /bin/gone: No such file or directory", []string{"/bin/gone"},
			func(t *testing.T, b *Bundle) string {
				bin := filepath.Join(b.Dir, "rootfs", "bin", "gone")
				if err := os.Link(filepath.Join(b.Dir, "rootfs", "bin", "busybox"), bin); err != nil {
					t.Fatal(err)
				}
				b.MustSkiff("create", "--bundle", b.Dir, b.ID)
				os.Remove(bin)
				return b.ID
			}, nil},
		{"already running", "running", []string{"sleep", "100"},
			func(t *testing.T, b *Bundle) string {
				b.MustSkiff("create", "--bundle", b.Dir, b.ID)
				b.MustSkiff("start", b.ID)
				return b.ID
			}, nil},
		{"stopped", "stopped", []string{"true"},
			func(t *testing.T, b *Bundle) string {
				b.MustSkiff("create", "--bundle", b.Dir, b.ID)
				b.MustSkiff("start", b.ID)
				waitFor(t, 5*time.Second, "the workload to exit", func() bool { return b.Status() == "stopped" })
				return b.ID
			}, nil},
		{"paused before start", "paused", []string{"true"},
			func(t *testing.T, b *Bundle) string {
				b.MustSkiff("create", "--bundle", b.Dir, b.ID)
				b.MustSkiff("pause", b.ID)
				return b.ID
			}, nil},
		{"a corrupt state file", "corrupt state file", []string{"true"},
			func(t *testing.T, b *Bundle) string {
				b.MustSkiff("create", "--bundle", b.Dir, b.ID)
				p := filepath.Join(b.Root, b.ID, "state.json")
				good, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(p+".good", good, 0o600)
				os.WriteFile(p, good[:len(good)/2], 0o600)
				return b.ID
			},
			// Put it back, so that delete finds the init.
			func(t *testing.T, b *Bundle) {
				p := filepath.Join(b.Root, b.ID, "state.json")
				if err := os.Rename(p+".good", p); err != nil {
					t.Fatal(err)
				}
			}},
		{"no such container", "does not exist", []string{"true"},
			func(t *testing.T, b *Bundle) string { return b.ID + "-none" }, nil},
		{"an id that could escape the root", "invalid container ID", []string{"true"},
			func(t *testing.T, b *Bundle) string { return "../" + b.ID }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type outcome struct {
				code        int
				stderr, log string
			}
			got := map[string]outcome{}
			for mode, env := range startEnvs() {
				b := newBundle(t, tc.args...)
				b.Env = env
				id := tc.prepare(t, b)
				code, stderr, log := startResult(t, b, id)
				if tc.after != nil {
					tc.after(t, b)
				}
				// The bundle and the id differ from mode to mode.
				for from, to := range map[string]string{b.Dir: "DIR", b.ID: "ID"} {
					stderr = strings.ReplaceAll(stderr, from, to)
					log = strings.ReplaceAll(log, from, to)
				}
				got[mode] = outcome{code, stderr, log}
				if code == 0 {
					t.Errorf("start in %s succeeded, want an error", mode)
				}
				contains(t, stderr, tc.want)
				contains(t, log, `"level":"error"`)
				contains(t, log, tc.want)
			}
			if got["c"] != got["go"] {
				t.Errorf("start differs:\nconstructor: %+v\nGo:          %+v", got["c"], got["go"])
			}
		})
	}
}

// The constructor reads state.json for the few fields it needs and passes
// over everything else, however it looks: annotations named like its
// fields, escapes, nesting.
func TestStartReadsOnlyTheStateItNeeds(t *testing.T) {
	b := newBundle(t, "sh", "-c", "echo started >/out")
	b.Spec.Annotations = map[string]string{
		"phase":                  "creating",
		"pid":                    "1",
		"hooks":                  `{"poststart":true}`,
		"cgroup":                 `{"driver":"cgroupfs-v2","paths":{"":"/nonexistent"}}`,
		"quote\"and\\backslash":  "<&> \u00e9 \t \"}{][",
		strings.Repeat("k", 200): strings.Repeat("v", 4000),
	}
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	threads, _ := heldAtItsLog(t, b, "start", b.ID)
	if threads != 1 {
		t.Errorf("start has %d threads: the constructor left it to Go", threads)
	}
	waitFor(t, 5*time.Second, "the workload to exit", func() bool { return b.Status() == "stopped" })
	if out, err := os.ReadFile(filepath.Join(b.Dir, "rootfs", "out")); err != nil || string(out) != "started\n" {
		t.Errorf("the workload wrote %q (%v)", out, err)
	}
}

// What the constructor leaves to Go still works: poststart hooks,
// NOTIFY_SOCKET, options it does not know.
func TestStartLeftToGo(t *testing.T) {
	t.Run("poststart hook", func(t *testing.T) {
		b := newBundle(t, "true")
		mark := filepath.Join(b.Dir, "poststart-ran")
		b.Spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + mark}}}}
		b.Save()
		b.MustSkiff("create", "--bundle", b.Dir, b.ID)
		b.MustSkiff("start", b.ID)
		if _, err := os.Stat(mark); err != nil {
			t.Errorf("the poststart hook did not run: %v", err)
		}
	})
	t.Run("debug", func(t *testing.T) {
		b := newBundle(t, "true")
		b.MustSkiff("create", "--bundle", b.Dir, b.ID)
		b.MustSkiff("--debug", "start", b.ID)
		waitFor(t, 5*time.Second, "the workload to exit", func() bool { return b.Status() == "stopped" })
	})
	t.Run("option after the id", func(t *testing.T) {
		b := newBundle(t, "true")
		b.MustSkiff("create", "--bundle", b.Dir, b.ID)
		r := b.Skiff("start", b.ID, "extra")
		if r.Code == 0 {
			t.Errorf("start with an extra argument succeeded:\n%s", r)
		}
		if got := b.Status(); got != "created" {
			t.Errorf("status after a refused start: %q, want created", got)
		}
	})
}
