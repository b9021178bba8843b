package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct"
	"github.com/skiff-runtime/skiff/libct/notify"
	"github.com/skiff-runtime/skiff/libct/spec"
	"github.com/skiff-runtime/skiff/libct/state"
)

// createFlags are shared by create and run.
var createFlags = []cli.Flag{
	cli.StringFlag{Name: "bundle, b", Value: "", Usage: "path to the bundle directory (default: the current directory)"},
	cli.StringFlag{Name: "console-socket", Value: "", Usage: "unix socket that receives the pty master when process.terminal is true"},
	cli.StringFlag{Name: "pid-file", Value: "", Usage: "write the container's init pid to this file"},
	cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE and chroot instead of pivot_root (for a rootfs on ramfs)"},
	cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring instead of a new one per container"},
	cli.IntFlag{Name: "preserve-fds", Usage: "pass this many extra fds (after 0-2 and LISTEN_FDS) to the container"},
	cli.StringFlag{Name: "pidfd-socket", Usage: "accepted for compatibility; not implemented"},
}

// createContainer is create's work, shared with run. detach says the
// container's stdio is the caller's own (conmon and the shim pass pipes
// they own); the terminal then needs a console socket.
func createContainer(ctx *cli.Context, id string, detach bool) (*libct.Container, error) {
	c, _, err := createContainerTTY(ctx, id, detach)
	return c, err
}

// createContainerTTY is createContainer that also returns the foreground
// terminal it set up (run without --detach and with process.terminal).
func createContainerTTY(ctx *cli.Context, id string, detach bool) (_ *libct.Container, tty *foregroundTTY, err error) {
	g := globalOptions(ctx)
	if err := state.ValidID(id); err != nil {
		return nil, nil, err
	}
	bundle := ctx.String("bundle")
	if bundle == "" {
		bundle = "."
	}
	bundle, err = filepath.Abs(bundle)
	if err != nil {
		return nil, nil, fmt.Errorf("--bundle: %w", err)
	}
	s, err := spec.Load(bundle)
	if err != nil {
		return nil, nil, err
	}
	if s.Process == nil {
		return nil, nil, errors.New("invalid config.json: process: is required to create a container")
	}
	o := &libct.CreateOpts{
		ID:           id,
		Bundle:       bundle,
		Spec:         s,
		NoPivot:      ctx.Bool("no-pivot"),
		NoNewKeyring: ctx.Bool("no-new-keyring"),
		PreserveFDs:  ctx.Int("preserve-fds"),
		NotifySocket: os.Getenv("NOTIFY_SOCKET"),
		StartsAtOnce: ctx.Command.Name == "run",
	}
	if o.PreserveFDs < 0 {
		return nil, nil, fmt.Errorf("--preserve-fds %d: must not be negative", o.PreserveFDs)
	}
	sock := ctx.String("console-socket")
	switch {
	case s.Process.Terminal && sock == "" && detach:
		return nil, nil, errors.New("cannot allocate tty if skiff will detach without setting console socket (process.terminal is true: pass --console-socket, or run in the foreground)")
	case !s.Process.Terminal && sock != "":
		return nil, nil, errors.New("cannot use console socket if skiff will not detach or allocate tty (process.terminal is false)")
	case sock != "":
		f, err := dialConsole(sock)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		o.ConsoleSocket = f
	case s.Process.Terminal:
		// Foreground with a terminal: skiff receives the pty itself.
		if tty, err = newForegroundTTY(); err != nil {
			return nil, nil, err
		}
		// The returns below set the named tty to nil before deferred
		// calls run: close the one made here.
		made := tty
		defer func() {
			if err != nil {
				made.close()
			}
		}()
		o.ConsoleSocket = tty.consoleSocket()
	}
	// Socket activation: fds 3.. are passed first when LISTEN_PID is us.
	if pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID")); pid == os.Getpid() {
		if n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS")); n > 0 {
			o.ListenFDs = n
			o.Env = append(o.Env, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
		}
	}
	if err := passFDs(o.ListenFDs, o.PreserveFDs); err != nil {
		return nil, nil, err
	}
	c, err := libct.Create(g, o)
	if err != nil {
		return nil, nil, err
	}
	if tty != nil {
		if err := tty.attach(); err != nil {
			_ = libct.Delete(g, id, true)
			return nil, nil, err
		}
	}
	return c, tty, nil
}

func dialConsole(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("--console-socket %s: %w (is the receiver listening?)", path, err)
	}
	uc := conn.(*net.UnixConn)
	f, err := uc.File()
	uc.Close()
	if err != nil {
		return nil, fmt.Errorf("--console-socket %s: %w", path, err)
	}
	return f, nil
}

// pidFilePath resolves --pid-file against the directory skiff was started
// in (runc's rule), before anything changes directory.
func pidFilePath(ctx *cli.Context) (string, error) {
	p := ctx.String("pid-file")
	if p == "" {
		return "", nil
	}
	return filepath.Abs(p)
}

// writePidFile writes the decimal pid, no newline, atomically: containerd
// Atoi()s the whole file.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	if err := state.WriteFileAtomic(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}

// loadContainer loads one container by the id argument.
func loadContainer(ctx *cli.Context) (*libct.Container, error) {
	return libct.Load(globalOptions(ctx), ctx.Args().First())
}

// listenNotify binds the container's sd_notify socket when skiff runs
// under a service manager (NOTIFY_SOCKET set): start then proxies READY=.
// It returns nil when there is nothing to proxy.
func listenNotify(c *libct.Container) (*notify.Socket, string, error) {
	host := os.Getenv("NOTIFY_SOCKET")
	if host == "" {
		return nil, "", nil
	}
	sock, err := notify.Listen(c.Dir())
	if err != nil || sock == nil {
		return nil, "", err
	}
	return sock, host, nil
}

// passFDs checks that the caller really passed fds 3 .. 3+listen+preserve-1
// and marks every fd above them close-on-exec, so that nothing else of the
// caller's or of skiff's reaches a hook, the init or the container
// (PITFALLS 2 and 22). An fd that is open but close-on-exec is one of
// skiff's own (Go opens every file O_CLOEXEC; an fd inherited through
// execve cannot be): passing it would leak skiff's epoll or log file.
func passFDs(listen, preserve int) error {
	for fd := 3; fd < 3+listen+preserve; fd++ {
		what := fmt.Sprintf("--preserve-fds %d", preserve)
		if fd < 3+listen {
			what = fmt.Sprintf("LISTEN_FDS=%d", listen)
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			return fmt.Errorf("%s: fd %d is not open in skiff: %w (pass it, or lower the count)", what, fd, err)
		}
		if flags&unix.FD_CLOEXEC != 0 {
			return fmt.Errorf("%s: fd %d was not passed to skiff (pass it, or lower the count)", what, fd)
		}
	}
	first := uint(3 + listen + preserve)
	if err := unix.CloseRange(first, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	// Kernels before 5.11: one fd at a time.
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list skiff's fds to mark them close-on-exec: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= int(first) {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}
