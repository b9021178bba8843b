package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A plain `skiff exec ID CMD...` runs in the constructor (init/execparent.h)
// from the container's exec template, which the first plain exec saves
// (libct/exectemplate.go); SKIFF_EXEC=go, any exec option, and whatever the
// constructor cannot vouch for go to the Go exec.

func templatePath(b *Bundle) string { return filepath.Join(b.Root, b.ID, "exec.template") }

// execIn runs a plain exec in the constructor ("c") or in Go ("go") and
// tells whether a Go runtime started.
func execIn(t *testing.T, b *Bundle, mode string, args ...string) (Result, bool) {
	t.Helper()
	return verbIn(t, b, mode, "exec", append([]string{b.ID}, args...)...)
}

// firstExec runs the exec that saves the template, through Go.
func firstExec(t *testing.T, b *Bundle) {
	t.Helper()
	if _, err := os.Stat(templatePath(b)); err == nil {
		t.Fatalf("%s has an exec template before its first exec", b.ID)
	}
	if r, goRan := execIn(t, b, "c", "true"); r.Code != 0 || !goRan {
		t.Fatalf("first exec: %s (Go runtime: %v)", r, goRan)
	}
	if _, err := os.Stat(templatePath(b)); err != nil {
		t.Fatalf("the first plain exec saved no template: %v", err)
	}
}

// The constructor's exec gives the process exactly what the Go exec does
// (identity, capabilities, no_new_privs, seccomp, rlimits, fds, cgroups,
// namespaces, environment), passes the exit status and stdin through, and
// starts no Go runtime; in a created container too.
func TestExecWithoutAGoRuntime(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.Spec.Process.Rlimits = append(b.Spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NPROC", Hard: 300, Soft: 200})
	b.Spec.Process.OOMScoreAdj = new(int)
	*b.Spec.Process.OOMScoreAdj = 123
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	firstExec(t, b)

	script := probe + "; cat /proc/self/oom_score_adj"
	c, goRan := execIn(t, b, "c", "sh", "-c", script)
	g, _ := execIn(t, b, "go", "sh", "-c", script)
	if c != g {
		t.Fatalf("the constructor's exec differs from Go's:\nconstructor: %s\nGo:          %s", c, g)
	}
	if goRan {
		t.Fatalf("the exec started a Go runtime: not the constructor's")
	}
	contains(t, c.Stdout, "uid=0(root)")
	contains(t, c.Stdout, "NoNewPrivs:\t1")
	contains(t, c.Stdout, "\n123\n")
	contains(t, c.Stdout, b.ID) // its cgroup

	// Arguments of any bytes but NUL, empty ones included (the fast exec
	// refused those until the tenth session, on both roads).
	odd := []string{"printf", "%s|", "a b", "new\nline", "ü", "", "-x", "--", ""}
	c, goRan = execIn(t, b, "c", odd...)
	g, _ = execIn(t, b, "go", odd...)
	gi, _ := onRoad(t, b, []string{"SKIFF_EXEC_INIT=go"}, append([]string{"exec", b.ID}, odd...)...)
	if c != g || c != gi || c.Stdout != "a b|new\nline|ü||-x|--||" || goRan {
		t.Errorf("exec with odd arguments:\nconstructor: %s\nGo parent:   %s\nGo init:     %s", c, g, gi)
	}

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"sh", "-c", "exit 3"}, 3},
		{[]string{"sh", "-c", "kill -9 $$"}, 128 + 9},
		{[]string{"/bin/true"}, 0},
	} {
		r, goRan := execIn(t, b, "c", tc.args...)
		if r.Code != tc.code || goRan {
			t.Errorf("exec %v: %s (Go runtime: %v), want status %d", tc.args, r, goRan, tc.code)
		}
	}
	r := b.SkiffIn([]byte("from stdin\n"), "exec", b.ID, "cat")
	if r.Code != 0 || r.Stdout != "from stdin\n" {
		t.Errorf("exec cat: %s", r)
	}

	// --detach: skiff exits once the process runs.
	if r, goRan := verbIn(t, b, "c", "exec", "-d", b.ID, "sleep", "999"); r.Code != 0 || goRan {
		t.Errorf("exec -d: %s (Go runtime: %v)", r, goRan)
	}
	if ps := b.MustSkiff("ps", b.ID).Stdout; !strings.Contains(ps, "sleep 999") {
		t.Errorf("the detached process is not in the container:\n%s", ps)
	}

	// A closed stdin or stderr is /dev/null for the process, as the Go
	// runtime makes it, and never a file the constructor opened.
	for _, mode := range []string{"c", "go"} {
		cmd := exec.Command("sh", "-c", `exec 0<&- 2>&-; exec "$@"`, "sh", skiffBin, "--root", b.Root, "exec", b.ID,
			"sh", "-c", "readlink /proc/self/fd/0; readlink /proc/self/fd/2")
		if mode == "go" {
			cmd.Env = append(os.Environ(), "SKIFF_EXEC=go")
		}
		out, err := cmd.Output()
		if err != nil || string(out) != "/dev/null\n/dev/null\n" {
			t.Errorf("%s: exec with stdin and stderr closed: %v, the process's fds 0 and 2: %q", mode, err, out)
		}
	}

	created := newBundle(t, "sleep", "1000")
	created.MustSkiff("create", "--bundle", created.Dir, created.ID)
	firstExec(t, created)
	if r, goRan := execIn(t, created, "c", "sh", "-c", "echo in created"); r.Stdout != "in created\n" || goRan {
		t.Errorf("exec in a created container: %s (Go runtime: %v)", r, goRan)
	}
	if s := created.Status(); s != "created" {
		t.Errorf("after the exec the container is %s, want created", s)
	}
	created.MustSkiff("delete", "--force", created.ID)
	created.NoLeaks()
}

// The constructor forwards signals to the process, as the Go exec does.
func TestExecForwardsSignals(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	firstExec(t, b)
	for _, mode := range []string{"c", "go"} {
		cmd := b.command("exec", b.ID, "sh", "-c", `trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done`)
		// inittrace: tell which parent forwarded the signal.
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		if mode == "go" {
			cmd.Env = append(cmd.Env, "SKIFF_EXEC=go")
		}
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := out.Read(buf); err != nil || string(buf) != "ready\n" {
			t.Fatalf("%s: the process did not start: %q %v", mode, buf, err)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%s: SIGTERM did not reach the exec'd process", mode)
		}
		if code := exitCode(err); code != 7 {
			t.Errorf("%s: exec exited %d after SIGTERM, want 7 (the process's trap)", mode, code)
		}
		if goRan := strings.Contains(stderr.String(), "init "); goRan != (mode == "go") {
			t.Errorf("%s: a Go runtime started: %v, want %v", mode, goRan, mode == "go")
		}
	}
}

// What the constructor does not vouch for goes to Go, with the same
// outcome: options, a paused or stopped container, a template that no
// longer describes the container (changed config.json, another init) or
// was written by another build of skiff, garbage, a missing command.
// Options save no template.
func TestExecLeftToGo(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	if r, goRan := verbIn(t, b, "c", "exec", "--env", "X=1", b.ID, "true"); r.Code != 0 || !goRan {
		t.Fatalf("exec --env: %s (Go runtime: %v)", r, goRan)
	}
	if _, err := os.Stat(templatePath(b)); err == nil {
		t.Fatalf("an exec with options saved the template")
	}
	firstExec(t, b)
	// args: the whole command line after "exec".
	same := func(what string, args ...string) Result {
		t.Helper()
		c, goRan := verbIn(t, b, "c", "exec", args...)
		g, _ := verbIn(t, b, "go", "exec", args...)
		if c != g {
			t.Errorf("%s differs:\nconstructor: %s\nGo:          %s", what, c, g)
		}
		if !goRan {
			t.Errorf("%s started no Go runtime: the constructor did it", what)
		}
		return c
	}
	for _, args := range [][]string{
		{"-e", "X=1", b.ID, "sh", "-c", "echo $X"}, {"--cwd", "/tmp", b.ID, "pwd"}, {"--", b.ID, "true"},
		{b.ID, ""}, {b.ID}, {"missing", "true"}, {"bad/id", "true"},
	} {
		same(strings.Join(args, " "), args...)
	}
	if r := same("missing binary", b.ID, "/no/such/binary"); r.Code != 255 || !strings.Contains(r.Stderr, "/no/such/binary") {
		t.Errorf("exec of a missing binary: %s", r)
	}
	tpl, err := os.ReadFile(templatePath(b))
	if err != nil {
		t.Fatal(err)
	}
	// The same config.json, touched: it may have changed.
	cfg := filepath.Join(b.Root, b.ID, "config.json")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(cfg, later, later); err != nil {
		t.Fatal(err)
	}
	same("changed config.json", b.ID, "sh", "-c", "echo ok")
	for name, text := range map[string]string{
		"another init": strings.Replace(string(tpl), "\ninit ", "\ninit 1", 1),
		// An upgraded skiff's constructor may read the orders otherwise.
		"another build of skiff": strings.Replace(string(tpl), "\nbuild ", "\nbuild 00", 1),
		"no build":               strings.Replace(string(tpl), "\nbuild ", "\nbuilt ", 1),
		"garbage":                "skiff-exec-template 1\nnonsense\n",
		"a new format":           strings.Replace(string(tpl), "template 1", "template 2", 1),
	} {
		if err := os.WriteFile(templatePath(b), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		same(name, b.ID, "sh", "-c", "echo ok")
		// The Go exec put the right template back.
		if r, goRan := execIn(t, b, "c", "true"); r.Code != 0 || goRan {
			t.Errorf("after %s: %s (Go runtime: %v), want the constructor's exec again", name, r, goRan)
		}
	}
	b.MustSkiff("pause", b.ID)
	same("paused", b.ID, "true")
	b.MustSkiff("resume", b.ID)
	b.MustSkiff("kill", b.ID, "KILL")
	waitFor(t, 5*time.Second, "the container to stop", func() bool { return b.Status() == "stopped" })
	same("stopped", b.ID, "true")
	b.MustSkiff("delete", b.ID)
	b.NoLeaks()
}

// processFile writes the container's process with args as a --process
// file, as an engine does, and returns its path.
func processFile(t *testing.T, b *Bundle, name string, args ...string) string {
	t.Helper()
	p := *b.Spec.Process
	p.Args = args
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(b.Dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// An engine's exec (--process, --detach, --pid-file) of a process JSON the
// container has run before is done by the constructor: the same process as
// from Go, the pid file in place (a relative one against the working
// directory), and for --detach an exit once the process runs. A process
// JSON that differs by one byte goes to Go, and gets an entry of its own;
// the template keeps the newest eight.
func TestExecProcessJSONWithoutAGoRuntime(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	probeJSON := processFile(t, b, "probe.json", "sh", "-c", probe)
	run := func(mode string, args ...string) (Result, bool) {
		t.Helper()
		return verbIn(t, b, mode, "exec", append(args, b.ID)...)
	}
	if r, goRan := run("c", "--process", probeJSON); r.Code != 0 || !goRan {
		t.Fatalf("first exec of the process JSON: %s (Go runtime: %v)", r, goRan)
	}
	c, goRan := run("c", "--process", probeJSON)
	g, _ := run("go", "--process", probeJSON)
	if c != g || c.Code != 0 {
		t.Fatalf("the constructor's exec of the process JSON differs from Go's:\nconstructor: %s\nGo:          %s", c, g)
	}
	if goRan {
		t.Fatalf("the second exec of the same process JSON started a Go runtime")
	}

	// Detached with a pid file, as containerd's shim and conmon exec.
	sleeper := processFile(t, b, "sleeper.json", "sleep", "1000")
	if r, _ := run("c", "--process", sleeper, "--detach", "--pid-file", filepath.Join(b.Dir, "first.pid")); r.Code != 0 {
		t.Fatalf("first detached exec: %s", r)
	}
	for _, mode := range []string{"c", "go"} {
		pidFile := mode + ".pid" // relative: against skiff's working directory, b.Dir
		r, goRan := run(mode, "--process", sleeper, "-d", "--pid-file", pidFile)
		if r.Code != 0 || r.Stdout != "" || r.Stderr != "" || goRan != (mode == "go") {
			t.Fatalf("%s: exec --detach: %s (Go runtime: %v)", mode, r, goRan)
		}
		raw, err := os.ReadFile(filepath.Join(b.Dir, pidFile))
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		pid, err := strconv.Atoi(string(raw))
		if err != nil {
			t.Fatalf("%s: pid file %q", mode, raw)
		}
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.Contains(string(cg), b.ID) || string(cmdline) != "sleep\x001000\x00" {
			t.Fatalf("%s: pid %d of the pid file is not the exec'd sleep in the container: %q %q", mode, pid, cmdline, cg)
		}
		left, _ := filepath.Glob(filepath.Join(b.Dir, "."+pidFile+"-*"))
		if len(left) > 0 {
			t.Errorf("%s: temporary pid files left: %v", mode, left)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}

	// One byte more is another process: Go, then its own entry.
	other := processFile(t, b, "other.json", "sh", "-c", "echo other ")
	for _, want := range []bool{true, false} {
		if r, goRan := run("c", "--process", other); r.Stdout != "other\n" || goRan != want {
			t.Fatalf("exec of another process JSON: %s (Go runtime: %v, want %v)", r, goRan, want)
		}
	}
	// Eight newer entries push the probe's out.
	for i := 0; i < 8; i++ {
		p := processFile(t, b, fmt.Sprintf("p%d.json", i), "sh", "-c", fmt.Sprintf("echo %d", i))
		if r, goRan := run("c", "--process", p); r.Stdout != fmt.Sprintf("%d\n", i) || !goRan {
			t.Fatalf("first exec of process JSON %d: %s (Go runtime: %v)", i, r, goRan)
		}
	}
	if _, goRan := run("c", "--process", probeJSON); !goRan {
		t.Errorf("the template kept more than eight entries")
	}
}

// A pid file the constructor cannot put in place, once the process runs:
// the process is killed and skiff exits 255 with the reason, as from Go.
func TestExecPidFileFailureAfterTheStart(t *testing.T) {
	if _, err := exec.LookPath("chattr"); err != nil {
		t.Skip("no chattr on this host: cannot make a file that resists rename")
	}
	b := newBundle(t, "sleep", "1000")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	sleeper := processFile(t, b, "sleeper.json", "sleep", "1000")
	b.MustSkiff("exec", "--process", sleeper, "-d", "--pid-file", filepath.Join(b.Dir, "ok.pid"), b.ID)
	stuck := filepath.Join(b.Dir, "stuck.pid")
	if err := os.WriteFile(stuck, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chattr", "+i", stuck).CombinedOutput(); err != nil {
		t.Skipf("chattr +i %s: %v %s (the file system does not support it)", stuck, err, out)
	}
	defer exec.Command("chattr", "-i", stuck).Run()
	said := map[string]string{}
	for _, mode := range []string{"c", "go"} {
		r, goRan := verbIn(t, b, mode, "exec", "--process", sleeper, "-d", "--pid-file", stuck, b.ID)
		said[mode] = r.Stderr
		if r.Code != 255 || !strings.Contains(r.Stderr, "--pid-file") || !strings.Contains(r.Stderr, "operation not permitted") {
			t.Errorf("%s: exec with a pid file that cannot be replaced: %s", mode, r)
		}
		if mode == "c" && !goRan {
			t.Errorf("the failure was not reported through Go's logging")
		}
		waitFor(t, 5*time.Second, "the exec'd process to be killed", func() bool {
			pids := b.MustSkiff("ps", "--format", "json", b.ID).Stdout
			return strings.Count(pids, ",") == 1 // the init and the first sleeper
		})
	}
	if said["c"] != said["go"] {
		t.Errorf("the constructor's error differs from Go's:\nconstructor: %sGo:          %s", said["c"], said["go"])
	}
}

// cgroup v2: an exec joins the first populated leaf of a cgroup that
// delegates controllers. A template saved before the container began to
// delegate must not be used then: the constructor leaves the exec to Go,
// which finds the leaf.
func TestExecTemplateOfACgroupThatNowDelegates(t *testing.T) {
	if hostCgroupLayout() != "v2" {
		t.Skipf("cgroup layout %s: the leaf choice is cgroup v2's (make test-vm runs it)", hostCgroupLayout())
	}
	b := newBundle(t, "sleep", "1000")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	firstExec(t, b)
	dirs := cgroupDirs(b.Spec.Linux.CgroupsPath)
	if len(dirs) != 1 {
		t.Fatalf("cgroup directories %v, want the one v2 directory", dirs)
	}
	dir, leaf := dirs[0], filepath.Join(dirs[0], "leaf")
	if err := os.Mkdir(leaf, 0o755); err != nil {
		t.Fatal(err)
	}
	pid := fmt.Sprint(b.State()["pid"])
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(pid), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+pids"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, goRan := execIn(t, b, "c", "cat", "/proc/self/cgroup")
	if r.Code != 0 || !goRan {
		t.Fatalf("exec into a delegating cgroup: %s (Go runtime: %v), want Go's exec", r, goRan)
	}
	contains(t, r.Stdout, "/leaf")
}
