package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The fast exec (libct/fastexec.go, init/fastexec.h): an exec'd process
// finished by the init's C constructor must look exactly like one finished
// by the Go init (SKIFF_EXEC_INIT=go), and must really take the fast path.

// probe prints what the two paths set up.
const probe = `id; umask; ulimit -n; ulimit -u; echo "HOME=$HOME"; pwd; ` +
	`grep -E '^(Cap|NoNewPrivs|Seccomp|Groups)' /proc/self/status; ls /proc/self/fd; ` +
	`cat /proc/self/cgroup; for n in pid mnt net ipc uts user; do readlink /proc/self/ns/$n; done; env | sort`

// execBothWays runs `skiff exec args...` through the fast path and through
// the Go init, checks which path each took (the trace marks), and returns
// both results.
func execBothWays(t *testing.T, b *Bundle, args ...string) (fast, slow Result) {
	t.Helper()
	b.Env = []string{"SKIFF_TRACE=1"}
	fast = b.Skiff(args...)
	b.Env = []string{"SKIFF_TRACE=1", "SKIFF_EXEC_INIT=go"}
	slow = b.Skiff(args...)
	b.Env = nil
	if !strings.Contains(fast.Stderr, "init: fast exec") {
		t.Fatalf("the exec did not take the fast path:\n%s", fast)
	}
	if strings.Contains(slow.Stderr, "init: fast exec") || !strings.Contains(slow.Stderr, "init: go started") {
		t.Fatalf("SKIFF_EXEC_INIT=go did not use the Go init:\n%s", slow)
	}
	return fast, slow
}

func sameOutput(t *testing.T, what string, fast, slow Result) {
	t.Helper()
	if fast.Code != slow.Code || fast.Stdout != slow.Stdout {
		t.Fatalf("%s: the fast exec differs from the Go init's\nfast: %s\nGo: %s", what, fast, slow)
	}
}

func TestFastExecMatchesGoInit(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 2048, Soft: 1536}}
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)

	// The container's process with the command line's overrides.
	fast, slow := execBothWays(t, b, "exec", "--user", "1000:1000", "-g", "5", "-g", "7", "--cwd", "/tmp",
		"-e", "EXTRA=1", "--cap", "CAP_NET_RAW", b.ID, "sh", "-c", probe)
	sameOutput(t, "flags", fast, slow)
	contains(t, fast.Stdout, "uid=1000(user) gid=1000(user) groups=5,7")
	contains(t, fast.Stdout, "HOME=/home/user") // from the container's /etc/passwd
	contains(t, fast.Stdout, "\n1536\n")        // the container's rlimit
	contains(t, fast.Stdout, "EXTRA=1")

	// A process JSON as conmon and containerd pass it: every capability
	// set (ambient too), no_new_privs, rlimits, umask, an empty HOME.
	umask := uint32(0o027)
	caps := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"}
	p := specs.Process{
		User: specs.User{UID: 0, GID: 0, Umask: &umask, AdditionalGids: []uint32{1, 2}},
		Args: []string{"sh", "-c", probe},
		Env:  []string{"PATH=/usr/bin:/bin", "HOME=", "A=1", "A=2"},
		Cwd:  "/",
		Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps, Inheritable: caps[:2], Ambient: caps[:3],
		},
		NoNewPrivileges: true,
		Rlimits: []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Hard: 512, Soft: 256},
			{Type: "RLIMIT_NPROC", Hard: 300, Soft: 200},
		},
	}
	data, _ := json.Marshal(p)
	path := filepath.Join(b.Dir, "process.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fast, slow = execBothWays(t, b, "exec", "--process", path, b.ID)
	sameOutput(t, "process JSON", fast, slow)
	contains(t, fast.Stdout, "\n0027\n256\n200\n")
	contains(t, fast.Stdout, "HOME=/root")
	contains(t, fast.Stdout, "CapAmb:\t0000000000000021") // CHOWN and KILL: also inheritable
	contains(t, fast.Stdout, "NoNewPrivs:\t1")
	contains(t, fast.Stdout, "\nA=2\n")
	notContains(t, fast.Stdout, "A=1")

	// --preserve-fds: fd 3 reaches the workload, nothing else does.
	f, err := os.Open(b.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run := func(env ...string) Result {
		cmd := b.command("exec", "--preserve-fds", "1", b.ID, "sh", "-c", "ls /proc/self/fd | tr '\\n' ' '")
		cmd.Env = append(os.Environ(), env...)
		cmd.ExtraFiles = []*os.File{f}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("exec --preserve-fds: %v", err)
		}
		return Result{Stdout: string(out)}
	}
	fast, slow = run(), run("SKIFF_EXEC_INIT=go")
	sameOutput(t, "--preserve-fds", fast, slow)
	if got := strings.TrimSpace(fast.Stdout); got != "0 1 2 3 4" { // 4: ls's own directory
		t.Fatalf("--preserve-fds 1: fds %q, want 0 1 2 3 4", got)
	}
}

func TestFastExecSeccompAndUserNamespace(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.Spec.Linux.Seccomp = denyMkdir(specs.ActErrno, nil)
	b.inUserNamespace(310000)
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	for _, nnp := range []string{"true", "false"} {
		fast, slow := execBothWays(t, b, "exec", "--no-new-privs="+nnp, b.ID, "sh", "-c", probe+"; mkdir /tmp/x || echo mkdir refused")
		sameOutput(t, "seccomp, no_new_privs "+nnp, fast, slow)
		contains(t, fast.Stdout, "Seccomp:\t2")
		contains(t, fast.Stdout, "mkdir refused")
	}
}

// A failure of the fast path is retried through the Go init, whose error
// the user gets; the failed attempt leaves nothing (the bundle's cleanup
// checks for processes in the cgroup).
func TestFastExecFailureRetriedWithGoInit(t *testing.T) {
	b, _ := running(t)
	r := b.Skiff("--debug", "exec", b.ID, "no-such-binary")
	if r.Code != 255 {
		t.Fatalf("exec of a missing binary must exit 255:\n%s", r)
	}
	contains(t, r.Stderr, "the constructor's fast exec failed")
	contains(t, r.Stderr, `exec: \"no-such-binary\": executable file not found in $PATH`)
	// A script with CRLF line endings: execve's bare ENOENT in the fast
	// path, the precise reason from the Go init.
	if err := os.WriteFile(filepath.Join(b.Dir, "rootfs", "crlf.sh"), []byte("#!/bin/sh\r\necho hi\r\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = b.Skiff("exec", b.ID, "/crlf.sh")
	if r.Code != 255 {
		t.Fatalf("exec of a CRLF script must exit 255:\n%s", r)
	}
	contains(t, r.Stderr, "carriage return")
}

// Something the fast path refuses and the Go init can do: a hard rlimit
// above skiff's own inside a user namespace, which only the parent's
// prlimit (host root, CAP_SYS_RESOURCE) may raise.
func TestFastExecRetryRaisesRlimitInUserNamespace(t *testing.T) {
	if !hostHasCap(24) {
		t.Skip("this host's root lacks CAP_SYS_RESOURCE: nobody can raise a hard rlimit here")
	}
	u := newBundle(t, "sleep", "1000")
	u.inUserNamespace(320000)
	u.Save()
	u.MustSkiff("run", "-d", "--bundle", u.Dir, u.ID)
	p := specs.Process{
		User: specs.User{UID: 0, GID: 0}, Args: []string{"sh", "-c", "ulimit -Hn"}, Cwd: "/",
		Env:     []string{"PATH=/bin"},
		Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 8192, Soft: 1024}},
	}
	data, _ := json.Marshal(p)
	path := filepath.Join(u.Dir, "raise.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// skiff itself runs with a hard limit of 4096.
	cmd := u.command("--debug", "exec", "--process", path, u.ID)
	cmd = exec.Command("prlimit", append([]string{"--nofile=1024:4096", cmd.Path}, cmd.Args[1:]...)...)
	cmd.Dir = u.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("exec raising a hard rlimit in a user namespace: %v\n%s", err, out)
	}
	contains(t, string(out), "the constructor's fast exec failed")
	contains(t, string(out), "\n8192\n")
}

// hostHasCap reports whether our effective set has capability n.
func hostHasCap(n uint) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:\t"); ok {
			mask, err := strconv.ParseUint(v, 16, 64)
			return err == nil && mask&(1<<n) != 0
		}
	}
	return false
}
