package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A created container waits for start in the constructor's park (init/park.h),
// a one-thread C process, unless SKIFF_PARK=go keeps it in the Go init.

func parkEnvs() map[string][]string {
	return map[string][]string{"c": nil, "go": {"SKIFF_PARK=go"}}
}

func statusKB(t *testing.T, st map[string]string, key string) int {
	t.Helper()
	v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(st[key]), " kB"))
	if err != nil {
		t.Fatalf("/proc status %s = %q: %v", key, st[key], err)
	}
	return v
}

func TestCreatedContainerWaitsInASmallProcess(t *testing.T) {
	rss := map[string]int{}
	for park, env := range parkEnvs() {
		b := newBundle(t, "sh", "-c", "echo started; env; ls /proc/self/fd")
		b.Env = env
		b.MustSkiff("create", "--bundle", b.Dir, b.ID)
		pid := initPid(b)
		st := procStatus(t, pid)
		threads, _ := strconv.Atoi(strings.TrimSpace(st["Threads"]))
		rss[park] = statusKB(t, st, "VmRSS")
		t.Logf("park in %s: %s threads, VmRSS %d kB", park, st["Threads"], rss[park])
		if park == "c" && threads != 1 {
			t.Errorf("the parked init has %d threads, want 1 (the C park)", threads)
		}
		if park == "go" && threads < 2 {
			t.Errorf("SKIFF_PARK=go: the parked init has %d threads: not the Go init", threads)
		}
		if got := b.Status(); got != "created" {
			t.Fatalf("status %q, want created", got)
		}
		b.MustSkiff("start", b.ID)
		waitFor(t, 5*time.Second, "the workload to exit", func() bool { return b.Status() == "stopped" })
		b.MustSkiff("delete", b.ID)
	}
	if rss["c"] >= rss["go"] {
		t.Errorf("the C park holds %d kB, the Go init %d kB", rss["c"], rss["go"])
	}
}

// runCreated creates and starts b and waits for its workload to exit.
func runCreated(t *testing.T, b *Bundle) {
	t.Helper()
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	b.MustSkiff("start", b.ID)
	waitFor(t, 5*time.Second, "the workload to exit", func() bool { return b.Status() == "stopped" })
}

// The workload sees exactly its environment and fds: nothing of the park.
func TestParkedWorkloadGetsItsEnvironmentAndFdsOnly(t *testing.T) {
	for park, env := range parkEnvs() {
		t.Run(park, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", "{ env; echo --; ls /proc/self/fd; } >/out")
			b.Env = env
			// A variable of the park's name in the spec reaches the
			// workload as it is.
			b.Spec.Process.Env = []string{"PATH=/bin", "_SKIFF_PARK=mine", "A=1"}
			runCreated(t, b)
			out, err := os.ReadFile(filepath.Join(b.Dir, "rootfs", "out"))
			if err != nil {
				t.Fatal(err)
			}
			envOut, fdOut, _ := strings.Cut(string(out), "--\n")
			vars := strings.Fields(envOut)
			for _, want := range b.Spec.Process.Env {
				if !slices.Contains(vars, want) {
					t.Errorf("environment %v lacks %s", vars, want)
				}
			}
			for _, v := range vars {
				if strings.Contains(v, "SKIFF") && v != "_SKIFF_PARK=mine" {
					t.Errorf("skiff's variable %s reached the workload", v)
				}
			}
			// 0, 1 (the file), 2 and ls's own directory fd.
			if fds := strings.Fields(fdOut); len(fds) != 4 {
				t.Errorf("fds of the workload: %v, want stdio and ls's own", fds)
			}
		})
	}
}

// create parks in C; run, which starts at once, waits in Go (the park
// would cost it an execve and save nothing).
func TestRunDoesNotPark(t *testing.T) {
	b := newBundle(t, "true")
	b.Env = []string{"SKIFF_TRACE=1"}
	r := b.Run()
	if r.Code != 0 || strings.Contains(r.Stderr, "init: park") || !strings.Contains(r.Stderr, "init: exec") {
		t.Errorf("run: want the Go init's exec, not the park:\n%s", r)
	}
	b2 := newBundle(t, "true")
	b2.Env = []string{"SKIFF_TRACE=1"}
	b2.Save()
	r = b2.MustSkiff("create", "--bundle", b2.Dir, b2.ID)
	if !strings.Contains(r.Stderr, "init: park") {
		t.Errorf("create: the init did not park in C:\n%s", r)
	}
}

// Signals to a created container act as on the Go init: SIGTERM, SIGHUP
// and SIGINT stop it, SIGUSR1 and SIGPIPE are ignored.
func TestParkedInitSignals(t *testing.T) {
	for park, env := range parkEnvs() {
		for _, sig := range []string{"TERM", "HUP", "INT", "USR1", "PIPE"} {
			t.Run(park+"/"+sig, func(t *testing.T) {
				b := newBundle(t, "sleep", "100")
				b.Env = env
				b.MustSkiff("create", "--bundle", b.Dir, b.ID)
				b.MustSkiff("kill", b.ID, sig)
				if sig == "USR1" || sig == "PIPE" {
					time.Sleep(100 * time.Millisecond)
					if got := b.Status(); got != "created" {
						t.Fatalf("after SIG%s: %s, want created (ignored)", sig, got)
					}
					b.MustSkiff("start", b.ID)
					if got := b.Status(); got != "running" {
						t.Fatalf("start after SIG%s: %s, want running", sig, got)
					}
					return
				}
				waitFor(t, 5*time.Second, "the init to exit on SIG"+sig, func() bool { return b.Status() == "stopped" })
				b.MustSkiff("delete", b.ID)
			})
		}
	}
}

// The park loads the seccomp filter as the last step before execve: the
// profile has to allow nothing the runtime needs. Denying write (the init
// writes a byte to the exec FIFO) fails a container parked in Go, and not
// one parked in C, whose workload still has the filter.
func TestParkLoadsSeccompRightBeforeExecve(t *testing.T) {
	profile := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"write", "mkdir", "mkdirat"}, Action: specs.ActErrno},
		},
	}
	b := newBundle(t, "sh", "-c", "mkdir /tmp/x 2>/dev/null || touch /tmp/denied")
	b.Spec.Linux.Seccomp = profile
	runCreated(t, b)
	if _, err := os.Stat(filepath.Join(b.Dir, "rootfs", "tmp", "denied")); err != nil {
		t.Errorf("the workload did not run, or mkdir was allowed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(b.Dir, "rootfs", "tmp", "x")); err == nil {
		t.Errorf("mkdir was allowed: the filter was not loaded")
	}
	b2 := newBundle(t, "true")
	b2.Env = []string{"SKIFF_PARK=go"}
	b2.Spec.Linux.Seccomp = profile
	b2.Save()
	b2.MustSkiff("create", "--bundle", b2.Dir, b2.ID)
	if r := b2.Skiff("start", b2.ID); r.Code == 0 {
		t.Fatalf("SKIFF_PARK=go with write denied: start succeeded, the Go init wrote to the FIFO anyway?\n%s", r)
	}
}
