package integration

import (
	"fmt"
	"strings"
	"testing"
)

// `skiff state` runs in the constructor (init/faststate.h) when it can, and
// in Go with SKIFF_STATE=go or whenever the constructor leaves it to Go.

// onRoad runs skiff with env added and tells whether a Go runtime started:
// with GODEBUG=inittrace=1 the runtime prints a line to stderr for every
// package it initialises, which are taken out of the result (and so are
// the log lines' times).
func onRoad(t *testing.T, b *Bundle, env []string, args ...string) (Result, bool) {
	t.Helper()
	saved := b.Env
	b.Env = append(append(append([]string{}, saved...), env...), "GODEBUG=inittrace=1")
	// SkiffIn: files, not pipes, which a detached process would hold.
	res := b.SkiffIn(nil, args...)
	b.Env = saved
	r := Result{Stdout: res.Stdout, Code: res.Code}
	goRan := false
	for _, line := range strings.SplitAfter(res.Stderr, "\n") {
		if strings.HasPrefix(line, "init ") && strings.Contains(line, " @") && strings.Contains(line, " ms clock") {
			goRan = true
			continue
		}
		r.Stderr += line
	}
	r.Stderr = logTime.ReplaceAllString(r.Stderr, "")
	return r, goRan
}

// verbIn runs `verb args...` in the constructor ("c") or in Go (mode "go":
// SKIFF_<VERB>=go), and tells whether a Go runtime started.
func verbIn(t *testing.T, b *Bundle, mode, verb string, args ...string) (Result, bool) {
	t.Helper()
	var env []string
	if mode == "go" {
		env = []string{"SKIFF_" + strings.ToUpper(verb) + "=go"}
	}
	return onRoad(t, b, env, append([]string{verb}, args...)...)
}

// leftToGo checks that `verb args...` comes out the same on both roads and
// that the constructor left it to Go.
func leftToGo(t *testing.T, b *Bundle, verb string, args ...string) {
	t.Helper()
	c, goRan := verbIn(t, b, "c", verb, args...)
	g, _ := verbIn(t, b, "go", verb, args...)
	if c != g {
		t.Errorf("%s %v differs:\nconstructor: %s\nGo:          %s", verb, args, c, g)
	}
	if !goRan {
		t.Errorf("%s %v started no Go runtime: the constructor did it", verb, args)
	}
}

// The OCI state of a container in every status, with and without
// annotations, is the same, byte for byte, from the constructor and Go,
// and the constructor's starts no Go runtime.
func TestStateIsTheSameInCAndGo(t *testing.T) {
	created, running, stopped, paused := everyStatus(t, map[string]string{
		"org.example.z":   "last",
		"a":               "",
		"quotes":          `say "hi" \ back`,
		"org.example/key": "value with spaces",
		// Longer than any state field's name.
		"org.example/" + strings.Repeat("long-", 40): strings.Repeat("v", 300),
	})

	for id, want := range map[string]string{
		created.ID: "created", running.ID: "running", stopped.ID: "stopped", paused.ID: "paused",
		"a-creating": "creating", "b-killed-create": "stopped",
	} {
		c, goRan := verbIn(t, created, "c", "state", id)
		g, _ := verbIn(t, created, "go", "state", id)
		if c != g {
			t.Errorf("state %s differs:\nconstructor: %s\nGo:          %s", id, c, g)
		}
		if c.Code != 0 || c.Stderr != "" {
			t.Errorf("state %s: %s", id, c)
		}
		contains(t, c.Stdout, fmt.Sprintf(`"status": %q`, want))
		if goRan {
			t.Errorf("state %s started a Go runtime: not the constructor's state", id)
		}
	}
	c, _ := verbIn(t, created, "c", "state", created.ID)
	t.Logf("state:\n%s", c.Stdout)
	contains(t, c.Stdout, `"quotes": "say \"hi\" \\ back"`)
	if strings.Index(c.Stdout, `"a": ""`) > strings.Index(c.Stdout, `"org.example.z"`) {
		t.Errorf("annotations not in the order of their names:\n%s", c.Stdout)
	}
	if strings.HasSuffix(c.Stdout, "\n") {
		t.Errorf("state ends with a newline (runc's does not)")
	}
}

// What the constructor leaves to Go comes out the same: strings Go escapes
// in ways it does not (HTML characters are stored escaped, non-ASCII is
// checked as UTF-8), and every error.
func TestStateLeftToGo(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.Spec.Annotations = map[string]string{"html": "<a href=x>&</a>", "utf8": "grüße", "bad": "\xff"}
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	fakeState(t, b, "corrupt", `{"id":"corrupt","phase":`)
	for _, args := range [][]string{{b.ID}, {"corrupt"}, {"missing"}, {"bad/id"}, {}, {b.ID, "extra"}, {"--help"}} {
		leftToGo(t, b, "state", args...)
	}
	c, _ := verbIn(t, b, "c", "state", b.ID)
	contains(t, c.Stdout, `"html": "\u003ca href=x\u003e\u0026\u003c/a\u003e"`)
	contains(t, c.Stdout, `"utf8": "grüße"`)
	for _, args := range [][]string{{"missing"}, {"bad/id"}, {}} {
		if r, _ := verbIn(t, b, "c", "state", args...); r.Code == 0 || r.Stderr == "" {
			t.Errorf("state %v: want an error, got %s", args, r)
		}
	}
}
