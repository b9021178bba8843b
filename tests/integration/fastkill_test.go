package integration

import (
	"testing"
	"time"
)

// `skiff kill` runs in the constructor (init/fastkill.h) when it can, and in
// Go with SKIFF_KILL=go or whenever the constructor leaves it to Go.

// A signal to a created or running container's init is sent by the
// constructor: the workload gets it, and no Go runtime starts.
func TestKillWithoutAGoRuntime(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		args         []string
	}{
		{"default SIGTERM, running", "running", nil},
		{"number, running", "running", []string{"9"}},
		{"name, running", "running", []string{"sigkill"}},
		{"short name, created", "created", []string{"KILL"}},
		{"SIG name, created", "created", []string{"SIGTERM"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A PID 1 gets only the signals it handles (SIGKILL aside).
			b := newBundle(t, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
			b.MustSkiff("create", "--bundle", b.Dir, b.ID)
			if tc.status == "running" {
				b.MustSkiff("start", b.ID)
			}
			// Signal 0 only checks that the init is there.
			if r, goRan := verbIn(t, b, "c", "kill", b.ID, "0"); r.Code != 0 || goRan {
				t.Fatalf("kill %s 0: %s (Go runtime: %v)", b.ID, r, goRan)
			}
			if s := b.Status(); s != tc.status {
				t.Fatalf("after signal 0 the container is %s, want %s", s, tc.status)
			}
			r, goRan := verbIn(t, b, "c", "kill", append([]string{b.ID}, tc.args...)...)
			if r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
				t.Fatalf("kill %v: %s", tc.args, r)
			}
			if goRan {
				t.Errorf("kill %v started a Go runtime: not the constructor's kill", tc.args)
			}
			waitFor(t, 5*time.Second, "the container to stop", func() bool { return b.Status() == "stopped" })
			b.MustSkiff("delete", b.ID)
			b.NoLeaks()
		})
	}
}

// What the constructor leaves to Go comes out the same, and Go did it.
func TestKillLeftToGo(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	b.MustSkiff("start", b.ID)
	stopped := newBundle(t, "true")
	stopped.Root = b.Root
	stopped.MustSkiff("create", "--bundle", stopped.Dir, stopped.ID)
	stopped.MustSkiff("start", stopped.ID)
	waitFor(t, 5*time.Second, "the short workload to exit", func() bool { return stopped.Status() == "stopped" })
	fakeState(t, b, "corrupt", `{"id":"corrupt","phase":`)
	for _, args := range [][]string{
		{stopped.ID}, {"missing"}, {"bad/id"}, {"corrupt"}, {}, {b.ID, "FOO"}, {b.ID, "65"}, {b.ID, "-9"},
		{b.ID, "0", "extra"}, {b.ID, "RTMIN"}, {"--all", stopped.ID, "0"},
	} {
		leftToGo(t, b, "kill", args...)
	}
	if s := b.Status(); s != "running" {
		t.Fatalf("the running container is %s after the refused kills", s)
	}
	// Paused: a SIGKILL must thaw it, which Go does.
	b.MustSkiff("pause", b.ID)
	if r, goRan := verbIn(t, b, "c", "kill", b.ID, "KILL"); r.Code != 0 || !goRan {
		t.Fatalf("kill of a paused container: %s (Go runtime: %v)", r, goRan)
	}
	waitFor(t, 5*time.Second, "the paused container to die", func() bool { return b.Status() == "stopped" })
}
