package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// running starts a detached container running sleep and returns it with
// its init pid.
func running(t *testing.T) (*Bundle, int) {
	t.Helper()
	b := newBundle(t, "sleep", "1000")
	b.Spec.Hostname = "exechost"
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	return b, int(b.State()["pid"].(float64))
}

func TestExecSeesTheContainer(t *testing.T) {
	b, pid := running(t)
	r := b.MustSkiff("exec", b.ID, "sh", "-c", "hostname; ps -o pid,comm; cat /proc/self/cgroup; readlink /proc/self/ns/mnt; readlink /proc/self/ns/net; id -u; pwd")
	contains(t, r.Stdout, "exechost")
	contains(t, r.Stdout, "1 sleep")
	contains(t, r.Stdout, b.CgroupInProc())
	for _, ns := range []string{"mnt", "net"} {
		want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		contains(t, r.Stdout, want)
	}
}

func TestExecExitCode(t *testing.T) {
	b, _ := running(t)
	r := b.Skiff("exec", b.ID, "sh", "-c", "exit 42")
	if r.Code != 42 {
		t.Fatalf("want the process's exit code 42:\n%s", r)
	}
}

func TestExecFlags(t *testing.T) {
	b, _ := running(t)
	r := b.MustSkiff("exec", "--user", "1000:1000", "--additional-gids", "10", "--cwd", "/tmp", "-e", "FOO=bar", "-e", "A=1,2",
		b.ID, "sh", "-c", "id -u; id -g; pwd; echo FOO=$FOO A=$A; grep -E 'Groups|CapEff|NoNewPrivs' /proc/self/status")
	contains(t, r.Stdout, "1000\n1000\n")
	contains(t, r.Stdout, "Groups:\t10 \n")
	contains(t, r.Stdout, "/tmp\n")
	contains(t, r.Stdout, "FOO=bar A=1,2")
	contains(t, r.Stdout, "CapEff:\t0000000000000000")
}

func TestExecCapDoesNotTouchInheritable(t *testing.T) {
	b, _ := running(t)
	r := b.MustSkiff("exec", "--cap", "CAP_NET_ADMIN", b.ID, "grep", "Cap", "/proc/self/status")
	contains(t, r.Stdout, "CapInh:\t0000000000000000")
	eff := grepLines(r.Stdout, "CapEff")
	v, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(eff, "CapEff:")), 16, 64)
	if v&(1<<12) == 0 {
		t.Fatalf("CAP_NET_ADMIN (bit 12) not effective: %s", eff)
	}
}

func TestExecProcessJSON(t *testing.T) {
	b, _ := running(t)
	// The shape containerd's shim writes.
	p := specs.Process{
		Args: []string{"sh", "-c", "echo from-json $X; id -u"},
		Env:  []string{"PATH=/bin:/usr/bin", "X=y"},
		Cwd:  "/",
		User: specs.User{UID: 65534, GID: 65534},
	}
	data, _ := json.Marshal(p)
	path := filepath.Join(b.Dir, "process.json")
	os.WriteFile(path, data, 0o644)
	r := b.MustSkiff("exec", "--process", path, b.ID)
	contains(t, r.Stdout, "from-json y\n65534")
}

func TestExecDetachedWithPidFile(t *testing.T) {
	b, _ := running(t)
	pid := b.ExecDetached("sleep", "100")
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if strings.TrimSpace(string(comm)) != "sleep" {
		t.Fatalf("pid %d runs %q", pid, comm)
	}
}

func TestExecMissingBinary(t *testing.T) {
	b, _ := running(t)
	r := b.Skiff("exec", b.ID, "no-such-thing")
	if r.Code != 255 {
		t.Fatalf("exec failures exit 255:\n%s", r)
	}
	contains(t, r.Stderr, "executable file not found in $PATH")
}

func TestExecIntoStoppedContainer(t *testing.T) {
	b := newBundle(t, "true")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	waitFor(t, 5*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
	r := b.Skiff("exec", b.ID, "true")
	if r.Code != 255 {
		t.Fatalf("exec into a stopped container must fail with 255:\n%s", r)
	}
	contains(t, r.Stderr, "cannot exec in a stopped container")
}

func TestConcurrentExecs(t *testing.T) {
	b, pid := running(t)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := b.Skiff("exec", b.ID, "sh", "-c", fmt.Sprintf("echo exec-%d", i))
			if r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("exec-%d", i)) {
				errs <- r.String()
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if s := b.Status(); s != "running" {
		t.Fatalf("the container must still run after the execs: %s", s)
	}
	if st := b.State(); int(st["pid"].(float64)) != pid {
		t.Fatalf("the init changed")
	}
}

func TestExecInUserNamespace(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.inUserNamespace(300000)
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	r := b.MustSkiff("exec", b.ID, "sh", "-c", "cat /proc/self/uid_map; id -u")
	contains(t, r.Stdout, "300000")
	contains(t, r.Stdout, "\n0\n")
}

// PITFALLS 2: no host fd reaches an exec'd process.
func TestExecNoLeakedFds(t *testing.T) {
	b, _ := running(t)
	r := b.MustSkiff("exec", b.ID, "ls", "-l", "/proc/self/fd")
	for _, l := range strings.Split(r.Stdout, "\n") {
		f := strings.Fields(l)
		if len(f) < 11 {
			continue
		}
		fd, _ := strconv.Atoi(f[8])
		if fd > 3 { // 0-2 and ls's own directory fd
			t.Errorf("leaked fd: %s", l)
		}
	}
}

func TestExecCwdOutsideContainerRefused(t *testing.T) {
	b, _ := running(t)
	for fd := 3; fd < 12; fd++ {
		r := b.Skiff("exec", "--cwd", fmt.Sprintf("/proc/self/fd/%d", fd), b.ID, "pwd")
		if r.Code == 0 && !strings.HasPrefix(strings.TrimSpace(r.Stdout), "/") {
			t.Fatalf("exec with cwd /proc/self/fd/%d ran outside the container: %s", fd, r)
		}
		if r.Code == 0 && strings.HasPrefix(strings.TrimSpace(r.Stdout), "/proc") {
			// A path that exists inside the container's own procfs is fine.
			continue
		}
	}
}

// PITFALLS 1: the init runs from a sealed view, never from the installed
// binary.
func TestInitExeIsNotTheInstalledBinary(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	pid := int(b.State()["pid"].(float64))
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
	if exe == skiffBin {
		t.Fatalf("/proc/<init>/exe is the installed binary %s", exe)
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/exe", pid), os.O_WRONLY, 0)
	if err == nil {
		f.Close()
		t.Fatal("the init's exe must not be writable")
	}
}
