// Package notify proxies sd_notify(3) from a container to the service
// manager that runs skiff, as runc does when it is started by systemd with
// NOTIFY_SOCKET set (Type=notify units).
//
// At create the container gets a bind mount of <state dir>/notify at
// /run/notify and NOTIFY_SOCKET=/run/notify/notify.sock in its environment.
// At start skiff binds that unixgram socket before releasing the process,
// waits for a READY= datagram, passes it on to the host's socket with
// MAINPID=, then sends BARRIER=1 with a pipe and waits until the service
// manager has closed it, so start returns only once the manager knows the
// service is ready (runc 1.2 fixed the race of returning earlier).
package notify

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

const (
	// dirName is the notify directory inside the container's state dir.
	dirName    = "notify"
	socketName = "notify.sock"
	// ContainerDir is where the container sees the directory (runc's path,
	// which podman's own proxy uses too).
	ContainerDir = "/run/notify"
	// barrierTimeout is how long the service manager gets to acknowledge
	// BARRIER=1; a manager without barrier support never closes the pipe.
	barrierTimeout = 30 * time.Second
	// maxDatagram is the largest notification read; systemd's own limit is
	// the same order of magnitude.
	maxDatagram = 4096
)

// Setup prepares a container created with NOTIFY_SOCKET set: it makes the
// notify directory in stateDir, adds its bind mount to s and returns the
// variable to append to the container's environment.
func Setup(s *specs.Spec, stateDir string) (string, error) {
	dir := filepath.Join(stateDir, dirName)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("NOTIFY_SOCKET: create %s: %w", dir, err)
	}
	// Mkdir applied the umask.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("NOTIFY_SOCKET: chmod %s: %w", dir, err)
	}
	s.Mounts = append(s.Mounts, specs.Mount{
		Destination: ContainerDir,
		Type:        "bind",
		Source:      dir,
		Options:     []string{"bind", "nosuid", "noexec", "nodev", "ro"},
	})
	return "NOTIFY_SOCKET=" + ContainerDir + "/" + socketName, nil
}

// Socket is the container side of the proxy, bound in the state dir.
type Socket struct {
	fd   int
	path string
}

// Listen binds the container's notify socket. It returns nil, nil when the
// container was created without NOTIFY_SOCKET (no notify directory): there
// is nothing to proxy.
func Listen(stateDir string) (*Socket, error) {
	dir := filepath.Join(stateDir, dirName)
	d, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		logrus.Debugf("NOTIFY_SOCKET is set but the container was created without it: not proxying")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET: open %s: %w", dir, err)
	}
	defer d.Close()
	path := filepath.Join(dir, socketName)
	_ = unix.Unlinkat(int(d.Fd()), socketName, 0) // a stale socket of an earlier start attempt
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET: socket: %w", err)
	}
	// A socket address holds at most 108 bytes; a deep --root is longer.
	// Bind through the directory's fd instead.
	short := "/proc/self/fd/" + strconv.Itoa(int(d.Fd())) + "/" + socketName
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: short}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("NOTIFY_SOCKET: bind %s: %w", path, err)
	}
	// Any container user may notify.
	if err := unix.Fchmodat(int(d.Fd()), socketName, 0o777, 0); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("NOTIFY_SOCKET: chmod %s: %w", path, err)
	}
	return &Socket{fd: fd, path: path}, nil
}

// Close closes the socket (the file goes with the state directory).
func (s *Socket) Close() {
	if s != nil && s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}

// Forward waits for the container's READY= notification and passes it to
// the service manager at host, with MAINPID=mainPid, then waits for the
// manager's barrier acknowledgement. It returns early, without error, when
// the process behind pidfd exits first (pidfd < 0: no such watch).
// Notifications other than READY= are dropped, as runc does.
func (s *Socket) Forward(host string, mainPid, pidfd int) error {
	ready, err := s.waitReady(pidfd)
	if err != nil || ready == nil {
		return err
	}
	return notifyHost(host, ready, mainPid)
}

// waitReady returns the READY= line, or nil when the watched process
// exited before sending one.
func (s *Socket) waitReady(pidfd int) ([]byte, error) {
	fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
	if pidfd >= 0 {
		fds = append(fds, unix.PollFd{Fd: int32(pidfd), Events: unix.POLLIN})
	}
	buf := make([]byte, maxDatagram)
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return nil, fmt.Errorf("NOTIFY_SOCKET: wait for the container's notification: %w", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			n, _, err := unix.Recvfrom(s.fd, buf, unix.MSG_DONTWAIT)
			if err != nil && err != unix.EAGAIN && err != unix.EINTR {
				return nil, fmt.Errorf("NOTIFY_SOCKET: read %s: %w", s.path, err)
			}
			if line := ReadyLine(buf[:max(n, 0)]); line != nil {
				return line, nil
			}
			continue
		}
		if len(fds) > 1 && fds[1].Revents != 0 {
			return nil, nil
		}
	}
}

// ReadyLine returns the READY= line of a notification datagram, or nil.
func ReadyLine(msg []byte) []byte {
	for _, line := range bytes.Split(msg, []byte{'\n'}) {
		if bytes.HasPrefix(line, []byte("READY=")) {
			return append([]byte(nil), line...)
		}
	}
	return nil
}

func notifyHost(host string, ready []byte, mainPid int) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: host, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: connect to the service manager: %w", host, err)
	}
	defer conn.Close()
	for _, msg := range [][]byte{append(ready, '\n'), []byte("MAINPID=" + strconv.Itoa(mainPid) + "\n")} {
		if _, err := conn.Write(msg); err != nil {
			return fmt.Errorf("NOTIFY_SOCKET %s: send %q: %w", host, bytes.TrimSpace(msg), err)
		}
	}
	return barrier(conn, host)
}

// barrier is sd_notify_barrier(3): BARRIER=1 with the write end of a pipe;
// the manager closes it once it has processed everything sent before.
func barrier(conn *net.UnixConn, host string) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET: barrier pipe: %w", err)
	}
	r := p[0]
	defer unix.Close(r)
	// net refuses WriteMsgUnix on a connected datagram socket: sendmsg.
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Write(func(fd uintptr) bool {
			err = unix.Sendmsg(int(fd), []byte("BARRIER=1"), unix.UnixRights(p[1]), nil, 0)
			return err != unix.EAGAIN
		})
		if err == nil {
			err = cerr
		}
	}
	unix.Close(p[1])
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: send BARRIER=1: %w", host, err)
	}
	fds := []unix.PollFd{{Fd: int32(r), Events: unix.POLLIN}}
	deadline := time.Now().Add(barrierTimeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			logrus.Warnf("NOTIFY_SOCKET %s: the service manager did not acknowledge BARRIER=1 within %s; going on", host, barrierTimeout)
			return nil
		}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("NOTIFY_SOCKET: wait for the barrier: %w", err)
		}
		if n == 0 {
			continue
		}
		var b [1]byte
		got, err := unix.Read(r, b[:])
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if got != 0 || err != nil {
			return fmt.Errorf("NOTIFY_SOCKET %s: unexpected data on the barrier pipe (want it closed)", host)
		}
		return nil
	}
}
