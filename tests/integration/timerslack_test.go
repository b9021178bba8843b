package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// skiffTimerSlack is skiff's own timer slack (libct/timerslack.Skiff).
const skiffTimerSlack = "500000"

// TestTimerSlackOfTheCaller: skiff runs with a timer slack of its own
// (libct/timerslack), and nothing it starts for others keeps it. The
// workload of run and of exec (fast and Go init), and every kind of hook,
// get the slack of the thread that started skiff; the parked init, which is
// skiff's, has skiff's.
func TestTimerSlackOfTheCaller(t *testing.T) {
	// Children inherit the slack of the thread that forks them: the test
	// starts every skiff from this thread, set to a value nobody else uses.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	const caller = 123457
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, caller, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)
	want := fmt.Sprint(caller)

	b := newBundle(t, "sh", "-c", "cat /proc/self/timerslack_ns")
	rootfs := filepath.Join(b.Dir, "rootfs")
	// Each hook records its own slack and its parent's (for the hooks in
	// the runtime's namespace, the parent is a skiff command, running with
	// skiff's slack).
	script := "#!/bin/sh\necho \"$1 $(cat /proc/self/timerslack_ns) $(cat /proc/$PPID/timerslack_ns)\" >> \"$2/slack\"\ncat >/dev/null\n"
	if err := os.WriteFile(filepath.Join(rootfs, "slack.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	host := func(kind string) specs.Hook {
		return specs.Hook{Path: filepath.Join(rootfs, "slack.sh"), Args: []string{"slack.sh", kind, rootfs}}
	}
	b.Spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{host("prestart")}, //nolint:staticcheck // still sent by Docker
		CreateRuntime:   []specs.Hook{host("createRuntime")},
		CreateContainer: []specs.Hook{host("createContainer")},
		StartContainer:  []specs.Hook{{Path: "/slack.sh", Args: []string{"slack.sh", "startContainer", "/"}}},
		Poststart:       []specs.Hook{host("poststart")},
		Poststop:        []specs.Hook{host("poststop")},
	}
	if got := strings.TrimSpace(b.MustRun()); got != want {
		t.Errorf("the workload of run has timer slack %s, want the caller's %s", got, want)
	}
	data, err := os.ReadFile(filepath.Join(rootfs, "slack"))
	if err != nil {
		t.Fatalf("no hook recorded its timer slack: %v", err)
	}
	var kinds []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		// Inside the container, reading the parent's file needs
		// CAP_SYS_NICE: the startContainer hook has only its own.
		f := append(strings.Fields(l), "")
		if len(f) < 3 {
			t.Fatalf("hook record %q", l)
		}
		kind := f[0]
		kinds = append(kinds, kind)
		if f[1] != want {
			t.Errorf("the %s hook has timer slack %s, want the caller's %s", kind, f[1], want)
		}
		switch kind {
		case "prestart", "createRuntime", "poststart", "poststop":
			if f[2] != skiffTimerSlack {
				t.Errorf("skiff, the parent of the %s hook, has timer slack %s, want its own %s", kind, f[2], skiffTimerSlack)
			}
		}
	}
	sort.Strings(kinds)
	if got := strings.Join(kinds, " "); got != "createContainer createRuntime poststart poststop prestart startContainer" {
		t.Errorf("hooks that ran: %s", got)
	}

	b.Spec.Hooks = nil
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	pid := fmt.Sprint(b.State()["pid"])
	b.MustSkiff("start", b.ID)
	if got := readTrim(t, "/proc/"+pid+"/timerslack_ns"); got != want {
		t.Errorf("the started workload has timer slack %s, want the caller's %s", got, want)
	}
	for _, env := range [][]string{nil, {"SKIFF_EXEC_INIT=go"}} {
		b.Env = env
		if got := strings.TrimSpace(b.MustSkiff("exec", b.ID, "cat", "/proc/self/timerslack_ns").Stdout); got != want {
			t.Errorf("exec %v: the process has timer slack %s, want the caller's %s", env, got, want)
		}
	}
	b.Env = nil
	b.MustSkiff("delete", "--force", b.ID)
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}
