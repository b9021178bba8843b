package containerinit

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/hooks"
	"github.com/skiff-runtime/skiff/libct/phase"
	"github.com/skiff-runtime/skiff/libct/process"
	"github.com/skiff-runtime/skiff/libct/proto"
	"github.com/skiff-runtime/skiff/libct/rootfs"
	"github.com/skiff-runtime/skiff/libct/timerslack"
	"github.com/skiff-runtime/skiff/seccomp"
)

type initProc struct {
	conn *proto.Conn
	cfg  *proto.InitConfig
}

func hasNS(s *specs.Spec, t specs.LinuxNamespaceType) (present, created bool) {
	if s.Linux == nil {
		return false, false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return true, ns.Path == ""
		}
	}
	return false, false
}

// standard sets up a new container and execs its process once `start`
// opens the exec FIFO.
func (i *initProc) standard() error {
	c := i.cfg
	s := c.Spec
	p := c.Process

	if !c.NoNewKeyring {
		if err := joinSessionKeyring(c.ID, p.SelinuxLabel); err != nil {
			return stage("keyring", err)
		}
	}
	if _, created := hasNS(s, specs.NetworkNamespace); created {
		if err := loopbackUp(); err != nil {
			return stage("network", err)
		}
	}
	_, userns := hasNS(s, specs.UserNamespace)
	userPresent, _ := hasNS(s, specs.UserNamespace)
	_, cgroupns := hasNS(s, specs.CgroupNamespace)
	root, err := rootfs.Prepare(&rootfs.Config{
		Spec:        s,
		Rootfs:      c.Rootfs,
		NoPivot:     c.NoPivot,
		CgroupPaths: c.CgroupPaths,
		UserNS:      userns || userPresent,
		CgroupNS:    cgroupns,
	})
	if err != nil {
		return stage("rootfs", err)
	}
	defer root.Close()
	phase.Mark("init: mounts done")

	if s.Hooks != nil && (len(s.Hooks.Prestart) > 0 || len(s.Hooks.CreateRuntime) > 0) { //nolint:staticcheck // prestart is deprecated but Docker sends it
		if _, err := i.roundTrip(proto.TypeHooks); err != nil {
			return err
		}
	}
	if s.Hooks != nil && len(s.Hooks.CreateContainer) > 0 {
		// In the container's namespaces, before pivot_root: the hook path is
		// resolved on the host, cwd is the rootfs.
		if err := unix.Chdir(c.Rootfs); err != nil {
			return stage("hooks", fmt.Errorf("chdir to the rootfs for createContainer hooks: %w", err))
		}
		// The pid as the hook's own pid namespace sees it (runc: getpid()).
		st := *c.State
		st.Pid = os.Getpid()
		if err := hooks.Run(hooks.CreateContainer, s.Hooks.CreateContainer, &st, p.Env); err != nil {
			return stage("hooks", err)
		}
	}
	if err := root.Pivot(); err != nil {
		return stage("pivot", err)
	}
	phase.Mark("init: pivoted")
	if err := reopenDevNull(); err != nil {
		return stage("stdio", err)
	}
	if err := mkdirCwd(p.Cwd); err != nil {
		return stage("cwd", err)
	}
	if p.Terminal {
		if err := setupConsole(c.ConsoleFd, p.ConsoleSize, true, int(p.User.UID)); err != nil {
			return stage("console", err)
		}
	}
	if err := root.Finalize(); err != nil {
		return stage("rootfs", err)
	}
	// The rootfs handle is not needed any more: the parked init should
	// hold as little as possible.
	root.Close()
	phase.Mark("init: finalized")
	umask := 0o022
	if p.User.Umask != nil {
		umask = int(*p.User.Umask)
	}
	unix.Umask(umask)
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return stage("hostname", fmt.Errorf("hostname %q: sethostname: %w", s.Hostname, err))
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return stage("hostname", fmt.Errorf("domainname %q: setdomainname: %w", s.Domainname, err))
		}
	}
	if s.Linux != nil && len(s.Linux.Sysctl) > 0 {
		if err := writeSysctls(s.Linux.Sysctl); err != nil {
			return stage("sysctl", err)
		}
	}
	return i.finish(s.Linux)
}

// finish is common to a new container's init and an exec'd process: from
// "ready" to execve.
func (i *initProc) finish(lx *specs.Linux) error {
	c := i.cfg
	p := c.Process
	// This thread execs the workload (and forks the startContainer hooks):
	// the caller's timer slack, not skiff's; before seccomp may deny prctl.
	if err := timerslack.ForExec(); err != nil {
		return stage("exec", fmt.Errorf("restore the timer slack: %w", err))
	}
	caps, err := process.ResolveCaps(p.Capabilities)
	if err != nil {
		return stage("capabilities", err)
	}
	if skipped := caps.AmbientSkipped(); len(skipped) > 0 {
		i.log("debug", fmt.Sprintf("process.capabilities.ambient: %v not raised: an ambient capability must also be permitted and inheritable", skipped))
	}
	if err := applyProcessAttrs(p, lx); err != nil {
		return stage("process", err)
	}
	fds, err := i.roundTrip(proto.TypeReady)
	if err != nil {
		return err
	}
	if c.Mode == proto.ModeStandard {
		// The exec FIFO comes with the answer (the parent makes it while
		// we build the rootfs).
		if len(fds) != 1 {
			return stage("exec", fmt.Errorf("init protocol: the answer to ready carried %d fds, not the exec fifo", len(fds)))
		}
		c.FifoFd = fds[0]
	} else {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	phase.Mark("init: ready acked")
	// LSM labels take effect at execve; set them while still privileged
	// (runc: after the ready sync, before seccomp and the user switch).
	if err := process.ApplyAppArmor(p.ApparmorProfile); err != nil {
		return stage("apparmor", err)
	}
	if err := process.SetSELinuxExecLabel(p.SelinuxLabel); err != nil {
		return stage("selinux", err)
	}
	// The parent set the rlimits with prlimit. Go caches the NOFILE limit
	// it found at start and restores it on exec; setting it ourselves
	// clears that cache so the container gets the configured value.
	var nofile unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile) == nil {
		_ = setrlimitClearCache(&nofile)
	}
	prog, err := loadSeccompProgram(c.Seccomp)
	if err != nil {
		return stage("seccomp", err)
	}
	park := canParkInC(c, prog)
	if p.NoNewPrivileges {
		if err := process.NoNewPrivileges(); err != nil {
			return stage("process", err)
		}
	}
	// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
	// now, before the switch to the container user drops it.
	if prog != nil && !p.NoNewPrivileges {
		if err := i.loadSeccomp(prog); err != nil {
			return err
		}
	}
	if err := caps.DropBounding(); err != nil {
		return stage("capabilities", err)
	}
	fixStdioOwner(int(p.User.UID), int(p.User.GID))
	cwdErr := unix.Chdir(p.Cwd)
	if err := process.SwitchUser(p.User); err != nil {
		return stage("user", err)
	}
	if cwdErr != nil {
		// The cwd may be reachable only by the container user (a volume
		// chowned to it): retry now that we are that user.
		if err := unix.Chdir(p.Cwd); err != nil {
			return stage("cwd", fmt.Errorf("process.cwd %s: chdir: %w", p.Cwd, err))
		}
	}
	if err := verifyCwd(); err != nil {
		return stage("cwd", err)
	}
	if err := caps.Apply(); err != nil {
		return stage("capabilities", err)
	}
	if len(p.Args) == 0 {
		return stage("exec", fmt.Errorf("process.args: must not be empty"))
	}
	env := process.BuildEnv(p.Env, c.Env, p.User.UID)
	path, err := process.LookPath(p.Args[0], env)
	if err != nil {
		return stage("exec", err)
	}
	if err := process.Explain(path); err != nil {
		return stage("exec", err)
	}
	if prog != nil && p.NoNewPrivileges && !park {
		// As late as possible: the profile then only has to allow execve.
		if err := i.loadSeccomp(prog); err != nil {
			return err
		}
	}
	if c.Mode == proto.ModeSetns {
		return i.execSetns(path, env)
	}
	if !park {
		prog = nil
	}
	return i.waitStartAndExec(path, env, park, prog)
}

// log sends a log line to the parent, which re-logs it at that level.
func (i *initProc) log(level, msg string) {
	if i.cfg.Debug || level != "debug" {
		_ = i.conn.Send(&proto.Message{Type: proto.TypeLog, Level: level, Msg: msg})
	}
}

// roundTrip sends a sync message and waits for the parent's answer, and
// returns the fds that came with it (close-on-exec).
func (i *initProc) roundTrip(t string) ([]int, error) {
	if err := i.conn.Send(&proto.Message{Type: t}); err != nil {
		return nil, err
	}
	_, fds, err := i.conn.Expect(proto.TypeOK)
	if err != nil {
		if errors.Is(err, proto.ErrClosed) {
			os.Exit(255)
		}
		var pe *proto.Error
		if errors.As(err, &pe) {
			// The parent failed (a hook, rlimits): it reports the error
			// itself; just go away.
			os.Exit(255)
		}
	}
	return fds, err
}

// waitStartAndExec parks the init until `start`: it closes the sync socket
// (so `create` returns), blocks opening the exec FIFO for writing until
// `start` opens it for reading, writes one byte and then execs. The FIFO is
// close-on-exec: `start` reads until EOF, which comes exactly when execve
// succeeds, or reads an error message written here if it fails.
//
// With park, the wait happens in the constructor (park.h), which also loads
// prog, the seccomp filter left to it; here only if that exec fails.
func (i *initProc) waitStartAndExec(path string, env []string, park bool, prog *seccomp.Program) error {
	c := i.cfg
	// From here on the container must outlive `create`.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return stage("exec", fmt.Errorf("clear the parent-death signal: %w", err))
	}
	i.conn.Close()
	if park {
		// Returns only if the park could not be executed (nobody to tell:
		// create has returned): wait here instead, with the filter the
		// park would have loaded.
		_ = parkInC(c, path, env, prog)
		if prog != nil {
			if err := i.loadSeccomp(prog); err != nil {
				fmt.Fprintf(os.Stderr, "skiff init: %v\n", err)
				os.Exit(255)
			}
		}
	}
	fifo, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(c.FifoFd), os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		// create has returned: nobody reads the sync socket any more, and
		// start will only see the init gone. Say why where a person looks.
		fmt.Fprintf(os.Stderr, "skiff init: open the exec fifo to wait for start: %v\n", err)
		os.Exit(255)
	}
	unix.Close(c.FifoFd)
	if _, err := fifo.Write([]byte{0}); err != nil {
		os.Exit(255)
	}
	s := c.Spec
	if s.Hooks != nil && len(s.Hooks.StartContainer) > 0 {
		st := *c.State
		st.Status = specs.StateCreated
		st.Pid = os.Getpid()
		if err := hooks.Run(hooks.StartContainer, s.Hooks.StartContainer, &st, env); err != nil {
			fmt.Fprintf(fifo, "%s", err)
			os.Exit(255)
		}
	}
	closeExtraFDs(c.PassFDs, int(fifo.Fd()))
	phase.Mark("init: exec")
	err = unix.Exec(path, c.Process.Args, env)
	fmt.Fprintf(fifo, "exec %s: %s", path, execError(path, err))
	os.Exit(execExitCode(err))
	return nil
}

// execSetns: an exec'd process has no FIFO. The sync socket is
// close-on-exec, so the parent sees EOF when execve succeeds, or an error
// message when it fails.
func (i *initProc) execSetns(path string, env []string) error {
	// The process must outlive `exec --detach`.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return stage("exec", fmt.Errorf("clear the parent-death signal: %w", err))
	}
	closeExtraFDs(i.cfg.PassFDs, int(i.conn.File().Fd()))
	err := unix.Exec(path, i.cfg.Process.Args, env)
	return stage("exec", fmt.Errorf("exec %s: %s", path, execError(path, err)))
}

func execError(path string, err error) string {
	if why := process.Explain(path); why != nil {
		return why.Error()
	}
	return err.Error()
}

func execExitCode(err error) int {
	if errors.Is(err, unix.ENOENT) {
		return 127
	}
	return 126
}
