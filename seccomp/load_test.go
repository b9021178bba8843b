package seccomp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Loading a filter is for ever, so these tests load it in a child: the
// test binary run again with helperEnv naming the case. The child sets
// no_new_privs, which is all an unprivileged process needs to load one.

const helperEnv = "SKIFF_SECCOMP_TEST_HELPER"

var fdcwd = unix.AT_FDCWD

// atFdcwd is AT_FDCWD (-100) as a raw syscall argument.
var atFdcwd = uintptr(fdcwd)

func child(t *testing.T, name string) (string, *os.ProcessState) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+name, "SKIFF_SECCOMP_TEST_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run the helper: %v", err)
	}
	return string(out), cmd.ProcessState
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("helper output lacks %q:\n%s", l, out)
		}
	}
}

func TestLoadErrno(t *testing.T) {
	out, st := child(t, "errno")
	if st.ExitCode() != 0 {
		t.Fatalf("helper failed (%v):\n%s", st, out)
	}
	wantLines(t, out, "listener=-1", "mkdirat=EPERM", "unlinkat=EROFS", "getpid=ok", "threads filtered=all")
}

func TestLoadDockerProfile(t *testing.T) {
	out, st := child(t, "docker")
	if st.ExitCode() != 0 {
		t.Fatalf("helper failed (%v):\n%s", st, out)
	}
	wantLines(t, out,
		"acct=EPERM",          // not allowed, below the highest named syscall
		"clone3=ENOSYS",       // the profile's own rule, so that glibc falls back to clone
		"mseal=ENOSYS",        // unknown to libseccomp 2.5, newer than the profile: the stub
		"syscall 1000=ENOSYS", // the stub
		"go runtime=ok",
		"threads filtered=all")
}

func TestLoadNotify(t *testing.T) {
	if !kernelAccepts(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		t.Skip("no seccomp listener on this kernel")
	}
	out, st := child(t, "notify")
	if st.ExitCode() != 0 {
		t.Fatalf("helper failed (%v):\n%s", st, out)
	}
	wantLines(t, out, "listener=valid", "notified=mkdirat", "mkdirat=ENOMEDIUM", "mkdir created nothing")
	if kernelAccepts(unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH) {
		wantLines(t, out, "threads filtered=all")
	}
}

// A profile that would trip the Go runtime's threads goes on the loading
// thread only (tsync.go).
func TestLoadThreadOnly(t *testing.T) {
	out, st := child(t, "threadonly")
	if st.ExitCode() != 0 {
		t.Fatalf("helper failed (%v):\n%s", st, out)
	}
	wantLines(t, out, "tsync=false", "this thread=filtered", "other threads=unfiltered")
}

func TestLoadKillProcess(t *testing.T) {
	out, st := child(t, "kill")
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != unix.SIGSYS {
		t.Fatalf("want the helper killed by SIGSYS, got %v:\n%s", st, out)
	}
	if strings.Contains(out, "survived") {
		t.Fatalf("the helper ran on after the killing syscall:\n%s", out)
	}
}

func TestLoadRejectsBadPrograms(t *testing.T) {
	if _, err := (&Program{}).Load(); err == nil {
		t.Error("an empty program must not load")
	}
	if _, err := (&Program{Filter: make([]unix.SockFilter, bpfMaxInsns+1)}).Load(); err == nil {
		t.Error("an oversized program must not load")
	}
}

// TestLoadHelper is the child's side.
func TestLoadHelper(t *testing.T) {
	name := os.Getenv(helperEnv)
	if name == "" {
		t.Skip("the child process of the Load tests")
	}
	runtime.LockOSThread()
	err := helper(name, os.Getenv("SKIFF_SECCOMP_TEST_DIR"))
	if err != nil {
		fmt.Println("helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func helper(name, dir string) error {
	var s *specs.LinuxSeccomp
	switch name {
	case "errno":
		s = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat"}, Action: specs.ActErrno},
			{Names: []string{"unlinkat"}, Action: specs.ActErrno, ErrnoRet: u(uint(unix.EROFS))},
		}}
	case "docker":
		var err error
		if s, err = readDocker(); err != nil {
			return err
		}
	case "notify":
		s = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/unused", Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat"}, Action: specs.ActNotify},
		}}
	case "threadonly":
		s = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"nanosleep"}, Action: specs.ActErrno},
		}}
	case "kill":
		s = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getppid"}, Action: specs.ActKillProcess},
		}}
	default:
		return fmt.Errorf("unknown case %q", name)
	}
	p, err := Compile(s)
	if err != nil {
		return err
	}
	// Several threads before loading, so that TSYNC has work to do.
	started := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		close(started)
		select {}
	}()
	<-started
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	fd, err := p.Load()
	if err != nil {
		return err
	}
	errnoOf := func(_, _ uintptr, e syscall.Errno) string {
		if e == 0 {
			return "ok"
		}
		return unix.ErrnoName(e)
	}
	path, _ := unix.BytePtrFromString(filepath.Join(dir, "made"))
	mkdirat := func() string {
		return errnoOf(unix.Syscall(unix.SYS_MKDIRAT, atFdcwd, uintptr(unsafe.Pointer(path)), 0o755))
	}
	switch name {
	case "errno":
		fmt.Printf("listener=%d\n", fd)
		fmt.Printf("mkdirat=%s\n", mkdirat())
		fmt.Printf("unlinkat=%s\n", errnoOf(unix.Syscall(unix.SYS_UNLINKAT, atFdcwd, uintptr(unsafe.Pointer(path)), 0)))
		fmt.Printf("getpid=%s\n", errnoOf(unix.Syscall(unix.SYS_GETPID, 0, 0, 0)))
	case "docker":
		fmt.Printf("acct=%s\n", errnoOf(unix.Syscall(unix.SYS_ACCT, 0, 0, 0)))
		fmt.Printf("clone3=%s\n", errnoOf(unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)))
		fmt.Printf("mseal=%s\n", errnoOf(unix.Syscall(462, 0, 0, 0)))
		fmt.Printf("syscall 1000=%s\n", errnoOf(unix.Syscall(1000, 0, 0, 0)))
		// The Go runtime's own syscalls still work: threads, GC, timers.
		done := make(chan int)
		for i := 0; i < 8; i++ {
			go func(i int) { b := make([]byte, 1<<20); time.Sleep(time.Millisecond); done <- len(b) + i }(i)
		}
		for i := 0; i < 8; i++ {
			<-done
		}
		runtime.GC()
		fmt.Println("go runtime=ok")
	case "notify":
		if fd < 0 {
			return fmt.Errorf("no listener fd")
		}
		fmt.Println("listener=valid")
		answered := make(chan string, 1)
		go func() {
			req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
			if err != nil {
				answered <- err.Error()
				return
			}
			n, _ := req.Data.Syscall.GetName()
			answered <- n
			_ = libseccomp.NotifRespond(libseccomp.ScmpFd(fd), &libseccomp.ScmpNotifResp{ID: req.ID, Error: int32(unix.ENOMEDIUM)}) // libseccomp-golang negates Error
		}()
		fmt.Printf("mkdirat=%s\n", mkdirat())
		fmt.Printf("notified=%s\n", <-answered)
		if _, err := os.Stat(filepath.Join(dir, "made")); os.IsNotExist(err) {
			fmt.Println("mkdir created nothing")
		}
	case "threadonly":
		fmt.Printf("tsync=%v\n", p.TSync)
		self, others := threadModes()
		fmt.Printf("this thread=%s\nother threads=%s\n", self, others)
		return nil
	case "kill":
		unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
		fmt.Println("survived")
	}
	fmt.Printf("threads filtered=%s\n", threadsFiltered())
	return nil
}

// threadModes says whether the calling thread, and every other thread, is
// filtered.
func threadModes() (self, others string) {
	mode := func(f string) string {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "\nSeccomp:\t2\n") {
			return "filtered"
		}
		return "unfiltered"
	}
	self = mode(fmt.Sprintf("/proc/self/task/%d/status", unix.Gettid()))
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	others = "none"
	for _, f := range tasks {
		if f == fmt.Sprintf("/proc/self/task/%d/status", unix.Gettid()) {
			continue
		}
		if m := mode(f); others == "none" || m == "filtered" {
			others = m
		}
	}
	return self, others
}

// threadsFiltered reads the Seccomp line of every thread: "all" when
// each is in filter mode (2).
func threadsFiltered() string {
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			return err.Error()
		}
		if !strings.Contains(string(b), "\nSeccomp:\t2\n") {
			return "not " + f
		}
	}
	return "all"
}
