// Package console allocates a container's pseudo-terminal inside the
// container and hands its master to the caller over a unix socket, the
// protocol conmon and containerd expect from runc.
package console

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const devptsMagic = 0x1cd1

// Setup runs in the init after pivot_root. It opens the container's own
// devpts multiplexer (never the host's: runc#814), verifies it, gets the
// peer with TIOCGPTPEER, sizes it, optionally binds it over /dev/console
// (init only, not exec), sends the master on sock, and makes the peer the
// process's stdio and controlling terminal.
func Setup(sock *os.File, size *specs.Box, bindConsole bool, uid int) error {
	master, err := os.OpenFile("/dev/pts/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("process.terminal: open the container's /dev/pts/ptmx: %w (is devpts mounted at /dev/pts with newinstance?)", err)
	}
	defer master.Close()
	var sfs unix.Statfs_t
	var st unix.Stat_t
	if unix.Fstatfs(int(master.Fd()), &sfs) != nil || sfs.Type != devptsMagic ||
		unix.Fstat(int(master.Fd()), &st) != nil || st.Rdev != unix.Mkdev(5, 2) {
		return errors.New("process.terminal: /dev/pts/ptmx is not a devpts multiplexer")
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("process.terminal: unlock the pty: %w", err)
	}
	// TIOCGPTPEER's argument is the open flags of the peer: read-write,
	// not our controlling terminal yet, close-on-exec (it is dup'ed onto
	// 0-2, which are not).
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return fmt.Errorf("process.terminal: open the pty peer (TIOCGPTPEER): %w", errno)
	}
	peer := os.NewFile(r, "pty-peer")
	defer peer.Close()
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	if uid >= 0 {
		_ = unix.Fchown(int(peer.Fd()), uid, -1)
	}
	if bindConsole {
		if err := bindDevConsole(peer); err != nil {
			return err
		}
	}
	if err := SendFd(sock, "/dev/ptmx", master); err != nil {
		return err
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(peer.Fd()), fd, 0); err != nil {
			return fmt.Errorf("process.terminal: make the pty stdio: %w", err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("process.terminal: make the pty the controlling terminal: %w", err)
	}
	return nil
}

// bindDevConsole binds the peer over /dev/console, from the peer's fd, on a
// target created without following symlinks (CVE-2025-52565).
func bindDevConsole(peer *os.File) error {
	fd, err := unix.Open("/dev/console", unix.O_CREAT|unix.O_NOFOLLOW|unix.O_PATH|unix.O_CLOEXEC, 0o600)
	if err != nil {
		// O_PATH ignores O_CREAT: create the file first.
		if cfd, cerr := unix.Open("/dev/console", unix.O_CREAT|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600); cerr == nil {
			unix.Close(cfd)
		}
		fd, err = unix.Open("/dev/console", unix.O_NOFOLLOW|unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("process.terminal: create /dev/console: %w", err)
		}
	}
	defer unix.Close(fd)
	tree, err := unix.OpenTree(int(peer.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("process.terminal: bind the pty over /dev/console: open_tree: %w", err)
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("process.terminal: bind the pty over /dev/console: move_mount: %w", err)
	}
	return nil
}

// SendFd sends one fd with a short name in one message with exactly one
// SCM_RIGHTS control message: go-runc and conmon reject anything else.
func SendFd(sock *os.File, name string, f *os.File) error {
	oob := unix.UnixRights(int(f.Fd()))
	if err := unix.Sendmsg(int(sock.Fd()), []byte(name), oob, nil, 0); err != nil {
		return fmt.Errorf("send the pty master over --console-socket: %w", err)
	}
	return nil
}

// RecvFd receives one fd sent by SendFd.
func RecvFd(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive the pty master: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive the pty master: expected one control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive the pty master: expected one fd")
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}
