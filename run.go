package main

import (
	"os"
	"os/signal"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct"
	"github.com/skiff-runtime/skiff/libct/phase"
)

var runCommand = cli.Command{
	Name:      "run",
	Usage:     "create and start a container, wait for it and delete it",
	ArgsUsage: "<container-id>",
	Description: `run is create + start. In the foreground (the default) skiff forwards the
signals it receives to the container, waits for it, deletes it and exits
with its exit status (128+N when killed by signal N). With --detach it
returns once the container runs; its stdio is then skiff's own.`,
	Flags: append(append([]cli.Flag{}, createFlags...),
		cli.BoolFlag{Name: "detach, d", Usage: "return once the container's process has started"},
		cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		cli.BoolFlag{Name: "no-subreaper", Usage: "do not make skiff a child subreaper"},
	),
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, true); err != nil {
			return err
		}
		pidFile, err := pidFilePath(ctx)
		if err != nil {
			return err
		}
		id := ctx.Args().First()
		g := globalOptions(ctx)
		if ctx.Bool("detach") {
			c, err := createContainer(ctx, id, true)
			if err != nil {
				return err
			}
			sock, host, err := listenNotify(c)
			if err != nil {
				_ = libct.Delete(g, id, true)
				return err
			}
			defer sock.Close()
			if err := c.Start(); err != nil {
				_ = libct.Delete(g, id, true)
				return err
			}
			if err := writePidFile(pidFile, c.State.Pid); err != nil {
				_ = libct.Delete(g, id, true)
				return err
			}
			if sock != nil {
				return c.ForwardNotify(sock, host, c.State.Pid)
			}
			return nil
		}
		return runForeground(ctx, g, id, pidFile)
	},
}

func runForeground(ctx *cli.Context, g *libct.Options, id, pidFile string) error {
	if !ctx.Bool("no-subreaper") {
		// Orphans of a container without its own PID namespace come to us.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	// Catch signals from now on, so none is lost while the container is
	// being created; every one of them once it starts.
	sigs := make(chan os.Signal, 128)
	allSigs := notifyAll(sigs)

	c, tty, err := createContainerTTY(ctx, id, false)
	if err != nil {
		return err
	}
	if tty != nil {
		defer tty.close()
	}
	phase.Mark("run: created")
	cleanup := func() {
		if !ctx.Bool("keep") {
			if err := libct.Delete(g, id, true); err != nil {
				logrus.Warnf("delete container %s: %v", id, err)
			}
		}
	}
	sock, host, err := listenNotify(c)
	if err != nil {
		cleanup()
		return err
	}
	defer sock.Close()
	<-allSigs
	if err := c.Start(); err != nil {
		cleanup()
		return err
	}
	if sock != nil {
		// In the foreground skiff is the service's main process, as in runc.
		go func() {
			if err := c.ForwardNotify(sock, host, os.Getpid()); err != nil {
				logrus.Warn(err)
			}
		}()
	}
	if err := writePidFile(pidFile, c.State.Pid); err != nil {
		_ = c.Signal(unix.SIGKILL, true)
		cleanup()
		return err
	}
	phase.Mark("run: started")
	status := waitForeground(c.State.Pid, sigs, tty)
	phase.Mark("run: exited")
	cleanup()
	phase.Mark("run: deleted")
	if status != 0 {
		return &exitError{code: status}
	}
	return nil
}

// notifyAll makes sigs receive every signal: a foreground run or exec
// forwards them all to the container. signal.Notify costs a round trip
// with the Go runtime's signal thread for each signal (0.8 ms for all 65
// here, and signal.Stop as much again, which is why nothing calls it at
// exit): the signals that would end skiff are caught at once, the others
// in the background, while the container is being made. The returned
// channel is closed once all are caught.
func notifyAll(sigs chan os.Signal) <-chan struct{} {
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGCHLD)
	done := make(chan struct{})
	go func() {
		signal.Notify(sigs)
		close(done)
	}()
	return done
}

// waitForeground forwards signals to pid until it exits and returns its
// exit status (128+N for signal N). SIGWINCH resizes the terminal.
func waitForeground(pid int, sigs chan os.Signal, tty *foregroundTTY) int {
	if st, done := reap(pid); done {
		return st
	}
	for s := range sigs {
		sig := s.(unix.Signal)
		switch sig {
		case unix.SIGCHLD:
			if st, done := reap(pid); done {
				return st
			}
		case unix.SIGWINCH:
			if tty != nil {
				tty.resize()
			}
		case unix.SIGURG, unix.SIGPIPE:
			// SIGURG is the Go runtime's own preemption signal.
		default:
			_ = unix.Kill(pid, sig)
		}
	}
	return 255
}

// reap collects exited children without blocking; it reports the init's
// status once the init is among them. Other children are orphans we
// inherited as subreaper.
func reap(pid int) (int, bool) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got <= 0 {
			return 0, false
		}
		if got == pid {
			if ws.Signaled() {
				return 128 + int(ws.Signal()), true
			}
			return ws.ExitStatus(), true
		}
	}
}
