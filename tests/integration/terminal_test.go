package integration

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleReceiver is the caller's side of --console-socket, as conmon and
// containerd's go-runc implement it.
type consoleReceiver struct {
	l    *net.UnixListener
	path string
}

func newConsoleReceiver(t *testing.T) *consoleReceiver {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &consoleReceiver{l: l, path: path}
}

// recv accepts one connection and receives the pty master with go-runc's
// and conmon's checks: a short name, exactly one control message of
// exactly CMSG_LEN(sizeof(int)), one fd.
func (c *consoleReceiver) recv(t *testing.T) (*os.File, string) {
	t.Helper()
	c.l.SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := c.l.AcceptUnix()
	if err != nil {
		t.Fatalf("accept on the console socket: %v", err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4)*4)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatalf("receive the pty master: %v", err)
	}
	if n == 0 || n >= 4096 {
		t.Fatalf("name payload of %d bytes", n)
	}
	if oobn != unix.CmsgSpace(4) {
		t.Fatalf("control data of %d bytes, go-runc wants exactly CMSG_SPACE(4) = %d", oobn, unix.CmsgSpace(4))
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 || msgs[0].Header.Len != uint64(unix.CmsgLen(4)) {
		t.Fatalf("want one SCM_RIGHTS message of CMSG_LEN(4), got %v (%v)", msgs, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("want exactly one fd, got %v (%v)", fds, err)
	}
	// Non-blocking so that reads can time out.
	unix.SetNonblock(fds[0], true)
	return os.NewFile(uintptr(fds[0]), "pty-master"), string(buf[:n])
}

// ptyReader collects what a pty master produces, without "\r".
type ptyReader struct {
	out  lockedBuffer
	done chan struct{}
}

func readPty(f *os.File) *ptyReader {
	r := &ptyReader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				r.out.Write([]byte(strings.ReplaceAll(string(buf[:n]), "\r", "")))
			}
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					continue
				}
				return
			}
		}
	}()
	return r
}

func (r *ptyReader) waitFor(t *testing.T, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(r.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %q on the terminal; got:\n%s", want, r.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r.out.String()
}

// marker is a word that appears on the terminal only when the shell ran
// the command (the echoed command line shows the arithmetic, not its value).
func marker(n int) (cmd, out string) {
	return fmt.Sprintf("echo M$((%d+1000))", n), fmt.Sprintf("M%d", n+1000)
}

// PITFALLS 6, CONTRACT §4: the pty comes from the container's own devpts,
// the master reaches the console socket (containerd style: accepted only
// after create returned), consoleSize applies, /dev/console is the pty.
func TestTerminalConsoleSocket(t *testing.T) {
	b := newBundle(t, "sh")
	b.Spec.Process.Terminal = true
	b.Spec.Process.ConsoleSize = &specs.Box{Height: 33, Width: 101}
	b.Save()
	rcv := newConsoleReceiver(t)
	b.MustSkiff("create", "--bundle", b.Dir, "--console-socket", rcv.path, b.ID)
	master, name := rcv.recv(t)
	defer master.Close()
	if name != "/dev/ptmx" {
		t.Errorf("name payload %q, want runc's /dev/ptmx", name)
	}
	ptn, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	out := readPty(master)
	b.MustSkiff("start", b.ID)
	cmd, end := marker(1)
	master.WriteString("stty size; tty; stat -L -c %t:%T /dev/console /proc/self/fd/0; readlink /dev/ptmx; " + cmd + "\n")
	got := out.waitFor(t, end)
	contains(t, got, "33 101\n")
	contains(t, got, fmt.Sprintf("/dev/pts/%d\n", ptn))
	contains(t, got, fmt.Sprintf("88:%x\n88:%x\n", ptn, ptn)) // major 136
	contains(t, got, "pts/ptmx\n")
	master.WriteString("exit 3\n")
	waitFor(t, 10*time.Second, "stopped", func() bool { return b.Status() == "stopped" })
}

// conmon's exec: exec -d -t with a console socket.
func TestTerminalConsoleSocketExec(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	rcv := newConsoleReceiver(t)
	pidFile := filepath.Join(b.Dir, "exec.pid")
	b.MustSkiff("exec", "-d", "-t", "--console-socket", rcv.path, "--pid-file", pidFile, b.ID, "sh")
	master, _ := rcv.recv(t)
	defer master.Close()
	out := readPty(master)
	cmd, end := marker(2)
	master.WriteString("tty; stty size; " + cmd + "\n")
	got := out.waitFor(t, end)
	contains(t, got, "/dev/pts/")
	master.WriteString("exit\n")
	raw, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(string(raw))
	waitFor(t, 10*time.Second, "the exec'd shell to exit", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}

func TestTerminalConsoleSocketMisuse(t *testing.T) {
	b := newBundle(t, "true")
	rcv := newConsoleReceiver(t)
	r := b.Skiff("create", "--bundle", b.Dir, "--console-socket", rcv.path, b.ID)
	if r.Code != 1 {
		t.Fatalf("a console socket without process.terminal must fail:\n%s", r)
	}
	contains(t, r.Stderr, "cannot use console socket")

	b2 := newBundle(t, "sh")
	b2.Spec.Process.Terminal = true
	b2.Save()
	missing := filepath.Join(b2.Dir, "nobody-listens.sock")
	r = b2.Skiff("create", "--bundle", b2.Dir, "--console-socket", missing, b2.ID)
	if r.Code != 1 {
		t.Fatalf("an unreachable console socket must fail:\n%s", r)
	}
	contains(t, r.Stderr, "--console-socket "+missing)
	contains(t, r.Stderr, "is the receiver listening?")
	r = b2.Skiff("run", "-d", "--bundle", b2.Dir, b2.ID)
	if r.Code != 1 {
		t.Fatalf("run -d with a terminal and no console socket must fail:\n%s", r)
	}
	contains(t, r.Stderr, "cannot allocate tty if skiff will detach without setting console socket")
}

// openPty opens a pseudo-terminal pair with /dev/ptmx, the user's side of
// a foreground run: skiff gets the peer as its stdio and controlling tty.
func openPty(t *testing.T) (master, peer *os.File) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(m, true)
	master = os.NewFile(uintptr(m), "host-pty-master")
	t.Cleanup(func() { master.Close(); p.Close() })
	return master, p
}

func foregroundRun(t *testing.T, b *Bundle, peer *os.File) *exec.Cmd {
	t.Helper()
	b.Save()
	cmd := b.command("run", "--bundle", b.Dir, b.ID)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = peer, peer, peer
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitCode(err)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("skiff run did not exit")
	}
	return -1
}

// A person at a shell: skiff run with process.terminal in the foreground
// puts the user's terminal in raw mode, passes keys (^C too) through, gives
// the container the terminal's size and follows its changes, and restores
// the terminal at the end.
func TestTerminalForegroundRunThroughAPty(t *testing.T) {
	hostMaster, peer := openPty(t)
	if err := unix.IoctlSetWinsize(int(hostMaster.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(int(peer.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, "sh")
	b.Spec.Process.Terminal = true
	cmd := foregroundRun(t, b, peer)
	out := readPty(hostMaster)

	c1, m1 := marker(1)
	hostMaster.WriteString("stty size; tty; " + c1 + "\n")
	got := out.waitFor(t, m1)
	contains(t, got, "40 120\n")
	contains(t, got, "/dev/pts/0\n") // the container's own devpts

	raw, _ := unix.IoctlGetTermios(int(peer.Fd()), unix.TCGETS)
	if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("the user's terminal is not in raw mode: lflag %#x", raw.Lflag)
	}

	// The user resizes the window: the kernel sends skiff SIGWINCH.
	unix.IoctlSetWinsize(int(hostMaster.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 132})
	for i := 2; ; i++ {
		c, m := marker(i)
		hostMaster.WriteString("stty size; " + c + "\n")
		if strings.Contains(out.waitFor(t, m), "50 132\n") {
			break
		}
		if i > 20 {
			t.Fatalf("the container's terminal did not follow the resize:\n%s", out.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// ^C is a byte in raw mode; the container's pty turns it into SIGINT
	// for its foreground job.
	// (The shell is back at its prompt within the wait only if the sleep
	// got the SIGINT.)
	hostMaster.WriteString("sleep 100\n")
	time.Sleep(300 * time.Millisecond)
	hostMaster.WriteString("\x03")
	c, m := marker(99)
	hostMaster.WriteString(c + "\n")
	contains(t, out.waitFor(t, m), "^C")

	hostMaster.WriteString("exit 7\n")
	if code := waitExit(t, cmd); code != 7 {
		t.Fatalf("skiff run exited %d, want the shell's 7\n%s", code, out.out.String())
	}
	after, _ := unix.IoctlGetTermios(int(peer.Fd()), unix.TCGETS)
	if after.Lflag != before.Lflag || after.Oflag != before.Oflag || after.Iflag != before.Iflag {
		t.Errorf("the user's terminal was not restored: lflag %#x -> %#x, oflag %#x -> %#x", before.Lflag, after.Lflag, before.Oflag, after.Oflag)
	}
}

// Signals sent to a foreground skiff reach the container's process.
func TestTerminalForegroundForwardsSignals(t *testing.T) {
	hostMaster, peer := openPty(t)
	b := newBundle(t, "sh", "-c", `trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done`)
	b.Spec.Process.Terminal = true
	cmd := foregroundRun(t, b, peer)
	out := readPty(hostMaster)
	out.waitFor(t, "ready")
	cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd); code != 9 {
		t.Fatalf("skiff run exited %d, want 9 from the trapped TERM\n%s", code, out.out.String())
	}
	out.waitFor(t, "got-term")
}

// A terminal asked for while skiff's own stdio is not one (a CI log, a
// pipe): it still works, without "\r\n" in the output.
func TestTerminalForegroundWithoutAUserTerminal(t *testing.T) {
	b := newBundle(t, "sh", "-c", "tty; echo hello")
	b.Spec.Process.Terminal = true
	r := b.Run()
	if r.Code != 0 {
		t.Fatalf("run:\n%s", r)
	}
	if r.Stdout != "/dev/pts/0\nhello\n" {
		t.Fatalf("output %q, want the pty's output without carriage returns", r.Stdout)
	}
}

// exec -t in the foreground: the same terminal handling as run.
func TestTerminalForegroundExec(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	hostMaster, peer := openPty(t)
	unix.IoctlSetWinsize(int(hostMaster.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 90})
	cmd := b.command("exec", "-t", b.ID, "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = peer, peer, peer
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := readPty(hostMaster)
	c, m := marker(5)
	hostMaster.WriteString("stty size; tty; " + c + "\n")
	got := out.waitFor(t, m)
	contains(t, got, "30 90\n")
	contains(t, got, "/dev/pts/")
	hostMaster.WriteString("exit 4\n")
	if code := waitExit(t, cmd); code != 4 {
		t.Fatalf("skiff exec -t exited %d, want 4\n%s", code, out.out.String())
	}
}

// A foreground run with a terminal whose create fails reports the error
// and cleans up (it used to panic on the half-made terminal).
func TestTerminalForegroundCreateFailure(t *testing.T) {
	b := newBundle(t, "no-such-shell")
	b.Spec.Process.Terminal = true
	r := b.Run()
	if r.Code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	contains(t, r.Stderr, "executable file not found in $PATH")
	notContains(t, r.Stderr, "panic")
}
