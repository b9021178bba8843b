package libct

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/phase"
	"github.com/skiff-runtime/skiff/libct/proto"
	"github.com/skiff-runtime/skiff/libct/selfexe"
	"github.com/skiff-runtime/skiff/libct/timerslack"
)

// spawn describes one `skiff init` process to start.
type spawn struct {
	// passFDs are fds of ours (3, 4, ...) that keep their numbers in the
	// child and reach the workload: LISTEN_FDS, then --preserve-fds.
	passFDs int
	stdio   [3]*os.File
	// files are extra fds for the init; add them with addFile.
	files []*os.File
	// closeAfter are our copies of child-only fds, closed once it started.
	closeAfter []*os.File
	boot       strings.Builder
	// cgroupDir, when set, is a cgroup v2 directory the first process is
	// born in (clone3 CLONE_INTO_CGROUP).
	cgroupDir *os.File
	// fork: the constructor forks once more (new or joined pid/time ns).
	fork bool
	// userMap writes the id maps of the new user namespace of pid.
	userMap func(pid int) error
	// attach runs once the first process exists, before it reads its
	// bootstrap (systemd driver: create the scope with that pid).
	attach func(pid int) error
	dir    string
	// scratch is a directory for the sealed-binary overlay.
	scratch string
	// parkInGo: a new container's init waits for start in Go, not in the
	// constructor's park (CreateOpts.StartsAtOnce).
	parkInGo bool
	// lateCgroups: the cgroup task files come in finish, after begin.
	lateCgroups bool
}

// addFile passes f to the child and returns its fd number there.
func (s *spawn) addFile(f *os.File, childOnly bool) int {
	s.files = append(s.files, f)
	if childOnly {
		s.closeAfter = append(s.closeAfter, f)
	}
	return 3 + s.passFDs + len(s.files) - 1
}

func (s *spawn) directive(format string, a ...any) {
	fmt.Fprintf(&s.boot, format+"\n", a...)
}

// started is a running init: its pid, a pidfd, and the socket to it.
type started struct {
	pid   int
	pidfd int
	conn  *proto.Conn
}

// kill stops the init and waits for it (we are its parent: reap it).
func (p *started) kill() {
	if p.pidfd >= 0 {
		_ = unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0)
		var info unix.Siginfo
		_ = unix.Waitid(unix.P_PIDFD, p.pidfd, &info, unix.WEXITED, nil)
	} else if p.pid > 0 {
		_ = unix.Kill(p.pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(p.pid, &ws, 0, nil)
	}
}

// exited reports how the init ended if it has, without reaping it ("" if
// it still runs).
func (p *started) exited() string {
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PIDFD, p.pidfd, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		return ""
	}
	pid, code, status := siginfoChild(&info)
	if pid == 0 {
		return ""
	}
	switch code {
	case cldKilled, cldDumped:
		return "killed by signal " + unix.SignalName(unix.Signal(status))
	}
	return fmt.Sprintf("exit status %d", status)
}

func (p *started) close() {
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
	if p.conn != nil {
		p.conn.Close()
	}
}

// start execs `skiff init` from a sealed view of our own binary, sends it
// the bootstrap orders for the constructor and serves the constructor's
// requests until it reports the pid of the process that continues as init.
func (s *spawn) start() (*started, error) {
	b, err := s.begin()
	if err != nil {
		return nil, err
	}
	return b.finish(nil)
}

// booting is an init that has its bootstrap orders and enters its
// namespaces.
type booting struct {
	s     *spawn
	first *forked
	p     *started
}

// fail stops the init and returns err.
func (b *booting) fail(err error) (*started, error) {
	b.first.killAndReap()
	if b.p.pid != b.first.pid {
		b.p.kill()
	}
	b.p.close()
	b.first.close()
	return nil, err
}

// begin is the first half of start: the init runs and has its orders.
// With s.lateCgroups its constructor enters its namespaces while the caller
// makes the cgroups, and waits in finish for their task files.
func (s *spawn) begin() (*booting, error) {
	exe, err := selfexe.Open(s.scratch)
	if err != nil {
		return nil, fmt.Errorf("prepare a sealed copy of skiff to run as the container's init: %w", err)
	}
	phase.Mark("spawn: sealed exe")
	// Released in the background once the init is started (its unmount
	// waits for an RCU grace period, View.Close), else here.
	background := false
	defer func() {
		if background {
			go exe.Close()
		} else {
			exe.Close()
		}
	}()
	parent, child, err := proto.Pair()
	if err != nil {
		return nil, err
	}
	sockFd := s.addFile(child.File(), true)
	exeFd := s.addFile(exe.File, false)

	// nil stdio means ours (inherit).
	for i, def := range []*os.File{os.Stdin, os.Stdout, os.Stderr} {
		if s.stdio[i] == nil {
			s.stdio[i] = def
		}
	}
	files := make([]uintptr, 0, 3+s.passFDs+len(s.files))
	for _, f := range s.stdio {
		files = append(files, f.Fd())
	}
	for i := 0; i < s.passFDs; i++ {
		files = append(files, uintptr(3+i))
	}
	for _, f := range s.files {
		files = append(files, f.Fd())
	}
	sys := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if s.cgroupDir != nil {
		sys.UseCgroupFD = true
		sys.CgroupFD = int(s.cgroupDir.Fd())
	}
	attr := &syscall.ProcAttr{Dir: s.dir, Env: initEnv(sockFd, exeFd, s.parkInGo), Files: files, Sys: sys}
	// Executing /proc/self/fd/N of the child runs the sealed view, so
	// /proc/<init>/exe never points at the installed binary. syscall's
	// ForkExec, not os/exec: os.StartProcess first probes pidfd support by
	// forking a throw-away child (~0.3 ms in every skiff that spawns).
	path, argv := "/proc/self/fd/"+strconv.Itoa(exeFd), []string{os.Args[0], "init"}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil && s.cgroupDir != nil {
		// CLONE_INTO_CGROUP can be refused (EBUSY for a cgroup with domain
		// controllers in some layouts, old kernels): start it outside and
		// move it in through the same directory before it reads its
		// bootstrap.
		sys.UseCgroupFD = false
		if pid, err = syscall.ForkExec(path, argv, attr); err == nil {
			if perr := joinCgroupDir(s.cgroupDir, pid); perr != nil {
				c := newForked(pid)
				c.killAndReap()
				c.close()
				err = perr
			}
		}
	}
	for _, f := range s.closeAfter {
		f.Close()
	}
	phase.Mark("spawn: started")
	if err != nil {
		parent.Close()
		return nil, fmt.Errorf("start the container's init: %w", err)
	}
	background = true
	b := &booting{s: s, first: newForked(pid), p: &started{pid: pid, pidfd: -1, conn: parent}}
	if s.attach != nil {
		if err := s.attach(b.first.pid); err != nil {
			_, err = b.fail(err)
			return nil, err
		}
	}
	if err := sendRaw(parent, s.boot.String()); err != nil {
		_, err = b.fail(err)
		return nil, err
	}
	return b, nil
}

// finish sends the cgroup task files (lateCgroups: the constructor
// writes to them once its namespaces exist) and serves the constructor
// until it reports the pid of the process that continues as init.
func (b *booting) finish(tasks []*os.File) (*started, error) {
	s, first, p, parent, fail := b.s, b.first, b.p, b.p.conn, b.fail
	defer first.close()
	if s.lateCgroups {
		fds := make([]int, len(tasks))
		for i, f := range tasks {
			fds[i] = int(f.Fd())
		}
		err := unix.Sendmsg(int(parent.File().Fd()), []byte("cgroups"), unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL)
		for _, f := range tasks {
			f.Close()
		}
		if err != nil {
			return fail(fmt.Errorf("send the cgroup task files to the init: %w", err))
		}
	}
	for {
		m, _, err := parent.Recv()
		if err != nil {
			if errors.Is(err, proto.ErrClosed) {
				return fail(fmt.Errorf("the container's init exited while entering its namespaces%s", first.exitReason()))
			}
			return fail(err)
		}
		switch m.Type {
		case proto.TypeUserMap:
			if s.userMap == nil {
				return fail(errors.New("init protocol: unexpected user map request"))
			}
			if err := s.userMap(first.pid); err != nil {
				return fail(err)
			}
			if err := sendRaw(parent, "ok"); err != nil {
				return fail(err)
			}
		case proto.TypePid:
			p.pid = m.Pid
			if s.fork {
				// The intermediate process exits right after reporting.
				if err := first.reap(); err != nil {
					return fail(fmt.Errorf("reap the init's intermediate process: %w", err))
				}
			}
			fd, err := unix.PidfdOpen(p.pid, 0)
			if err != nil {
				return fail(fmt.Errorf("the container's init (pid %d) is gone: %w", p.pid, err))
			}
			p.pidfd = fd
			return p, nil
		case proto.TypeError:
			return fail(m.Error)
		default:
			return fail(fmt.Errorf("init protocol: unexpected %q message while entering namespaces", m.Type))
		}
	}
}

// initEnv is the init's whole environment: the bootstrap socket, and the
// fd of the sealed binary it was executed from, which stays open across
// execve and which the init closes at once (nothing of the host may stay
// with the parked init, CVE-2024-21626 class).
//
// The caller's timer slack (libct/timerslack): the init inherits skiff's
// and gives the workload the caller's.
//
// GODEBUG: since Go 1.25 the runtime opens its cgroup's CPU limit files
// at start and keeps them open for the life of the process, to follow
// limit changes; in the init that is a host cgroupfs fd held through
// pivot_root by the parked init. The init runs with GOMAXPROCS 1 anyway.
func initEnv(sockFd, exeFd int, parkInGo bool) []string {
	env := append([]string{
		"_SKIFF_BOOTSTRAP=" + strconv.Itoa(sockFd),
		"_SKIFF_EXE_FD=" + strconv.Itoa(exeFd),
		"GODEBUG=containermaxprocs=0,updatemaxprocs=0",
		"GOMAXPROCS=1",
	}, append(timerslack.EnvVar(), phase.Env()...)...)
	// SKIFF_PARK=go: a created container waits for start in the Go init,
	// not in the constructor's park (init/park.h); for tests and
	// comparisons.
	if parkInGo || os.Getenv("SKIFF_PARK") == "go" {
		env = append(env, "_SKIFF_PARK_GO=1")
	}
	return env
}

func sendRaw(c *proto.Conn, s string) error {
	if err := unix.Sendmsg(int(c.File().Fd()), []byte(s), nil, nil, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("send bootstrap data to the init: %w", err)
	}
	return nil
}

// forked is the process we forked, held by a pidfd so that it can be
// signalled and waited for without ever hitting a reused pid.
type forked struct {
	pid, fd int
	reaped  bool
}

func newForked(pid int) *forked {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		// Not reaped yet, so the pid is still ours (kernels without pidfds).
		fd = -1
	}
	return &forked{pid: pid, fd: fd}
}

// reap waits for the child to exit.
func (c *forked) reap() error {
	if c.reaped {
		return nil
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(c.pid, &ws, 0, nil)
		if err != unix.EINTR {
			c.reaped = err == nil || errors.Is(err, unix.ECHILD)
			return err
		}
	}
}

// killAndReap stops the child (it may have exited) and reaps it.
func (c *forked) killAndReap() {
	if c.reaped {
		return
	}
	if c.fd >= 0 {
		_ = unix.PidfdSendSignal(c.fd, unix.SIGKILL, nil, 0)
	} else {
		_ = unix.Kill(c.pid, unix.SIGKILL)
	}
	_ = c.reap()
}

// exitReason says how the child ended if it has (reaping it), or "".
func (c *forked) exitReason() string {
	if c.reaped {
		return ""
	}
	var ws unix.WaitStatus
	pid, err := unix.Wait4(c.pid, &ws, unix.WNOHANG, nil)
	if err != nil || pid == 0 {
		return ""
	}
	c.reaped = true
	if ws.Signaled() {
		return fmt.Sprintf(" (killed by signal %s)", unix.SignalName(ws.Signal()))
	}
	return fmt.Sprintf(" (exit status %d)", ws.ExitStatus())
}

func (c *forked) close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// joinCgroupDir moves pid into the cgroup v2 directory dir (an O_PATH
// handle) by writing cgroup.procs.
func joinCgroupDir(dir *os.File, pid int) error {
	fd, err := unix.Openat(int(dir.Fd()), "cgroup.procs", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("join the container's cgroup (clone3 refused CLONE_INTO_CGROUP): open cgroup.procs: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(strconv.Itoa(pid))); err != nil {
		return fmt.Errorf("join the container's cgroup (clone3 refused CLONE_INTO_CGROUP): write %d to cgroup.procs: %w", pid, err)
	}
	return nil
}
