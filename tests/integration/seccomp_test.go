package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// linux.seccomp: facts from inside the container (errno, the Seccomp line
// of /proc/self/status, exit status) and from the agent's side.

func errnoRet(v uint) *uint { return &v }

// denyMkdir makes mkdir fail with action: busybox's glibc may call mkdir
// or mkdirat.
func denyMkdir(action specs.LinuxSeccompAction, errnoRet *uint) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: action, ErrnoRet: errnoRet}},
	}
}

func TestSeccompErrno(t *testing.T) {
	cases := []struct {
		name     string
		errnoRet *uint
		want     string
	}{
		{"default EPERM", nil, "Operation not permitted"},
		{"errnoRet EROFS", errnoRet(30), "Read-only file system"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", "mkdir /tmp/x; echo rc=$?; grep Seccomp /proc/self/status; ls -d /tmp/x")
			b.Spec.Linux.Seccomp = denyMkdir(specs.ActErrno, c.errnoRet)
			r := b.Run()
			contains(t, r.Stderr+r.Stdout, c.want)
			contains(t, r.Stdout, "rc=1")
			contains(t, r.Stdout, "Seccomp:\t2\n")
			contains(t, r.Stdout, "Seccomp_filters:\t1\n")
			if r.Code == 0 {
				t.Fatalf("/tmp/x exists although mkdir was denied:\n%s", r)
			}
		})
	}
}

// A killing action ends the process with SIGSYS: `skiff run` exits
// 128+31, like a shell reports it.
func TestSeccompKill(t *testing.T) {
	for _, action := range []specs.LinuxSeccompAction{specs.ActKillProcess, specs.ActKill, specs.ActKillThread} {
		t.Run(string(action), func(t *testing.T) {
			b := newBundle(t, "mkdir", "/tmp/x")
			b.Spec.Linux.Seccomp = denyMkdir(action, nil)
			r := b.Run()
			if r.Code != 128+31 {
				t.Fatalf("want exit 159 (SIGSYS), got:\n%s", r)
			}
		})
	}
}

// One syscall, allowed or denied by its arguments: kill(2) of SIGUSR1
// fails, kill of signal 0 works.
func TestSeccompArgumentFilter(t *testing.T) {
	b := newBundle(t, "sh", "-c", "kill -USR1 $$; echo usr1=$?; kill -0 $$; echo zero=$?")
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{
			Names: []string{"kill"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 1, Value: 10 /* SIGUSR1 */, Op: specs.OpEqualTo}},
		}},
	}
	out := b.MustRun()
	contains(t, out, "usr1=1")
	contains(t, out, "zero=0")
}

func dockerProfile(t *testing.T) *specs.LinuxSeccomp {
	t.Helper()
	path := "../../seccomp/testdata/docker-default.json"
	if p := prebuiltHelper("docker-default.json"); p != "" {
		path = p
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := new(specs.LinuxSeccomp)
	if err := json.Unmarshal(data, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Docker's default profile: an ordinary workload runs, namespaces stay
// out of reach. Without no_new_privs the filter is loaded while the init
// is still privileged, and the rest of the set-up (user switch, caps) and
// the workload run under it.
func TestSeccompDockerDefaultProfile(t *testing.T) {
	cases := []struct {
		name string
		nnp  bool
		uid  uint32
	}{
		{"no_new_privs", true, 0},
		{"privileged load", false, 0},
		{"privileged load, user 1000", false, 1000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.uid != 0 {
				// Whether a non-root process.user runs at all is not up
				// to seccomp: check without a profile first.
				ctl := newBundle(t, "true")
				ctl.Spec.Process.User = specs.User{UID: c.uid, GID: c.uid}
				ctl.Spec.Process.NoNewPrivileges = c.nnp
				if r := ctl.Run(); r.Code != 0 {
					t.Skipf("a container as uid %d fails without seccomp too:\n%s", c.uid, r)
				}
			}
			b := newBundle(t, "sh", "-c", "ls / >/dev/null && echo ok; id -u; grep Seccomp /proc/self/status; unshare -m true || echo unshare denied")
			b.Spec.Linux.Seccomp = dockerProfile(t)
			b.Spec.Process.NoNewPrivileges = c.nnp
			b.Spec.Process.User = specs.User{UID: c.uid, GID: c.uid}
			r := b.Run()
			if r.Code != 0 {
				t.Fatalf("busybox under Docker's profile failed:\n%s", r)
			}
			contains(t, r.Stdout, "ok\n")
			contains(t, r.Stdout, "Seccomp:\t2\n")
			contains(t, r.Stdout, "unshare denied")
			contains(t, r.Stdout, strconv.FormatUint(uint64(c.uid), 10)+"\n")
		})
	}
}

// A strict profile that allows what the init's last steps and the
// workload need, but not the Go runtime's idle syscalls (sysmon's
// nanosleep), must survive the gap between create and start that
// containerd leaves: the filter goes on the init's exec thread only then,
// as in runc.
func TestSeccompStrictProfileSurvivesCreateStartGap(t *testing.T) {
	idle := map[string]bool{"nanosleep": true, "clock_nanosleep": true, "sched_yield": true, "epoll_pwait": true, "epoll_pwait2": true, "epoll_wait": true}
	var allow []string
	for _, n := range dockerProfile(t).Syscalls[0].Names {
		if !idle[n] {
			allow = append(allow, n)
		}
	}
	b := newBundle(t, "true")
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActKillProcess,
		Syscalls:      []specs.LinuxSyscall{{Names: allow, Action: specs.ActAllow}},
	}
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	time.Sleep(time.Second)
	b.MustSkiff("start", b.ID)
	waitFor(t, 10*time.Second, "the container to stop", func() bool { return b.Status() == "stopped" })
}

// exec'd processes get the container's filter too.
func TestSeccompExec(t *testing.T) {
	b := newBundle(t, "sleep", "1000")
	b.Spec.Linux.Seccomp = denyMkdir(specs.ActErrno, errnoRet(30))
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	r := b.Skiff("exec", b.ID, "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/y; echo rc=$?")
	contains(t, r.Stdout, "Seccomp:\t2\n")
	contains(t, r.Stdout, "rc=1")
	contains(t, r.Stderr+r.Stdout, "Read-only file system")
}

func TestSeccompBadProfile(t *testing.T) {
	b := newBundle(t)
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{
			Names: []string{"kill"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 7, Value: 1, Op: "SCMP_CMP_ABOUT"}},
		}},
	}
	b.Save()
	r := expectCreateFails(t, b, "linux.seccomp.syscalls[0].args[0].index", "linux.seccomp.syscalls[0].args[0].op")
	notContains(t, r.Stderr, "panic")
	if r := b.Run(); r.Code == 0 || !strings.Contains(r.Stderr, "linux.seccomp.syscalls[0].args[0].index") {
		t.Fatalf("run must fail the same way:\n%s", r)
	}
}

var (
	agentOnce sync.Once
	agentBin  string
	agentErr  error
)

// buildAgent builds tests/seccompagent once per test run.
func buildAgent(t *testing.T) string {
	t.Helper()
	agentOnce.Do(func() {
		if p := prebuiltHelper("seccompagent"); p != "" {
			agentBin = p
			return
		}
		// Next to the rootfs template: TestMain removes that directory.
		agentBin = filepath.Join(filepath.Dir(template), "seccompagent")
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		out, err := exec.Command(goBin, "build", "-o", agentBin, "../seccompagent").CombinedOutput()
		if err != nil {
			agentErr = err
			agentBin = string(out)
		}
	})
	if agentErr != nil {
		t.Fatalf("build tests/seccompagent: %v\n%s", agentErr, agentBin)
	}
	return agentBin
}

type seccompAgent struct {
	socket, states string
	log            *lockedBuffer
}

// startAgent runs the agent answering mkdir with errno (0: fake success).
func startAgent(t *testing.T, errno string) *seccompAgent {
	t.Helper()
	dir := t.TempDir()
	a := &seccompAgent{socket: filepath.Join(dir, "agent.sock"), states: filepath.Join(dir, "states.jsonl"), log: &lockedBuffer{}}
	cmd := exec.Command(buildAgent(t), "-socket", a.socket, "-syscalls", "mkdir,mkdirat", "-errno", errno, "-state", a.states)
	cmd.Stdout, cmd.Stderr = a.log, a.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("agent log:\n%s", a.log)
		}
	})
	waitFor(t, 10*time.Second, "the agent's socket", func() bool {
		_, err := os.Stat(a.socket)
		return err == nil
	})
	return a
}

func (a *seccompAgent) received(t *testing.T) []specs.ContainerProcessState {
	t.Helper()
	data, _ := os.ReadFile(a.states)
	var out []specs.ContainerProcessState
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		var st specs.ContainerProcessState
		if err := json.Unmarshal([]byte(l), &st); err != nil {
			t.Fatalf("agent got a bad state %q: %v", l, err)
		}
		out = append(out, st)
	}
	return out
}

func notifyMkdir(a *seccompAgent) *specs.LinuxSeccomp {
	s := denyMkdir(specs.ActNotify, nil)
	s.ListenerPath = a.socket
	s.ListenerMetadata = "from-the-test"
	return s
}

func TestSeccompNotifyAgent(t *testing.T) {
	a := startAgent(t, "123") // ENOMEDIUM
	b := newBundle(t, "sh", "-c", "mkdir /tmp/x; echo rc=$?")
	b.Spec.Linux.Seccomp = notifyMkdir(a)
	r := b.Run()
	contains(t, r.Stderr+r.Stdout, "No medium found")
	contains(t, r.Stdout, "rc=1")
	sts := a.received(t)
	if len(sts) != 1 {
		t.Fatalf("want one state at the agent, got %d", len(sts))
	}
	st := sts[0]
	if st.Version == "" || len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName || st.Pid <= 0 ||
		st.Metadata != "from-the-test" || st.State.ID != b.ID || st.State.Status != specs.StateCreating || st.State.Bundle != b.Dir {
		t.Fatalf("agent got %+v", st)
	}
	contains(t, a.log.String(), "from pid")
}

// The agent may also claim success without running the syscall; exec'd
// processes get their own listener, sent with status running.
func TestSeccompNotifyFakeSuccessAndExec(t *testing.T) {
	a := startAgent(t, "0")
	b := newBundle(t, "sleep", "1000")
	b.Spec.Linux.Seccomp = notifyMkdir(a)
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	r := b.MustSkiff("exec", b.ID, "sh", "-c", "mkdir /tmp/y && echo made; ls -d /tmp/y 2>/dev/null || echo absent")
	contains(t, r.Stdout, "made\n")
	contains(t, r.Stdout, "absent\n")
	sts := a.received(t)
	if len(sts) != 2 || sts[0].State.Status != specs.StateCreating || sts[1].State.Status != specs.StateRunning {
		t.Fatalf("want a creating then a running state at the agent, got %+v", sts)
	}
}

// Without an agent there is nobody to answer: create fails naming
// listenerPath, and leaves nothing.
func TestSeccompNotifyAgentMissing(t *testing.T) {
	b := newBundle(t)
	b.Spec.Linux.Seccomp = denyMkdir(specs.ActNotify, nil)
	b.Spec.Linux.Seccomp.ListenerPath = filepath.Join(t.TempDir(), "nobody.sock")
	b.Save()
	expectCreateFails(t, b, "linux.seccomp.listenerPath")
}

func TestSeccompNotifyOnWriteRefused(t *testing.T) {
	b := newBundle(t)
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		ListenerPath:  "/run/agent.sock",
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"write"}, Action: specs.ActNotify}},
	}
	b.Save()
	expectCreateFails(t, b, "linux.seccomp.syscalls[0].names[0]", "SCMP_ACT_NOTIFY cannot be used for write")
}

func TestSeccompFeatures(t *testing.T) {
	b := newBundle(t)
	r := b.MustSkiff("features")
	var f struct {
		Linux struct {
			Seccomp struct {
				Enabled        bool     `json:"enabled"`
				Actions        []string `json:"actions"`
				SupportedFlags []string `json:"supportedFlags"`
			} `json:"seccomp"`
		} `json:"linux"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil {
		t.Fatal(err)
	}
	if !f.Linux.Seccomp.Enabled || len(f.Linux.Seccomp.Actions) == 0 || f.Annotations["io.github.seccomp.libseccomp.version"] == "" {
		t.Fatalf("features lack seccomp:\n%s", r.Stdout)
	}
}
