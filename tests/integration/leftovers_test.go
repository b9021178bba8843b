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

// procGone reports whether pid has exited: no /proc entry, or a zombie
// nobody reaps (a detached process re-parented to a pid namespace's init
// that does not wait).
func procGone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, after, ok := strings.Cut(string(stat), ") ")
	return ok && strings.HasPrefix(after, "Z")
}

// TestKillOfJoinedPidNamespaceKillsItsProcesses: a container that joins
// another's PID namespace by path does not own that namespace, so SIGKILL
// to its init alone would leave its other processes running. kill KILL
// takes all of them, as for a container with no PID namespace (runc does
// the same), and the first container is untouched.
func TestKillOfJoinedPidNamespaceKillsItsProcesses(t *testing.T) {
	a := newBundle(t, "sleep", "100")
	a.MustSkiff("run", "-d", "--bundle", a.Dir, a.ID)
	aPid := int(a.State()["pid"].(float64))

	b := newBundle(t, "sleep", "100")
	var nss []specs.LinuxNamespace
	for _, ns := range b.Spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			ns.Path = fmt.Sprintf("/proc/%d/ns/pid", aPid)
		}
		nss = append(nss, ns)
	}
	setNamespaces(b.Spec, nss...)
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	execPid := b.ExecDetached("sleep", "100")

	b.MustSkiff("kill", b.ID, "KILL")
	waitFor(t, 5*time.Second, "the joined container to stop", func() bool { return b.Status() == "stopped" })
	waitFor(t, 5*time.Second, fmt.Sprintf("its exec'd process %d to die", execPid), func() bool { return procGone(execPid) })
	if s := a.Status(); s != "running" {
		t.Fatalf("the container owning the PID namespace: %s after the joined one was killed", s)
	}
	b.MustSkiff("delete", b.ID)
	b.NoLeaks()
}

// TestDeleteKillsAProcessPutInTheCgroupFromOutside: delete of a container
// with its own PID namespace reads one file of its cgroup instead of
// killing and waiting on it (its init's death took the namespace's
// processes with it). A process that another tool moved into the cgroup,
// or into a sub-cgroup the container did not make, is still killed, and
// nothing is left. Of a running container (the Go delete) and of a created
// one (which the constructor's delete hands to Go once it sees the cgroup
// is not empty).
func TestDeleteKillsAProcessPutInTheCgroupFromOutside(t *testing.T) {
	for _, tc := range []struct{ sub, state string }{{"", "running"}, {"intruder", "running"}, {"", "created"}, {"intruder", "created"}} {
		sub := tc.sub
		name := "its cgroup, " + tc.state
		if sub != "" {
			name = "a sub-cgroup, " + tc.state
		}
		t.Run(name, func(t *testing.T) {
			b := newBundle(t, "sleep", "100")
			if tc.state == "running" {
				b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
			} else {
				b.MustSkiff("create", "--bundle", b.Dir, b.ID)
			}

			intruder := exec.Command("sleep", "100")
			if err := intruder.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- intruder.Wait() }()
			t.Cleanup(func() { intruder.Process.Kill() })
			moved := 0
			for _, d := range cgroupDirs(b.Spec.Linux.CgroupsPath) {
				if _, err := os.Stat(d); err != nil {
					continue
				}
				parent := d
				d = filepath.Join(d, sub)
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
				// A new v1 cpuset cgroup has no CPUs or memory nodes to
				// run on until it gets its parent's.
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					if v, err := os.ReadFile(filepath.Join(parent, f)); err == nil && sub != "" {
						os.WriteFile(filepath.Join(d, f), v, 0o644)
					}
				}
				procs := filepath.Join(d, "cgroup.procs")
				if err := os.WriteFile(procs, []byte(strconv.Itoa(intruder.Process.Pid)), 0o644); err != nil {
					t.Fatalf("move a host process into %s: %v", procs, err)
				}
				moved++
			}
			if moved == 0 {
				t.Fatalf("no cgroup directory of %s", b.Spec.Linux.CgroupsPath)
			}

			b.MustSkiff("delete", "--force", b.ID)
			select {
			case err := <-done:
				// systemd's stop of the scope sends SIGTERM first.
				ws, ok := intruder.ProcessState.Sys().(syscall.WaitStatus)
				if !ok || !ws.Signaled() || (ws.Signal() != syscall.SIGKILL && !(systemdCgroup && ws.Signal() == syscall.SIGTERM)) {
					t.Fatalf("the process moved into the cgroup ended with %v, want SIGKILL", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("delete returned but the process moved into the container's cgroup still runs")
			}
			b.NoLeaks()
		})
	}
}

// TestKillOfContainerWithoutPidNamespace: SIGKILL to a container that
// shares the host's PID namespace kills every process of its cgroup, the
// init included, and succeeds (it used to report "container not running"
// after killing it).
func TestKillOfContainerWithoutPidNamespace(t *testing.T) {
	b := newBundle(t, "sh", "-c", "sleep 100 & sleep 100 & wait")
	var nss []specs.LinuxNamespace
	for _, ns := range b.Spec.Linux.Namespaces {
		if ns.Type != specs.PIDNamespace {
			nss = append(nss, ns)
		}
	}
	setNamespaces(b.Spec, nss...)
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	var pids []int
	waitFor(t, 5*time.Second, "the shell and its two sleeps", func() bool {
		r := b.MustSkiff("ps", "--format", "json", b.ID)
		pids = nil
		json.Unmarshal([]byte(r.Stdout), &pids)
		return len(pids) == 3
	})
	b.MustSkiff("kill", b.ID, "KILL")
	for _, pid := range pids {
		waitFor(t, 5*time.Second, fmt.Sprintf("process %d to die", pid), func() bool { return procGone(pid) })
	}
	if s := b.Status(); s != "stopped" {
		t.Fatalf("after kill KILL: %s", s)
	}
	r := b.Skiff("kill", b.ID, "KILL")
	if r.Code == 0 {
		t.Fatal("kill of a stopped container must fail")
	}
	contains(t, r.Stderr, "not running")
	b.MustSkiff("delete", b.ID)
	b.NoLeaks()
}
