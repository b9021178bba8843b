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
		if mode == "go" {
			cmd.Env = append(os.Environ(), "SKIFF_EXEC=go")
		}
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
	}
}

// What the constructor does not vouch for goes to Go, with the same
// outcome: options, a paused or stopped container, a template that no
// longer describes the container (changed config.json, another init,
// garbage), a missing command. Options save no template.
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
		"garbage":      "skiff-exec-template 1\nnonsense\n",
		"a new format": strings.Replace(string(tpl), "template 1", "template 2", 1),
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
