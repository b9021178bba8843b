package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Issue 4: exec into a paused container is refused unless
// --ignore-paused, and a refused exec leaves the container as it was.
func TestExecIntoPausedContainer(t *testing.T) {
	b, pid := running(t)
	b.MustSkiff("pause", b.ID)
	defer b.Skiff("resume", b.ID)
	if s := b.Status(); s != "paused" {
		t.Fatalf("after pause: %s", s)
	}
	r := b.Skiff("exec", b.ID, "true")
	if r.Code != 255 {
		t.Fatalf("exec into a paused container must fail with 255:\n%s", r)
	}
	contains(t, r.Stderr, "cannot exec in a paused container")
	contains(t, r.Stderr, "--ignore-paused")
	// --ignore-paused: the process is started frozen and runs on resume.
	cmd := b.command("exec", "--ignore-paused", b.ID, "sh", "-c", "echo thawed")
	out, done := startCollecting(t, cmd)
	time.Sleep(200 * time.Millisecond)
	if strings.Contains(out.String(), "thawed") {
		t.Fatal("the exec'd process ran while the container was paused")
	}
	b.MustSkiff("resume", b.ID)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exec --ignore-paused: %v", err)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("exec --ignore-paused did not finish after resume")
	}
	contains(t, out.String(), "thawed")
	if st := b.State(); st["status"] != "running" || int(st["pid"].(float64)) != pid {
		t.Fatalf("the container changed: %v", st)
	}
}

// The process JSON conmon writes for `podman exec`: terminal false,
// capabilities in every set, noNewPrivileges, rlimits, an empty
// apparmor profile and selinux label.
func TestExecProcessJSONConmonShape(t *testing.T) {
	b, _ := running(t)
	caps := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	p := specs.Process{
		Terminal: false,
		User:     specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}},
		Args:     []string{"sh", "-c", "id; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; ulimit -n; pwd; echo $HOME"},
		Env:      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "HOME=/root", "container=podman"},
		Cwd:      "/tmp",
		Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps,
		},
		NoNewPrivileges: true,
		Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 512, Soft: 256}},
	}
	data, _ := json.Marshal(p)
	path := filepath.Join(b.Dir, "exec-conmon.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := b.MustSkiff("exec", "--process", path, b.ID)
	contains(t, r.Stdout, "uid=1000(user) gid=1000(user) groups=10,20")
	contains(t, r.Stdout, "NoNewPrivs:\t1")
	// CAP_CHOWN 0, CAP_KILL 5, CAP_NET_BIND_SERVICE 10 are effective
	// only if the process stays root; uid 1000 has none effective.
	contains(t, r.Stdout, "CapEff:\t0000000000000000")
	contains(t, r.Stdout, "CapBnd:\t0000000000000421")
	contains(t, r.Stdout, "256\n/tmp\n/root")
}

// A malformed --process file is one clear error naming the file.
func TestExecProcessJSONInvalid(t *testing.T) {
	b, _ := running(t)
	path := filepath.Join(b.Dir, "bad.json")
	os.WriteFile(path, []byte(`{"args": "sh"}`), 0o644)
	r := b.Skiff("exec", "--process", path, b.ID)
	if r.Code == 0 {
		t.Fatalf("a bad process JSON must fail:\n%s", r)
	}
	contains(t, r.Stderr, path)
	os.WriteFile(path, []byte(`{"args": [], "cwd": "rel"}`), 0o644)
	r = b.Skiff("exec", "--process", path, b.ID)
	if r.Code == 0 {
		t.Fatalf("a process without args must fail:\n%s", r)
	}
	contains(t, r.Stderr, "process.args")
	contains(t, r.Stderr, "process.cwd")
}

// exec --cgroup CTRL:SUB puts the process in an existing sub-cgroup of
// the container (runc's syntax), on cgroup v1 per controller.
func TestExecIntoSubCgroup(t *testing.T) {
	b, pid := running(t)
	if hostV2() {
		// v2: one tree, and a process may only join a leaf.
		sub := filepath.Join(cgDir(t, pid, ""), "health")
		r := b.MustSkiff("exec", "--cgroup", "health", b.ID, "cat", "/proc/self/cgroup")
		contains(t, r.Stdout, "/health\n")
		if _, err := os.Stat(sub); err != nil {
			t.Fatalf("the sub-cgroup is not where the container's cgroup is: %v", err)
		}
	} else {
		sub := filepath.Join(cgDir(t, pid, "pids"), "health")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatalf("make the sub-cgroup: %v", err)
		}
		r := b.MustSkiff("exec", "--cgroup", "pids:health", b.ID, "cat", "/proc/self/cgroup")
		contains(t, r.Stdout, "pids:"+b.Spec.Linux.CgroupsPath+"/health\n")
		contains(t, r.Stdout, "memory:"+b.Spec.Linux.CgroupsPath+"\n")
	}
	r := b.Skiff("exec", "--cgroup", "pids:../../escape", b.ID, "true")
	if r.Code == 0 {
		t.Fatalf("a sub-cgroup outside the container's must be refused:\n%s", r)
	}
}

// exec --preserve-fds N passes fds 3..3+N-1 and nothing else.
func TestExecPreserveFds(t *testing.T) {
	b, _ := running(t)
	f, err := os.Create(filepath.Join(b.Dir, "passed"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := b.command("exec", "--preserve-fds", "1", b.ID, "sh", "-c", "echo via-fd3 >&3; ls /proc/self/fd")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("exec --preserve-fds: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(f.Name())
	if string(data) != "via-fd3\n" {
		t.Fatalf("fd 3 did not reach the process: %q", data)
	}
	for _, fd := range strings.Fields(string(out)) {
		if fd != "0" && fd != "1" && fd != "2" && fd != "3" && fd != "4" { // 4: ls's own dir fd
			t.Errorf("unexpected fd %s in the exec'd process (%s)", fd, out)
		}
	}
}

// Exec does not disturb the init: after many execs with different users
// the init's credentials and the container's status are unchanged.
func TestExecLeavesInitAlone(t *testing.T) {
	b, pid := running(t)
	before := procStatus(t, pid)
	for _, u := range []string{"0:0", "1000:1000", "65534:65534"} {
		b.MustSkiff("exec", "--user", u, b.ID, "true")
	}
	after := procStatus(t, pid)
	for _, k := range []string{"Uid", "Gid", "CapEff", "CapBnd", "NoNewPrivs"} {
		if before[k] != after[k] {
			t.Errorf("init's %s changed: %q -> %q", k, before[k], after[k])
		}
	}
}
