package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookScript records, for the hook kind in $1, the state JSON it got on
// stdin ($2/<kind>.json) and one line in $2/order with the namespaces it
// ran in and its environment.
const hookScript = `#!/bin/sh
kind=$1; dir=$2
cat > "$dir/$kind.json"
echo "$kind mnt=$(readlink /proc/self/ns/mnt) pid=$(readlink /proc/self/ns/pid) env=$HOOKENV arg=$3" >> "$dir/order"
`

// hookBundle makes a bundle whose every hook runs hookScript. Hooks in the
// runtime's namespaces, and createContainer (before pivot_root, path
// resolved on the host), see the host paths; startContainer runs after
// pivot_root and sees the container's.
func hookBundle(t *testing.T, args ...string) (*Bundle, string) {
	b := newBundle(t, args...)
	b.Spec.Root.Readonly = false
	rootfs := filepath.Join(b.Dir, "rootfs")
	if err := os.WriteFile(filepath.Join(rootfs, "hook.sh"), []byte(hookScript), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(rootfs, "hooks")
	os.Mkdir(out, 0o777)
	host := func(kind string, extra ...string) specs.Hook {
		return specs.Hook{Path: filepath.Join(rootfs, "hook.sh"), Args: append([]string{"hook.sh", kind, out}, extra...)}
	}
	b.Spec.Annotations = map[string]string{"org.skiff.test": "hooks"}
	b.Spec.Process.Env = append(b.Spec.Process.Env, "HOOKENV=process")
	poststart := host("poststart")
	poststart.Env = []string{"HOOKENV=explicit", "PATH=/usr/bin:/bin"}
	b.Spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{host("prestart", "extra-arg")}, //nolint:staticcheck // still sent by Docker
		CreateRuntime:   []specs.Hook{host("createRuntime")},
		CreateContainer: []specs.Hook{host("createContainer")},
		StartContainer:  []specs.Hook{{Path: "/hook.sh", Args: []string{"hook.sh", "startContainer", "/hooks"}}},
		Poststart:       []specs.Hook{poststart},
		Poststop:        []specs.Hook{host("poststop")},
	}
	b.Save()
	return b, out
}

type hookRun struct {
	kind, mnt, pid, env, arg string
}

func hookOrder(t *testing.T, dir string) []hookRun {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(dir, "order"))
	var out []hookRun
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		r := hookRun{kind: f[0]}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "mnt":
				r.mnt = v
			case "pid":
				r.pid = v
			case "env":
				r.env = v
			case "arg":
				r.arg = v
			}
		}
		out = append(out, r)
	}
	return out
}

func hookState(t *testing.T, dir, kind string) specs.State {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, kind+".json"))
	if err != nil {
		t.Fatalf("%s hook did not run: %v", kind, err)
	}
	var st specs.State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("%s hook got %q on stdin: %v", kind, data, err)
	}
	return st
}

func kinds(rs []hookRun) string {
	var k []string
	for _, r := range rs {
		k = append(k, r.kind)
	}
	return strings.Join(k, " ")
}

// Every hook runs at the point and in the namespaces the spec (and runc)
// define, with the state JSON on stdin (CONTRACT §8).
func TestHooksOrderNamespacesStateAndEnv(t *testing.T) {
	b, dir := hookBundle(t, "sleep", "100")
	hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
	hostPid, _ := os.Readlink("/proc/self/ns/pid")

	cmd := b.command("create", "--bundle", b.Dir, b.ID)
	cmd.Env = append(os.Environ(), "HOOKENV=skiff")
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("create:\n%s", r)
	}
	if got := kinds(hookOrder(t, dir)); got != "prestart createRuntime createContainer" {
		t.Fatalf("hooks run by create: %q", got)
	}
	pid := initPid(b)
	ctMnt, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	ctPid, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))

	cmd = b.command("start", b.ID)
	cmd.Env = append(os.Environ(), "HOOKENV=skiff")
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("start:\n%s", r)
	}
	if got := kinds(hookOrder(t, dir)); got != "prestart createRuntime createContainer startContainer poststart" {
		t.Fatalf("hooks after start: %q", got)
	}
	b.MustSkiff("kill", b.ID, "KILL")
	waitFor(t, 5*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
	cmd = b.command("delete", b.ID)
	cmd.Env = append(os.Environ(), "HOOKENV=skiff")
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("delete:\n%s", r)
	}
	runs := hookOrder(t, dir)
	if got := kinds(runs); got != "prestart createRuntime createContainer startContainer poststart poststop" {
		t.Fatalf("hooks after delete: %q", got)
	}

	want := map[string]struct {
		inContainer bool
		env         string
		status      specs.ContainerState
		pid         int
	}{
		// Runtime-namespace hooks without env inherit skiff's environment
		// (runc: a nil env is the runtime's own); container-side ones get
		// process.env; an explicit env is used as given.
		"prestart":        {false, "skiff", specs.StateCreating, pid},
		"createRuntime":   {false, "skiff", specs.StateCreating, pid},
		"createContainer": {true, "process", specs.StateCreating, 1},
		"startContainer":  {true, "process", specs.StateCreated, 1},
		"poststart":       {false, "explicit", specs.StateRunning, pid},
		"poststop":        {false, "skiff", specs.StateStopped, 0},
	}
	for _, r := range runs {
		w := want[r.kind]
		mnt, pidns := hostMnt, hostPid
		if w.inContainer {
			mnt, pidns = ctMnt, ctPid
		}
		if r.mnt != mnt || r.pid != pidns {
			t.Errorf("%s hook ran in mnt %s pid %s, want %s %s (in the container: %v)", r.kind, r.mnt, r.pid, mnt, pidns, w.inContainer)
		}
		if r.env != w.env {
			t.Errorf("%s hook saw HOOKENV=%q, want %q", r.kind, r.env, w.env)
		}
		st := hookState(t, dir, r.kind)
		if st.Status != w.status || st.Pid != w.pid {
			t.Errorf("%s hook state: status %q pid %d, want %q %d", r.kind, st.Status, st.Pid, w.status, w.pid)
		}
		if st.ID != b.ID || st.Bundle != b.Dir || st.Version == "" || st.Annotations["org.skiff.test"] != "hooks" {
			t.Errorf("%s hook state: %+v", r.kind, st)
		}
	}
	if runs[0].arg != "extra-arg" {
		t.Errorf("the prestart hook's args did not reach it: %+v", runs[0])
	}
}

func failingHook(stderr string, code int) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", fmt.Sprintf("cat >/dev/null; echo noise; echo %s >&2; exit %d", stderr, code)}}
}

// A failing create-phase hook fails create, names the hook, destroys the
// container and runs the poststop hooks (runtime-spec lifecycle).
func TestHooksFailingCreatePhaseHook(t *testing.T) {
	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		t.Run(kind, func(t *testing.T) {
			b := newBundle(t, "sleep", "100")
			marker := filepath.Join(b.Dir, "poststop-ran")
			h := &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + marker}}}}
			hs := []specs.Hook{{Path: "/bin/true"}, failingHook("the-"+kind+"-hook-broke", 3)}
			switch kind {
			case "prestart":
				h.Prestart = hs //nolint:staticcheck // still sent by Docker
			case "createRuntime":
				h.CreateRuntime = hs
			case "createContainer":
				h.CreateContainer = hs
			}
			b.Spec.Hooks = h
			b.Save()
			r := expectCreateFails(t, b, "error running "+kind+" hook #1 (/bin/sh)", "exit status 3", "stderr: the-"+kind+"-hook-broke")
			notContains(t, r.Stderr, "noise")
			st, err := os.ReadFile(marker)
			if err != nil {
				t.Fatalf("the poststop hook did not run after the failed create")
			}
			contains(t, string(st), `"status":"stopped"`)
		})
	}
}

func TestHooksTimeout(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	one := 1
	b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo waiting >&2; sleep 30"}, Timeout: &one}}}
	b.Save()
	start := time.Now()
	expectCreateFails(t, b, "error running createRuntime hook #0 (/bin/sh)", "hook ran past specified timeout of 1s", "stderr: waiting")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a hook with a 1 s timeout held create for %v", d)
	}
}

func TestHooksMissingHookBinary(t *testing.T) {
	b := newBundle(t, "true")
	b.Spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/nonexistent/skiff-hook"}}}
	b.Save()
	expectCreateFails(t, b, "createRuntime hook #0 (/nonexistent/skiff-hook)", "no such file or directory")
}

// startContainer fails start; the container is stopped and delete still
// runs poststop.
func TestHooksFailingStartContainer(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	marker := filepath.Join(b.Dir, "poststop-ran")
	b.Spec.Hooks = &specs.Hooks{
		StartContainer: []specs.Hook{failingHook("start-hook-broke", 4)},
		Poststop:       []specs.Hook{{Path: "/bin/touch", Args: []string{"touch", marker}}},
	}
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	r := b.Skiff("start", b.ID)
	if r.Code != 1 {
		t.Fatalf("start with a failing startContainer hook must fail:\n%s", r)
	}
	contains(t, r.Stderr, "error running startContainer hook #0 (/bin/sh): exit status 4, stderr: start-hook-broke")
	waitFor(t, 5*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
	b.MustSkiff("delete", b.ID)
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("poststop did not run at delete")
	}
}

// skiff's choice (README): a failing poststart hook kills the container
// and fails start.
func TestHooksFailingPoststart(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.Spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{failingHook("poststart-broke", 5)}}
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	r := b.Skiff("start", b.ID)
	if r.Code != 1 {
		t.Fatalf("start with a failing poststart hook must fail:\n%s", r)
	}
	contains(t, r.Stderr, "error running poststart hook #0 (/bin/sh): exit status 5, stderr: poststart-broke")
	waitFor(t, 5*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
}

// poststop failures are warnings: delete succeeds and every hook runs.
func TestHooksFailingPoststopOnlyWarns(t *testing.T) {
	b := newBundle(t, "true")
	marker := filepath.Join(b.Dir, "second-ran")
	b.Spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{failingHook("poststop-broke", 6), {Path: "/bin/touch", Args: []string{"touch", marker}}}}
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	waitFor(t, 5*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
	r := b.MustSkiff("delete", b.ID)
	contains(t, r.Stderr, "level=warning")
	contains(t, r.Stderr, "error running poststop hook #0 (/bin/sh): exit status 6")
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("the poststop hook after the failing one did not run")
	}
}

// Foreground run: all six kinds, poststop after the container is gone.
func TestHooksForegroundRun(t *testing.T) {
	b, dir := hookBundle(t, "true")
	r := b.Run()
	if r.Code != 0 {
		t.Fatalf("run:\n%s", r)
	}
	if got := kinds(hookOrder(t, dir)); got != "prestart createRuntime createContainer startContainer poststart poststop" {
		t.Fatalf("hooks of run: %q", got)
	}
}
