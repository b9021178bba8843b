package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/cgroups"
	"github.com/skiff-runtime/skiff/libct/process"
	"github.com/skiff-runtime/skiff/libct/proto"
	"github.com/skiff-runtime/skiff/seccomp"
)

// ExecOpts are the exec flags that are not part of the process.
type ExecOpts struct {
	ConsoleSocket *os.File
	PreserveFDs   int
	Stdio         [3]*os.File
	IgnorePaused  bool
	// Cgroup: --cgroup sub-cgroup specs.
	Cgroup []string
	// Template: the exec's orders may be saved for the constructor of the
	// next exec of the same command or process JSON (exectemplate.go):
	// no option but --process, --detach and --pid-file.
	Template bool
	// ProcessJSON is the --process file's content (nil for a command).
	ProcessJSON []byte
}

// Exec starts p inside the running container and returns its pid once
// execve succeeded. The process is our child (the caller may wait for it).
func (c *Container) Exec(p *specs.Process, o *ExecOpts) (int, error) {
	switch status := c.Status(); status {
	case StatusRunning, StatusCreated:
	case StatusPaused:
		if !o.IgnorePaused {
			return -1, errors.New("cannot exec in a paused container (use --ignore-paused to override)")
		}
	case StatusStopped:
		return -1, errors.New("cannot exec in a stopped container")
	default:
		return -1, errStatus("exec in", c.ID, status)
	}
	s, err := c.Spec()
	if err != nil {
		return -1, err
	}
	var prog *seccomp.Program
	if s.Linux != nil && s.Linux.Seccomp != nil {
		prog, err = seccomp.CompileCached(s.Linux.Seccomp, filepath.Join(c.opts.Root, ".cache", "seccomp"))
		if err != nil {
			return -1, err
		}
	}
	fast := fastExecEnabled() && fastExecEligible(p, s, prog)
	pid, err := c.exec(p, o, s, prog, fast)
	if err != nil && fast && isFastExecFailure(err) {
		// The workload did not run: try again with the Go init, which
		// fails with the precise reason (or succeeds, if the constructor
		// refused something the Go init can do).
		logrus.Debugf("exec in %s: the constructor's fast exec failed (%v); again through the Go init", c.ID, err)
		pid, err = c.exec(p, o, s, prog, false)
	}
	return pid, err
}

// exec starts p once, finished by the constructor alone (fast) or by the
// init's Go side.
func (c *Container) exec(p *specs.Process, o *ExecOpts, s *specs.Spec, prog *seccomp.Program, fast bool) (int, error) {
	pidfd, err := pidfdFor(c.State.Pid, c.State.PidStart)
	if err != nil {
		return -1, errors.New("cannot exec in a stopped container: its init has exited")
	}
	sp := &spawn{passFDs: o.PreserveFDs, stdio: o.Stdio, dir: "/", scratch: c.dir}
	tpl := &execTemplate{}
	m, err := c.Cgroup()
	if err != nil {
		unix.Close(pidfd)
		return -1, err
	}
	if m != nil {
		var att *cgroups.Attachment
		if len(o.Cgroup) > 0 {
			att, err = m.SubAttachment(o.Cgroup)
		} else {
			att, err = m.Attachment()
		}
		if err != nil {
			unix.Close(pidfd)
			return -1, fmt.Errorf("join the cgroup of container %s: %w", c.ID, err)
		}
		for _, f := range att.TaskFiles {
			sp.directive("cgroup %d", sp.addFile(f, true))
			tpl.tasks = append(tpl.tasks, f.Name())
		}
		if att.Dir != nil {
			sp.cgroupDir = att.Dir
			sp.closeAfter = append(sp.closeAfter, att.Dir)
			tpl.cgroupDir = att.Dir.Name()
		}
		if att.NeedApply {
			sp.attach = m.Apply
		}
		tpl.recheck, tpl.volatile = att.Recheck, att.Volatile || att.NeedApply || len(o.Cgroup) > 0
	}
	// Join every namespace of the init at once through its pidfd
	// (race-free against pid reuse, and atomic for the user namespace).
	flags := 0
	for _, t := range c.State.Namespaces {
		flags |= nsFlags[specs.LinuxNamespaceType(t)]
	}
	tpl.nsFlags = flags
	if flags != 0 {
		sp.directive("setns %d %d", sp.addFile(os.NewFile(uintptr(pidfd), "init-pidfd"), true), flags)
	} else {
		unix.Close(pidfd)
	}
	if flags&(unix.CLONE_NEWPID|unix.CLONE_NEWTIME) != 0 {
		sp.fork = true
		sp.directive("fork")
	}
	if p.OOMScoreAdj != nil {
		sp.directive("oom %d", *p.OOMScoreAdj)
	}
	tpl.fork, tpl.oom = sp.fork, p.OOMScoreAdj
	sp.directive("setsid")
	cfg := &proto.InitConfig{
		Mode:         proto.ModeSetns,
		ID:           c.ID,
		Bundle:       c.State.Bundle,
		Rootfs:       c.State.Rootfs,
		Spec:         initSpec(s, proto.ModeSetns),
		Process:      p,
		NoNewKeyring: c.State.NoNewKeyring,
		Rootless:     c.opts.Rootless,
		Debug:        c.opts.Debug,
		PassFDs:      o.PreserveFDs,
		ConsoleFd:    -1,
		FifoFd:       -1,
		LogFd:        -1,
	}
	if fast {
		tpl.orders, tpl.args, fast = fastExecDirectives(sp, p, cfg, prog)
	}
	if !fast && o.ConsoleSocket != nil {
		cfg.ConsoleFd = sp.addFile(o.ConsoleSocket, false)
	}
	if !fast && prog != nil {
		if cfg.Seccomp, err = prog.MarshalJSON(); err != nil {
			return -1, err
		}
	}
	// The count is the container's whole life's: only a kill during this
	// exec is this process's.
	var oomBefore uint64
	if m != nil {
		oomBefore, _ = m.OOMKillCount()
	}
	started, err := sp.start()
	if err != nil {
		return -1, err
	}
	defer started.close()
	if !fast {
		if err := sendConfig(started.conn, cfg); err != nil {
			started.kill()
			return -1, err
		}
	}
	if err := c.serveExec(started, s, p); err != nil {
		started.kill()
		return -1, c.explainFailure(err, m, "the exec'd process", oomBefore, s)
	}
	if fast && o.Template && !tpl.volatile && !c.opts.Rootless && o.PreserveFDs == 0 && o.ConsoleSocket == nil {
		if o.ProcessJSON != nil {
			// The process's own command is part of its entry.
			tpl.orders += tpl.args
		}
		c.saveExecTemplate(tpl, o.ProcessJSON)
	}
	return started.pid, nil
}

// serveExec answers an exec'd process's requests until its execve closes
// the socket.
func (c *Container) serveExec(p *started, s *specs.Spec, proc *specs.Process) error {
	for {
		m, fds, err := p.conn.Recv()
		for _, fd := range fds {
			unix.Close(fd)
		}
		if err != nil {
			if errors.Is(err, proto.ErrClosed) {
				// EOF without an error: execve succeeded, unless the
				// process died on the way.
				return nil
			}
			return err
		}
		switch m.Type {
		case proto.TypeReady:
			if err := process.SetRlimits(p.pid, proc.Rlimits); err != nil {
				return c.replyError(p, err)
			}
		case proto.TypeSeccomp:
			if err := c.forwardListener(p, m.Fd, s, StatusRunning); err != nil {
				return c.replyError(p, err)
			}
		case proto.TypeLog:
			logInit(m)
			continue
		case proto.TypeError:
			return m.Error
		default:
			return c.replyError(p, fmt.Errorf("init protocol: unexpected %q message", m.Type))
		}
		if err := p.conn.Send(&proto.Message{Type: proto.TypeOK}); err != nil {
			return err
		}
	}
}

// Pause freezes every process of the container.
func (c *Container) Pause() error {
	status := c.Status()
	if status != StatusRunning && status != StatusCreated {
		return errNotRunning
	}
	m, err := c.Cgroup()
	if err != nil {
		return err
	}
	if m == nil {
		return errors.New("container has no cgroup to freeze")
	}
	return m.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if c.Status() != StatusPaused {
		return errors.New("container not paused")
	}
	m, err := c.Cgroup()
	if err != nil {
		return err
	}
	return m.Thaw()
}

// Pids lists every process of the container (host pids).
func (c *Container) Pids() ([]int, error) {
	if c.Status() == StatusStopped {
		return nil, errNotRunning
	}
	m, err := c.Cgroup()
	if err != nil {
		return nil, err
	}
	if m == nil {
		return []int{c.State.Pid}, nil
	}
	return m.Pids()
}
