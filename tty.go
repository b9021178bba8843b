package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"

	ctconsole "github.com/skiff-runtime/skiff/libct/console"
)

// foregroundTTY is the terminal of a foreground `run` or `exec` whose
// process has process.terminal: skiff plays the role of the console-socket
// receiver itself, puts the user's terminal in raw mode and copies both
// ways, resizing the container's pty when the user's terminal changes size.
type foregroundTTY struct {
	recv, send *os.File // the two ends of the internal console socket
	master     *os.File
	host       console.Console // the user's terminal, nil if stdin is not one
	copied     sync.WaitGroup
}

func newForegroundTTY() (*foregroundTTY, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create the console socket pair: %w", err)
	}
	return &foregroundTTY{
		recv: os.NewFile(uintptr(fds[0]), "console-recv"),
		send: os.NewFile(uintptr(fds[1]), "console-send"),
	}, nil
}

// consoleSocket is what the init sends the pty master to.
func (t *foregroundTTY) consoleSocket() *os.File { return t.send }

// attach receives the master (the init has sent it by the time create or
// exec returns) and starts copying.
func (t *foregroundTTY) attach() error {
	t.send.Close()
	master, err := ctconsole.RecvFd(t.recv)
	t.recv.Close()
	if err != nil {
		return err
	}
	t.master = master
	if c, err := console.ConsoleFromFile(os.Stdin); err == nil {
		if err := c.SetRaw(); err != nil {
			return fmt.Errorf("put the terminal in raw mode: %w", err)
		}
		t.host = c
		t.resize()
	} else {
		// Output goes to a pipe or file: no "\r\n" translation then.
		_ = console.ClearONLCR(master.Fd())
	}
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	t.copied.Add(1)
	go func() {
		defer t.copied.Done()
		// EIO is how a pty master reports that the peer side closed.
		_, err := io.Copy(os.Stdout, master)
		if err != nil && !errors.Is(err, unix.EIO) {
			fmt.Fprintf(os.Stderr, "skiff: copy container output: %v\n", err)
		}
	}()
	return nil
}

// resize gives the container's pty the size of the user's terminal.
func (t *foregroundTTY) resize() {
	if t.host == nil || t.master == nil {
		return
	}
	ws, err := t.host.Size()
	if err != nil {
		return
	}
	_ = unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Height, Col: ws.Width})
}

// close waits for the last output and restores the user's terminal.
func (t *foregroundTTY) close() {
	if t.master != nil {
		t.copied.Wait()
		t.master.Close()
	}
	if t.host != nil {
		_ = t.host.Reset()
	}
	if t.send != nil {
		t.send.Close()
	}
	if t.recv != nil {
		t.recv.Close()
	}
}
