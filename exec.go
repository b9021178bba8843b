package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"

	containerinit "github.com/skiff-runtime/skiff/init"
	"github.com/skiff-runtime/skiff/libct"
	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/process"
	"github.com/skiff-runtime/skiff/libct/spec"
	"github.com/skiff-runtime/skiff/libct/specjson"
)

// exec failures exit 255, so a caller can tell them from the process's
// own exit status (runc, and crun since 2026).
const execFailed = 255

var execCommand = cli.Command{
	Name:      "exec",
	Usage:     "run a new process inside a running container",
	ArgsUsage: "<container-id> <command> [args...]   or   --process process.json <container-id>",
	Description: `The process joins every namespace and the cgroup of the container's init.
Without --process it starts from the container's config.json process with
the given command; the flags below change it. With --process (a runtime-spec
process JSON, what containerd and conmon pass) the process flags are
ignored. skiff exits with the process's status, or 255 if exec failed.`,
	// Everything after the container id is the command, flags included.
	SkipArgReorder: true,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master (with --tty and --detach)"},
		cli.StringFlag{Name: "pidfd-socket", Usage: "accepted for compatibility; not implemented"},
		cli.StringFlag{Name: "cwd", Usage: "working directory inside the container"},
		cli.StringSliceFlag{Name: "env, e", Usage: "set an environment variable (repeatable)"},
		cli.BoolFlag{Name: "tty, t", Usage: "allocate a pseudo-terminal"},
		cli.StringFlag{Name: "user, u", Usage: "uid[:gid] (numeric)"},
		// A string slice: urfave/cli v1's Int64SliceFlag records each value
		// twice when the flag has two names.
		cli.StringSliceFlag{Name: "additional-gids, g", Usage: "additional gid (repeatable)"},
		cli.StringFlag{Name: "process, p", Usage: "path to a runtime-spec process JSON"},
		cli.BoolFlag{Name: "detach, d", Usage: "return once the process has started"},
		cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"},
		cli.StringFlag{Name: "process-label", Usage: "SELinux label of the process"},
		cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile of the process"},
		cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		cli.StringSliceFlag{Name: "cap, c", Usage: "add a capability (repeatable)"},
		cli.IntFlag{Name: "preserve-fds", Usage: "pass this many extra fds (3...) to the process"},
		cli.StringSliceFlag{Name: "cgroup", Usage: "sub-cgroup to join: path, or controller[,controller]:path (v1)"},
		cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
	},
	Action: func(ctx *cli.Context) error {
		// The constructor did this exec and it failed once the process
		// ran (init/execparent.h): only report it.
		if msg, ok := containerinit.FastError(); ok {
			return &codeError{code: execFailed, err: errors.New("exec failed: " + msg)}
		}
		status, err := runExec(ctx)
		if err != nil {
			return &codeError{code: execFailed, err: fmt.Errorf("exec failed: %w", err)}
		}
		if status != 0 {
			return &exitError{code: status}
		}
		return nil
	},
}

func runExec(ctx *cli.Context) (int, error) {
	if ctx.String("process") == "" {
		if err := checkArgs(ctx, 2, false); err != nil {
			return 0, err
		}
	} else if err := checkArgs(ctx, 1, false); err != nil {
		return 0, err
	}
	pidFile, err := pidFilePath(ctx)
	if err != nil {
		return 0, err
	}
	c, err := loadContainer(ctx)
	if err != nil {
		return 0, err
	}
	p, raw, err := execProcess(ctx, c)
	if err != nil {
		return 0, err
	}
	detach := ctx.Bool("detach")
	o := &libct.ExecOpts{
		PreserveFDs:  ctx.Int("preserve-fds"),
		IgnorePaused: ctx.Bool("ignore-paused"),
		Cgroup:       ctx.StringSlice("cgroup"),
		// The exec template keeps what the constructor can then do alone:
		// a command or a process JSON, detached or not, with a pid file.
		Template:    onlyFlags(ctx, "process", "detach", "pid-file"),
		ProcessJSON: raw,
	}
	if o.PreserveFDs < 0 {
		return 0, fmt.Errorf("--preserve-fds %d: must not be negative", o.PreserveFDs)
	}
	if err := passFDs(0, o.PreserveFDs); err != nil {
		return 0, err
	}
	sock := ctx.String("console-socket")
	switch {
	case p.Terminal && detach && sock == "":
		return 0, errors.New("cannot allocate tty if skiff will detach without setting console socket")
	case !p.Terminal && sock != "":
		return 0, errors.New("cannot use console socket if skiff will not detach or allocate tty")
	case sock != "":
		f, err := dialConsole(sock)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		o.ConsoleSocket = f
	}
	var tty *foregroundTTY
	if p.Terminal && !detach && sock == "" {
		if tty, err = newForegroundTTY(); err != nil {
			return 0, err
		}
		defer tty.close()
		o.ConsoleSocket = tty.consoleSocket()
	}
	var sigs chan os.Signal
	var allSigs <-chan struct{}
	if !detach {
		sigs = make(chan os.Signal, 128)
		allSigs = notifyAll(sigs)
	}
	pid, err := c.Exec(p, o)
	if err != nil {
		return 0, err
	}
	if allSigs != nil {
		<-allSigs
	}
	if tty != nil {
		if err := tty.attach(); err != nil {
			_ = unix.Kill(pid, unix.SIGKILL)
			return 0, err
		}
	}
	if err := writePidFile(pidFile, pid); err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		return 0, err
	}
	if detach {
		return 0, nil
	}
	return waitForeground(pid, sigs, tty), nil
}

// onlyFlags: no flag other than these (by their first names) was given.
func onlyFlags(ctx *cli.Context, names ...string) bool {
	for _, f := range ctx.Command.Flags {
		name, _, _ := strings.Cut(f.GetName(), ",")
		if ctx.IsSet(name) && !slices.Contains(names, name) {
			return false
		}
	}
	return true
}

// execProcess builds the process to run: --process JSON as is (returned
// too), or the container's process with the command and flag overrides.
func execProcess(ctx *cli.Context, c *libct.Container) (*specs.Process, []byte, error) {
	if path := ctx.String("process"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("--process: %w", err)
		}
		p := new(specs.Process)
		if err := genjson.Decode(b, p, specjson.DecodeProcess); err != nil {
			return nil, nil, fmt.Errorf("--process %s: invalid process JSON: %w", path, err)
		}
		if errs := spec.ValidateProcess(p, "process"); len(errs) > 0 {
			return nil, nil, fmt.Errorf("--process %s: %w", path, errs)
		}
		return p, b, nil
	}
	p, err := commandProcess(ctx, c)
	return p, nil, err
}

// commandProcess is the container's process with the command line's
// command and overrides.
func commandProcess(ctx *cli.Context, c *libct.Container) (*specs.Process, error) {
	s, err := c.Spec()
	if err != nil {
		return nil, err
	}
	if s.Process == nil {
		return nil, fmt.Errorf("container %s has no process in its config: pass --process", c.ID)
	}
	p := *s.Process
	p.Args = ctx.Args().Tail()
	p.Terminal = ctx.Bool("tty")
	p.ConsoleSize = nil
	if cwd := ctx.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	p.Env = append(append([]string{}, p.Env...), ctx.StringSlice("env")...)
	if u := ctx.String("user"); u != "" {
		uidStr, gidStr, hasGid := strings.Cut(u, ":")
		uid, err := strconv.ParseUint(uidStr, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: bad uid (numeric uid[:gid] only)", u)
		}
		p.User.UID = uint32(uid)
		if hasGid {
			gid, err := strconv.ParseUint(gidStr, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: bad gid (numeric uid[:gid] only)", u)
			}
			p.User.GID = uint32(gid)
		}
	}
	for _, gs := range ctx.StringSlice("additional-gids") {
		g, err := strconv.ParseUint(gs, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--additional-gids %q: must be a gid between 0 and %d", gs, uint32(1<<32-1))
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if caps := ctx.StringSlice("cap"); len(caps) > 0 {
		pc := specs.LinuxCapabilities{}
		if p.Capabilities != nil {
			pc = *p.Capabilities
		}
		for _, name := range caps {
			name = strings.ToUpper(name)
			if !strings.HasPrefix(name, "CAP_") {
				name = "CAP_" + name
			}
			if _, ok := process.CapValue(name); !ok {
				return nil, fmt.Errorf("--cap %s: unknown capability", name)
			}
			pc.Bounding = append(pc.Bounding, name)
			pc.Effective = append(pc.Effective, name)
			pc.Permitted = append(pc.Permitted, name)
			// CVE-2022-29162: never into inheritable; into ambient only when
			// the process already has an inheritable set.
			if len(pc.Inheritable) > 0 {
				pc.Ambient = append(pc.Ambient, name)
			}
		}
		p.Capabilities = &pc
	}
	if ctx.IsSet("no-new-privs") {
		p.NoNewPrivileges = ctx.Bool("no-new-privs")
	}
	if v := ctx.String("apparmor"); v != "" {
		p.ApparmorProfile = v
	}
	if v := ctx.String("process-label"); v != "" {
		p.SelinuxLabel = v
	}
	if errs := spec.ValidateProcess(&p, "process"); len(errs) > 0 {
		return nil, errs
	}
	return &p, nil
}
