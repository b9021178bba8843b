package libct

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/cgroups"
	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/hooks"
	"github.com/skiff-runtime/skiff/libct/notify"
	"github.com/skiff-runtime/skiff/libct/phase"
	"github.com/skiff-runtime/skiff/libct/process"
	"github.com/skiff-runtime/skiff/libct/proto"
	"github.com/skiff-runtime/skiff/libct/rootfs"
	"github.com/skiff-runtime/skiff/libct/spec"
	"github.com/skiff-runtime/skiff/libct/state"
	"github.com/skiff-runtime/skiff/libct/undo"
	"github.com/skiff-runtime/skiff/seccomp"
)

// CreateOpts are the create flags.
type CreateOpts struct {
	ID     string
	Bundle string // absolute
	Spec   *specs.Spec
	// ConsoleSocket is a connected --console-socket (terminal only).
	ConsoleSocket *os.File
	NoPivot       bool
	NoNewKeyring  bool
	// ListenFDs and PreserveFDs: fds 3.. passed to the container.
	ListenFDs   int
	PreserveFDs int
	// Stdio for the init; nil entries inherit ours.
	Stdio [3]*os.File
	// Env is appended to process.env (LISTEN_*, NOTIFY_SOCKET).
	Env []string
	// NotifySocket is the caller's NOTIFY_SOCKET: the container gets a
	// socket of its own, which start proxies (libct/notify).
	NotifySocket string
	// StartsAtOnce: the caller starts the container right after (run). Its
	// init then waits the moment for start in Go: the park in C
	// (init/park.h) pays for itself in the time a container stays
	// created, and costs run an extra execve.
	StartsAtOnce bool
}

// namespace flags by spec type.
var nsFlags = map[specs.LinuxNamespaceType]int{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// Validate checks a bundle's config completely: the spec itself, the
// seccomp profile and what the cgroup driver can apply on this host. Every
// problem is reported at once.
func Validate(g *Options, s *specs.Spec, bundle string, noPivot bool) error {
	var errs spec.Errors
	if err := spec.Validate(s, spec.Options{Bundle: bundle, Rootless: g.Rootless, NoPivot: noPivot, Systemd: g.SystemdCgroup}); err != nil {
		var se spec.Errors
		if !errors.As(err, &se) {
			return err
		}
		errs = append(errs, se...)
	}
	if s.Linux != nil && s.Linux.Seccomp != nil {
		errs.Merge(seccomp.Validate(s.Linux.Seccomp))
	}
	if s.Linux != nil {
		errs.Merge(cgroups.Check(cgroupConfig(g, "", s)))
	}
	return errs.OrNil()
}

func cgroupConfig(g *Options, id string, s *specs.Spec) cgroups.Config {
	c := cgroups.Config{ID: id, Systemd: g.SystemdCgroup, Rootless: g.Rootless, Annotations: s.Annotations}
	if s.Linux != nil {
		c.Path = s.Linux.CgroupsPath
		c.Resources = s.Linux.Resources
		c.Devices = s.Linux.Devices
	}
	return c
}

// normalize makes root.path and relative bind sources absolute against the
// bundle, as every later step works with absolute host paths.
func normalize(s *specs.Spec, bundle string) {
	if s.Root != nil && !filepath.IsAbs(s.Root.Path) {
		s.Root.Path = filepath.Join(bundle, s.Root.Path)
	}
	// The rootfs is handled through descriptors whose paths the kernel
	// reports resolved, so a root.path through a symlink (the rootfs
	// itself, or a directory above it) is used as its real path. runc
	// refuses such a path; a missing one is left for Validate to report.
	if s.Root != nil && s.Root.Path != "" {
		if real, err := filepath.EvalSymlinks(s.Root.Path); err == nil {
			s.Root.Path = real
		}
	}
	for i := range s.Mounts {
		m := &s.Mounts[i]
		if m.Source == "" || filepath.IsAbs(m.Source) {
			continue
		}
		if m.Type == "bind" || hasOpt(m.Options, "bind") || hasOpt(m.Options, "rbind") {
			m.Source = filepath.Join(bundle, m.Source)
		}
	}
}

func hasOpt(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// Create makes a container and leaves its init parked, fully set up, until
// Start. On failure everything it made is removed again.
func Create(g *Options, o *CreateOpts) (c *Container, err error) {
	s := o.Spec
	if err := state.ValidID(o.ID); err != nil {
		return nil, err
	}
	normalize(s, o.Bundle)
	phase.Mark("create: start")
	if err := Validate(g, s, o.Bundle, o.NoPivot); err != nil {
		return nil, err
	}
	phase.Mark("create: validated")
	var prog *seccomp.Program
	if s.Linux != nil && s.Linux.Seccomp != nil {
		prog, err = seccomp.CompileCached(s.Linux.Seccomp, filepath.Join(g.Root, ".cache", "seccomp"))
		if err != nil {
			return nil, err
		}
	}
	if err := state.MkRoot(g.Root); err != nil {
		return nil, err
	}
	dir, err := state.Create(g.Root, o.ID)
	if err != nil {
		return nil, err
	}
	var u undo.Stack
	defer func() {
		if err != nil {
			u.Unwind()
		}
	}()
	// A create that fails once it began making the container destroys it,
	// and destroying a container ends with its poststop hooks (runtime
	// spec lifecycle steps 12-13; runc does the same): they undo what
	// prestart/createRuntime hooks may have set up. They run last.
	if s.Hooks != nil && len(s.Hooks.Poststop) > 0 {
		u.Push("run poststop hooks", func() error {
			st := &specs.State{Version: specs.Version, ID: o.ID, Status: specs.StateStopped, Bundle: o.Bundle, Annotations: s.Annotations}
			if errs := hooks.RunAll(hooks.Poststop, s.Hooks.Poststop, st, nil); len(errs) > 0 {
				return errs[0]
			}
			return nil
		})
	}
	u.Push("remove state directory "+dir.Path, dir.Remove)
	if o.NotifySocket != "" {
		env, err := notify.Setup(s, dir.Path)
		if err != nil {
			return nil, err
		}
		o.Env = append(o.Env, env)
	}

	rootfsPath := s.Root.Path
	st := &state.State{
		ID:           o.ID,
		Phase:        state.PhaseCreating,
		OCIVersion:   s.Version,
		Bundle:       o.Bundle,
		Rootfs:       rootfsPath,
		Annotations:  s.Annotations,
		Created:      time.Now().UTC(),
		NoNewKeyring: o.NoNewKeyring,
		Rootless:     g.Rootless,
		Systemd:      g.SystemdCgroup,
		Hooks:        &state.Hooks{},
	}
	if s.Hooks != nil {
		st.Hooks.Poststart = len(s.Hooks.Poststart) > 0
		st.Hooks.Poststop = len(s.Hooks.Poststop) > 0
	}
	ownPidNS := false
	if s.Linux != nil {
		for _, ns := range s.Linux.Namespaces {
			st.Namespaces = append(st.Namespaces, string(ns.Type))
			if ns.Type == specs.PIDNamespace && ns.Path == "" {
				ownPidNS = true
			}
		}
	}
	// A joined PID namespace (a path) has its own init elsewhere: killing
	// ours leaves the other processes of the container running, as with no
	// PID namespace at all (runc treats both alike).
	st.SharedPidNS = !ownPidNS

	// The cgroup is recorded in the state before it exists, so that a
	// create killed at any later point leaves enough for delete --force.
	var cg cgroups.Manager
	if s.Linux != nil {
		cg, err = cgroups.New(cgroupConfig(g, o.ID, s))
		if err != nil {
			return nil, err
		}
		saved, err := cgroups.Marshal(cg.Saved())
		if err != nil {
			return nil, err
		}
		st.Cgroup = saved
	}
	if err := dir.Save(st); err != nil {
		return nil, err
	}
	phase.Mark("create: state saved")
	c = &Container{opts: g, ID: o.ID, State: st, dir: dir.Path, cg: cg}

	sp := &spawn{passFDs: o.ListenFDs + o.PreserveFDs, stdio: o.Stdio, dir: rootfsPath, scratch: dir.Path, parkInGo: o.StartsAtOnce}
	sp.lateCgroups = cg != nil && lateCgroupsOK(g, cg, s)
	if cg != nil && !sp.lateCgroups {
		if err := cg.Create(); err != nil {
			return nil, err
		}
		u.Push("remove cgroup", func() error { _ = cg.KillAll(unix.SIGKILL); return cg.Destroy() })
		if err := addCgroupAttachment(sp, cg); err != nil {
			return nil, err
		}
		phase.Mark("create: cgroups made")
	}

	cfg := &proto.InitConfig{
		Mode:         proto.ModeStandard,
		ID:           o.ID,
		Bundle:       o.Bundle,
		Rootfs:       rootfsPath,
		Spec:         initSpec(s, proto.ModeStandard),
		Process:      s.Process,
		NoPivot:      o.NoPivot,
		NoNewKeyring: o.NoNewKeyring,
		Rootless:     g.Rootless,
		Debug:        g.Debug,
		PassFDs:      o.ListenFDs + o.PreserveFDs,
		Env:          o.Env,
		ConsoleFd:    -1,
		LogFd:        -1,
		// The exec FIFO comes with the answer to the init's ready.
		FifoFd: -1,
		State:  c.SpecState(StatusCreating, 1),
	}
	if cg != nil {
		cfg.CgroupPaths = cg.Paths()
	}
	if o.ConsoleSocket != nil {
		cfg.ConsoleFd = sp.addFile(o.ConsoleSocket, false)
	}
	if prog != nil {
		if cfg.Seccomp, err = prog.MarshalJSON(); err != nil {
			return nil, err
		}
	}
	if err := addNamespaces(sp, s); err != nil {
		return nil, err
	}
	if s.Process.OOMScoreAdj != nil {
		sp.directive("oom %d", *s.Process.OOMScoreAdj)
	}
	sp.directive("setsid")

	var p *started
	if sp.lateCgroups {
		p, err = startWithLateCgroups(sp, cg, &u)
	} else {
		p, err = sp.start()
	}
	if err != nil {
		return nil, err
	}
	phase.Mark("create: init started")
	defer p.close()
	u.Push("kill the container's init", func() error { p.kill(); return nil })

	if err := sendConfig(p.conn, cfg); err != nil {
		return nil, err
	}
	// While the init starts its Go runtime and builds the rootfs (~5 ms),
	// make the files only needed later: on a disk-backed state root each
	// new inode costs 0.5-1 ms (ext4 skipping recently freed inodes), and
	// none of them is needed before the init is ready. A create killed
	// before config.json exists leaves nothing that needs it: no hook has
	// run yet (delete --force then skips the poststop hooks).
	if err := dir.SaveConfig(s); err != nil {
		return nil, err
	}
	fifoFile, err := makeExecFifo(dir.Path, s)
	if err != nil {
		return nil, err
	}
	defer fifoFile.Close()
	pending, err := dir.PrepareSave()
	if err != nil {
		return nil, err
	}
	defer pending.Discard()
	phase.Mark("create: files made")
	if err := c.serveInit(p, s, cg, fifoFile, pending); err != nil {
		return nil, c.explainFailure(err, cg, "the container's init", 0, s)
	}
	phase.Mark("create: init ready")
	u.Release()
	dir.Unlock()
	return c, nil
}

// birthPreparer makes what the first process must be born into, before
// Create (cgroups v1 on a hybrid host: the cgroup2 directory).
type birthPreparer interface {
	PrepareBirth() (dir *os.File, undo func(), err error)
}

// lateCgroupsOK tells whether the init can enter its namespaces while the
// cgroups are made (spawn.lateCgroups): with the v1 driver, where it joins
// through the tasks files; on a hybrid host the cgroup2 directory, which
// CLONE_INTO_CGROUP needs before the process exists, is made first. Not on
// v2 (one directory, needed at birth) nor with systemd, which starts the
// scope with the pid; nor rootless (a hierarchy it cannot use is left out
// while the cgroups are made), nor a new user namespace (its id maps use
// the same socket).
func lateCgroupsOK(g *Options, cg cgroups.Manager, s *specs.Spec) bool {
	if _, ok := cg.(birthPreparer); !ok || g.Rootless || cg.Saved().Driver != cgroups.DriverV1 {
		return false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return false
		}
	}
	return true
}

// startWithLateCgroups starts the init, makes the cgroups while its
// constructor creates the namespaces (the network namespace alone is
// ~1 ms), then hands it the tasks files to join before it forks into the
// pid namespace.
func startWithLateCgroups(sp *spawn, cg cgroups.Manager, u *undo.Stack) (*started, error) {
	dir, unmake, err := cg.(birthPreparer).PrepareBirth()
	if err != nil {
		return nil, err
	}
	if dir != nil {
		sp.cgroupDir = dir
		sp.closeAfter = append(sp.closeAfter, dir)
	}
	sp.directive("cgroup-later")
	b, err := sp.begin()
	if err != nil {
		unmake()
		return nil, err
	}
	if err := cg.Create(); err != nil {
		p, err := b.fail(err)
		unmake()
		return p, err
	}
	u.Push("remove cgroup", func() error { _ = cg.KillAll(unix.SIGKILL); return cg.Destroy() })
	att, err := cg.Attachment()
	if err != nil {
		return b.fail(err)
	}
	if att.Dir != nil {
		att.Dir.Close() // the init was born in it
	}
	phase.Mark("create: cgroups made")
	return b.finish(att.TaskFiles)
}

// makeExecFifo makes the exec FIFO start opens, and returns an O_PATH
// handle of it for the init.
func makeExecFifo(dir string, s *specs.Spec) (*os.File, error) {
	fifo := filepath.Join(dir, state.FifoFile)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo %s: %w", fifo, err)
	}
	// mkfifo applied our umask (0600 with the usual 022), and a container
	// process that is not root would then be refused opening it to park.
	if err := os.Chmod(fifo, 0o622); err != nil {
		return nil, fmt.Errorf("chmod exec fifo %s: %w", fifo, err)
	}
	if uid, gid := rootIDs(s); uid != 0 || gid != 0 {
		if err := os.Chown(fifo, uid, gid); err != nil {
			return nil, fmt.Errorf("chown exec fifo to the container's root (%d:%d): %w", uid, gid, err)
		}
	}
	f, err := os.OpenFile(fifo, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	return f, nil
}

// initSpec is the part of s the init reads (init/, libct/rootfs). It goes
// as JSON, and decoding it is among the init's largest costs: ~1 ms cold
// for a small config, several times that with a default seccomp profile
// of 300 syscall names. The process travels on its own and the seccomp
// profile compiled; resources, poststart and poststop hooks and
// annotations are the parent's business. An exec'd process reads only the
// personality.
func initSpec(s *specs.Spec, mode string) *specs.Spec {
	if mode == proto.ModeSetns {
		t := &specs.Spec{Version: s.Version}
		if s.Linux != nil && s.Linux.Personality != nil {
			t.Linux = &specs.Linux{Personality: s.Linux.Personality}
		}
		return t
	}
	t := *s
	t.Process = nil
	t.Annotations = nil
	if s.Hooks != nil {
		h := *s.Hooks
		h.Poststart, h.Poststop = nil, nil
		t.Hooks = &h
	}
	if s.Linux != nil {
		l := *s.Linux
		l.Resources = nil
		l.Seccomp = nil
		t.Linux = &l
	}
	return &t
}

func addCgroupAttachment(sp *spawn, cg cgroups.Manager) error {
	att, err := cg.Attachment()
	if err != nil {
		return err
	}
	for _, f := range att.TaskFiles {
		sp.directive("cgroup %d", sp.addFile(f, true))
	}
	if att.Dir != nil {
		sp.cgroupDir = att.Dir
		sp.closeAfter = append(sp.closeAfter, att.Dir)
	}
	if att.NeedApply {
		sp.attach = cg.Apply
	}
	return nil
}

// addNamespaces turns the spec's namespaces into constructor directives:
// joins for those with a path (opened here, in the runtime's mount
// namespace, where the paths mean what the user meant), unshare for the
// rest, id maps and time offsets.
func addNamespaces(sp *spawn, s *specs.Spec) error {
	if s.Linux == nil {
		return nil
	}
	unshare := 0
	for i, ns := range s.Linux.Namespaces {
		flag, ok := nsFlags[ns.Type]
		if !ok {
			return fmt.Errorf("linux.namespaces[%d].type: unknown namespace type %q", i, ns.Type)
		}
		if ns.Path == "" {
			unshare |= flag
			continue
		}
		f, err := os.Open(ns.Path)
		if err != nil {
			return fmt.Errorf("linux.namespaces[%d].path %s: %w", i, ns.Path, err)
		}
		sp.directive("setns %d %d", sp.addFile(f, true), flag)
		if flag == unix.CLONE_NEWPID || flag == unix.CLONE_NEWTIME {
			sp.fork = true
		}
	}
	if unshare&(unix.CLONE_NEWPID|unix.CLONE_NEWTIME) != 0 {
		sp.fork = true
	}
	if unshare != 0 {
		sp.directive("unshare %d", unshare)
	}
	if unshare&unix.CLONE_NEWUSER != 0 {
		sp.userMap = func(pid int) error { return writeIDMaps(pid, s.Linux) }
	}
	if len(s.Linux.TimeOffsets) > 0 {
		mono, boot := s.Linux.TimeOffsets["monotonic"], s.Linux.TimeOffsets["boottime"]
		sp.directive("timens %d %d %d %d", mono.Secs, mono.Nanosecs, boot.Secs, boot.Nanosecs)
	}
	if sp.fork {
		sp.directive("fork")
	}
	return nil
}

func writeIDMaps(pid int, lx *specs.Linux) error {
	format := func(ms []specs.LinuxIDMapping) string {
		var b strings.Builder
		for _, m := range ms {
			fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		return b.String()
	}
	base := "/proc/" + strconv.Itoa(pid) + "/"
	if err := os.WriteFile(base+"uid_map", []byte(format(lx.UIDMappings)), 0); err != nil {
		return fmt.Errorf("linux.uidMappings: write %suid_map: %w", base, err)
	}
	if err := os.WriteFile(base+"gid_map", []byte(format(lx.GIDMappings)), 0); err != nil {
		return fmt.Errorf("linux.gidMappings: write %sgid_map: %w", base, err)
	}
	return nil
}

// rootIDs returns the host uid and gid that container root maps to.
func rootIDs(s *specs.Spec) (int, int) {
	if s.Linux == nil {
		return 0, 0
	}
	find := func(ms []specs.LinuxIDMapping) int {
		for _, m := range ms {
			if m.ContainerID == 0 {
				return int(m.HostID)
			}
		}
		return 0
	}
	return find(s.Linux.UIDMappings), find(s.Linux.GIDMappings)
}

func sendConfig(conn *proto.Conn, cfg *proto.InitConfig) error {
	b, err := genjson.Encode(cfg, proto.EncodeInitConfig)
	if err != nil {
		return fmt.Errorf("encode init config: %w", err)
	}
	return conn.Send(&proto.Message{Type: proto.TypeConfig, Config: b})
}

// serveInit answers the init's requests until it parks on the exec FIFO
// (closing the socket) or fails.
func (c *Container) serveInit(p *started, s *specs.Spec, cg cgroups.Manager, fifo *os.File, pending *state.Pending) error {
	ready := false
	for {
		m, fds, err := p.conn.Recv()
		for _, fd := range fds {
			unix.Close(fd)
		}
		if err != nil {
			if errors.Is(err, proto.ErrClosed) {
				// The init closes the socket when it parks on the exec
				// FIFO, or dies: tell the two apart.
				if why := p.exited(); why != "" {
					return fmt.Errorf("the container's init exited during set-up (%s)", why)
				}
				if !ready {
					return errors.New("the container's init closed its socket before it was ready")
				}
				return nil
			}
			return err
		}
		switch m.Type {
		case proto.TypeHooks:
			st := c.SpecState(StatusCreating, p.pid)
			if err := hooks.Run(hooks.Prestart, s.Hooks.Prestart, st, nil); err != nil { //nolint:staticcheck // Docker still sends prestart hooks
				return c.replyError(p, err)
			}
			if err := hooks.Run(hooks.CreateRuntime, s.Hooks.CreateRuntime, st, nil); err != nil {
				return c.replyError(p, err)
			}
		case proto.TypeSeccomp:
			if err := c.forwardListener(p, m.Fd, s, StatusCreating); err != nil {
				return c.replyError(p, err)
			}
		case proto.TypeReady:
			if err := process.SetRlimits(p.pid, s.Process.Rlimits); err != nil {
				return c.replyError(p, err)
			}
			start, err := StartTime(p.pid)
			if err != nil {
				return c.replyError(p, fmt.Errorf("read the start time of the container's init: %w", err))
			}
			// The init may park on the FIFO (which it gets with the
			// answer) while state.json is written: create returns only
			// after both, and a failed save kills the init (undo) before
			// anyone can start it.
			if err := p.conn.Send(&proto.Message{Type: proto.TypeOK}, int(fifo.Fd())); err != nil {
				return err
			}
			c.State.Pid = p.pid
			c.State.PidStart = start
			c.State.Phase = state.PhaseCreated
			if cg != nil {
				// Now with the parent directories Create made.
				if c.State.Cgroup, err = cgroups.Marshal(cg.Saved()); err != nil {
					return err
				}
			}
			if err := pending.Save(c.State); err != nil {
				return err
			}
			ready = true
			continue
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

func (c *Container) replyError(p *started, err error) error {
	_ = p.conn.Send(&proto.Message{Type: proto.TypeError, Error: &proto.Error{Msg: err.Error()}})
	return err
}

// forwardListener copies the init's seccomp listener fd (by number, with
// pidfd_getfd) and hands it to the agent at listenerPath.
func (c *Container) forwardListener(p *started, fdnum int, s *specs.Spec, status string) error {
	fd, err := unix.PidfdGetfd(p.pidfd, fdnum, 0)
	if err != nil {
		return fmt.Errorf("linux.seccomp: copy the listener fd from the init: pidfd_getfd: %w", err)
	}
	defer unix.Close(fd)
	st := specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      p.pid,
		Metadata: s.Linux.Seccomp.ListenerMetadata,
		State:    *c.SpecState(status, p.pid),
	}
	return seccomp.SendListener(s.Linux.Seccomp.ListenerPath, fd, st)
}

func logInit(m *proto.Message) {
	lvl, err := logrus.ParseLevel(m.Level)
	if err != nil {
		lvl = logrus.InfoLevel
	}
	logrus.StandardLogger().Log(lvl, m.Msg)
}

// explainFailure adds what the kernel knows: a process the OOM killer
// took while it was being set up (who: "the container's init", "the
// exec'd process") looks like a broken pipe otherwise. oomBefore is the
// cgroup's OOM kill count before the process was started.
func (c *Container) explainFailure(err error, cg cgroups.Manager, who string, oomBefore uint64, s *specs.Spec) error {
	if cg == nil {
		return err
	}
	n, cerr := cg.OOMKillCount()
	if cerr != nil || n <= oomBefore {
		return err
	}
	limit := "the memory limit of its cgroup or of a parent"
	if s != nil && s.Linux != nil && s.Linux.Resources != nil && s.Linux.Resources.Memory != nil &&
		s.Linux.Resources.Memory.Limit != nil && *s.Linux.Resources.Memory.Limit > 0 {
		limit = fmt.Sprintf("linux.resources.memory.limit (%d bytes)", *s.Linux.Resources.Memory.Limit)
	}
	return fmt.Errorf("%s was OOM-killed while being set up: raise %s (%w)", who, limit, err)
}

// DefaultDevices is what every container gets besides linux.devices.
var DefaultDevices = rootfs.DefaultDevices
