package hooks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func state() *specs.State {
	return &specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42, Bundle: "/b"}
}

func TestRunPassesStateArgsAndEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	h := specs.Hook{
		Path: "/bin/sh",
		Args: []string{"sh", "-c", `cat > "$1.json"; echo "$0 $1 $X" > "$1"`, "argv0-ignored", out},
		Env:  []string{"X=from-env"},
	}
	if err := Run(Prestart, []specs.Hook{h}, state(), nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if string(got) != "argv0-ignored "+out+" from-env\n" {
		t.Fatalf("args/env seen by the hook: %q", got)
	}
	raw, _ := os.ReadFile(out + ".json")
	var st specs.State
	if err := json.Unmarshal(raw, &st); err != nil || st.ID != "c1" || st.Pid != 42 || st.Status != specs.StateCreating || st.Bundle != "/b" {
		t.Fatalf("state on stdin: %s (%v)", raw, err)
	}
}

func TestRunDefaultEnv(t *testing.T) {
	t.Setenv("SKIFF_HOOK_TEST_LEAK", "1")
	out := filepath.Join(t.TempDir(), "out")
	h := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `env > "$0"`, out}}
	if err := Run(StartContainer, []specs.Hook{h}, state(), []string{"ONLY=this"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !strings.Contains(string(got), "ONLY=this") || strings.Contains(string(got), "SKIFF_HOOK_TEST_LEAK") {
		t.Fatalf("a hook without env gets the default env, not ours: %q", got)
	}
	// nil default: the runtime's own environment (runc's runtime-namespace hooks).
	if err := Run(Poststart, []specs.Hook{h}, state(), nil); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(out)
	if !strings.Contains(string(got), "SKIFF_HOOK_TEST_LEAK=1") {
		t.Fatalf("a runtime-namespace hook without env inherits the runtime's: %q", got)
	}
}

func TestRunStopsAtFirstFailureAndNamesIt(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	hs := []specs.Hook{
		{Path: "/bin/true"},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "echo out-noise; for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; exit 3"}},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + marker}},
	}
	err := Run(CreateRuntime, hs, state(), nil)
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	want := "error running createRuntime hook #1 (/bin/sh): exit status 3, stderr: line3 | line4 | line5 | line6 | line7"
	if msg != want {
		t.Fatalf("error:\n got %q\nwant %q", msg, want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("hooks after a failing one must not run")
	}
}

func TestRunTimeoutKillsTheHookAndItsChildren(t *testing.T) {
	one := 1
	h := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo started >&2; sleep 30 & sleep 30"}, Timeout: &one}
	start := time.Now()
	err := Run(CreateContainer, []specs.Hook{h}, state(), nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the timeout of 1s took %v", d)
	}
	if err == nil {
		t.Fatal("want a timeout error")
	}
	for _, w := range []string{"error running createContainer hook #0 (/bin/sh)", "hook ran past specified timeout of 1s", "stderr: started"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
}

func TestRunAllRunsEveryHook(t *testing.T) {
	dir := t.TempDir()
	hs := []specs.Hook{
		{Path: "/bin/false"},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + filepath.Join(dir, "second")}},
		{Path: "/nonexistent/hook"},
	}
	errs := RunAll(Poststop, hs, state(), nil)
	if len(errs) != 2 {
		t.Fatalf("want 2 errors, got %v", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "second")); err != nil {
		t.Fatal("poststop hooks after a failing one still run")
	}
	if !strings.Contains(errs[1].Error(), "poststop hook #2 (/nonexistent/hook)") || !strings.Contains(errs[1].Error(), "no such file or directory") {
		t.Errorf("missing hook error: %v", errs[1])
	}
}
