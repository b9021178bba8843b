package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRunOutputAndExitCode(t *testing.T) {
	b := newBundle(t, "sh", "-c", "echo hello from $(hostname); exit 3")
	r := b.Run()
	if r.Code != 3 {
		t.Fatalf("want exit 3, got:\n%s", r)
	}
	contains(t, r.Stdout, "hello from skiff")
}

func TestRunKilledBySignalExits128PlusN(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.Save()
	cmd := b.command("run", "--bundle", b.Dir, b.ID)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "container running", func() bool {
		r := b.Skiff("state", b.ID)
		return r.Code == 0 && strings.Contains(r.Stdout, `"running"`)
	})
	b.MustSkiff("kill", b.ID, "KILL")
	if code := exitCode(cmd.Wait()); code != 128+9 {
		t.Fatalf("want exit 137 (SIGKILL), got %d", code)
	}
}

func TestRunForwardsSignals(t *testing.T) {
	b := newBundle(t, "sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done")
	b.Save()
	cmd := b.command("run", "--bundle", b.Dir, b.ID)
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "container ready", func() bool { return strings.Contains(out.String(), "ready") })
	cmd.Process.Signal(syscallTERM)
	err := cmd.Wait()
	if code := exitCode(err); code != 7 {
		t.Fatalf("want exit 7 after forwarding SIGTERM, got %d (%v); output: %s", code, err, out.String())
	}
	contains(t, out.String(), "got TERM")
}

func TestCreateStartStateKillDelete(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	pidFile := filepath.Join(b.Dir, "init.pid")
	b.MustSkiff("create", "--bundle", b.Dir, "--pid-file", pidFile, b.ID)

	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(raw), "\n ") {
		t.Fatalf("pid file must hold the bare number, got %q", raw)
	}
	pid, err := strconv.Atoi(string(raw))
	if err != nil {
		t.Fatalf("pid file %q: %v", raw, err)
	}
	st := b.State()
	if st["status"] != "created" || int(st["pid"].(float64)) != pid {
		t.Fatalf("after create: want created with pid %d, got %v", pid, st)
	}
	for _, k := range []string{"ociVersion", "id", "bundle", "rootfs", "created", "owner"} {
		if _, ok := st[k]; !ok {
			t.Errorf("state lacks %q: %v", k, st)
		}
	}
	if st["bundle"] != b.Dir {
		t.Errorf("state bundle = %v, want %s", st["bundle"], b.Dir)
	}
	// The init is parked: in its cgroup already, not yet running sleep.
	cg, _ := os.ReadFile("/proc/" + raw2s(raw) + "/cgroup")
	contains(t, string(cg), b.CgroupInProc())

	b.MustSkiff("start", b.ID)
	if s := b.Status(); s != "running" {
		t.Fatalf("after start: status %s", s)
	}
	comm, _ := os.ReadFile("/proc/" + raw2s(raw) + "/comm")
	if strings.TrimSpace(string(comm)) != "sleep" {
		t.Fatalf("init runs %q, want sleep", comm)
	}
	r := b.Skiff("start", b.ID)
	if r.Code == 0 {
		t.Fatal("a second start must fail")
	}
	contains(t, r.Stderr, "cannot start an already running container")

	r = b.Skiff("delete", b.ID)
	if r.Code == 0 {
		t.Fatal("delete of a running container without --force must fail")
	}
	contains(t, r.Stderr, "is not stopped: running")

	b.MustSkiff("kill", b.ID, "KILL")
	waitFor(t, 5*time.Second, "container stopped", func() bool { return b.Status() == "stopped" })
	st = b.State()
	if st["pid"].(float64) != 0 {
		t.Errorf("a stopped container reports pid 0, got %v", st["pid"])
	}
	r = b.Skiff("kill", b.ID, "TERM")
	if r.Code == 0 {
		t.Fatal("kill of a stopped container must fail")
	}
	contains(t, r.Stderr, "container not running")
	b.MustSkiff("delete", b.ID)
	b.NoLeaks()
}

func raw2s(b []byte) string { return string(b) }

func TestDeleteCreatedContainerWithoutForce(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	pid := int(b.State()["pid"].(float64))
	start := time.Now()
	b.MustSkiff("delete", b.ID)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("delete of a created container took %v", d)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		if st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); !strings.Contains(string(st), ") Z") {
			t.Errorf("the init (pid %d) survived delete", pid)
		}
	}
	b.NoLeaks()
}

func TestDeleteForceOfMissingContainerSucceeds(t *testing.T) {
	b := newBundle(t)
	b.MustSkiff("delete", "--force", "nosuchcontainer")
	r := b.Skiff("delete", "nosuchcontainer")
	if r.Code == 0 {
		t.Fatal("delete without --force of a missing container must fail")
	}
	contains(t, r.Stderr, "container does not exist")
	r = b.Skiff("state", "nosuchcontainer")
	if r.Code != 1 {
		t.Fatalf("state of a missing container: want exit 1, got %s", r)
	}
	contains(t, r.Stderr, "does not exist")
}

func TestDeleteForceRunning(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	if s := b.Status(); s != "running" {
		t.Fatalf("after run -d: %s", s)
	}
	b.MustSkiff("delete", "--force", b.ID)
	b.NoLeaks()
}

func TestKillSignalNamesAndNumbers(t *testing.T) {
	b := newBundle(t, "sh", "-c", "trap 'echo usr1 >> /tmp/sigs' USR1; trap 'echo usr2 >> /tmp/sigs' USR2; touch /tmp/ready; while true; do sleep 0.05; done")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	sigFile := filepath.Join(b.Dir, "rootfs/tmp/sigs")
	// A signal that arrives before the shell installed its traps kills it
	// (the default action of USR1): wait for them.
	waitFor(t, 5*time.Second, "the traps to be set", func() bool {
		_, err := os.Stat(filepath.Join(b.Dir, "rootfs/tmp/ready"))
		return err == nil
	})
	// One at a time: a signal sent while the same one is pending merges.
	for i, sig := range []string{"USR1", "SIGUSR2", "usr1", "12"} {
		b.MustSkiff("kill", b.ID, sig)
		waitFor(t, 5*time.Second, "signal "+sig+" handled", func() bool {
			data, _ := os.ReadFile(sigFile)
			return strings.Count(string(data), "usr") == i+1
		})
	}
	b.MustSkiff("kill", b.ID, "0")
	r := b.Skiff("kill", b.ID, "NOSUCHSIG")
	if r.Code == 0 {
		t.Fatal("an unknown signal must fail")
	}
	contains(t, r.Stderr, `unknown signal`)
	contains(t, r.Stderr, `NOSUCHSIG`)
	data, _ := os.ReadFile(sigFile)
	if string(data) != "usr1\nusr2\nusr1\nusr2\n" {
		t.Fatalf("signals received: %q", data)
	}
}

func TestKillAllSignalsEveryProcess(t *testing.T) {
	b := newBundle(t, "sh", "-c", "sleep 100 & sleep 100 & wait")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	waitFor(t, 5*time.Second, "two sleeps", func() bool {
		r := b.MustSkiff("ps", "--format", "json", b.ID)
		var pids []int
		json.Unmarshal([]byte(r.Stdout), &pids)
		return len(pids) == 3
	})
	b.MustSkiff("kill", "--all", b.ID, "KILL")
	waitFor(t, 5*time.Second, "container stopped", func() bool { return b.Status() == "stopped" })
}

func TestList(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	r := b.Skiff("list")
	if r.Code == 0 {
		t.Fatal("list with an explicit --root that does not exist must fail")
	}
	if err := os.MkdirAll(b.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	r = b.MustSkiff("list", "--format", "json")
	if strings.TrimSpace(r.Stdout) != "null" {
		t.Fatalf("empty list as JSON must be null, got %q", r.Stdout)
	}
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	r = b.MustSkiff("list")
	contains(t, r.Stdout, "ID")
	contains(t, r.Stdout, b.ID)
	contains(t, r.Stdout, "created")
	r = b.MustSkiff("list", "-q")
	if strings.TrimSpace(r.Stdout) != b.ID {
		t.Fatalf("list -q: %q", r.Stdout)
	}
	r = b.MustSkiff("list", "--format=json")
	var states []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &states); err != nil || len(states) != 1 {
		t.Fatalf("list json: %v %q", err, r.Stdout)
	}
	if states[0]["owner"] != "root" || states[0]["status"] != "created" {
		t.Fatalf("list json entry: %v", states[0])
	}
}

func TestPidFileRelativeToCallerCwd(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	other := t.TempDir()
	cmd := b.command("create", "--bundle", b.Dir, "--pid-file", "rel.pid", b.ID)
	cmd.Dir = other
	// No pipes: the created container inherits skiff's stdio.
	if err := cmd.Run(); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "rel.pid")); err != nil {
		t.Fatalf("relative --pid-file must be written relative to the caller's cwd: %v", err)
	}
}

func TestRunDetachedThenExitCodeVisibleAsStopped(t *testing.T) {
	b := newBundle(t, "true")
	b.MustSkiff("run", "--detach", "--bundle", b.Dir, b.ID)
	waitFor(t, 5*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
	b.MustSkiff("delete", b.ID)
}

func TestVersion(t *testing.T) {
	b := newBundle(t)
	for _, flag := range []string{"--version", "-v"} {
		r := b.MustSkiff(flag)
		for _, want := range []string{"skiff version ", "spec: ", "libseccomp: "} {
			contains(t, r.Stdout, want)
		}
	}
}

func TestSpecWritesExample(t *testing.T) {
	b := newBundle(t)
	dir := t.TempDir()
	b.MustSkiff("spec", "--bundle", dir)
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("spec output: %v", err)
	}
	r := b.Skiff("spec", "--bundle", dir)
	if r.Code == 0 {
		t.Fatal("spec must refuse to overwrite config.json")
	}
	b.MustSkiff("spec", "--rootless", "--bundle", t.TempDir())
}
