// Package proto is the parent<->init protocol: typed messages over a
// SOCK_SEQPACKET socket pair, one JSON object per packet, with file
// descriptors in SCM_RIGHTS, and structured errors that survive the trip so a
// failure inside the container reaches the user intact as one line.
//
// The C constructor in init/ speaks the first messages of the exchange
// (usermap, pid, error) in the same JSON shape.
package proto

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/genjson"
)

// Message types.
const (
	// constructor -> parent
	TypeUserMap = "usermap" // a new user namespace exists: write its id maps, then reply TypeOK
	TypePid     = "pid"     // the pid of the process that continues as init

	// parent -> init
	TypeConfig = "config" // the InitConfig
	TypeOK     = "ok"     // generic acknowledgement

	// init -> parent
	TypeHooks   = "hooks"   // mounts are done: run prestart and createRuntime hooks, reply TypeOK
	TypeSeccomp = "seccomp" // a seccomp listener fd number: copy it with pidfd_getfd, reply TypeOK
	TypeReady   = "ready"   // set-up done: apply rlimits, save state, reply TypeOK
	TypeLog     = "log"     // a log line to re-log in the parent

	// either way
	TypeError = "error"
)

// Message is one packet.
type Message struct {
	Type   string          `json:"type"`
	Pid    int             `json:"pid,omitempty"`
	Fd     int             `json:"fd,omitempty"`
	Level  string          `json:"level,omitempty"`
	Msg    string          `json:"msg,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	Config json.RawMessage `json:"config,omitempty"`
}

// Error is a failure that crossed the socket. Its text is what the user sees.
type Error struct {
	Stage string `json:"stage,omitempty"` // nsenter, rootfs, process, exec...
	Op    string `json:"op,omitempty"`
	Path  string `json:"path,omitempty"`
	Errno string `json:"errno,omitempty"` // ENOENT...
	Msg   string `json:"msg"`
}

func (e *Error) Error() string { return e.Msg }

// maxPacket bounds one message. The init config carries the whole spec and a
// compiled seccomp program; the socket buffers are raised to match.
const maxPacket = 4 << 20

// Conn is one end of the socket pair.
type Conn struct {
	f *os.File
}

// NewConn wraps an AF_UNIX SOCK_SEQPACKET socket.
func NewConn(f *os.File) *Conn { return &Conn{f: f} }

// File returns the underlying socket.
func (c *Conn) File() *os.File { return c.f }

// Close closes the socket.
func (c *Conn) Close() error { return c.f.Close() }

// Pair makes a socket pair with large buffers. Both ends are close-on-exec;
// the child end is passed explicitly through ExtraFiles.
func Pair() (parent, child *Conn, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("create init socket pair: %w", err)
	}
	for _, fd := range fds {
		// As root, FORCE ignores net.core.wmem_max; otherwise fall back.
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, maxPacket) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, maxPacket)
		}
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, maxPacket) != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, maxPacket)
		}
	}
	return NewConn(os.NewFile(uintptr(fds[0]), "init-sock-parent")),
		NewConn(os.NewFile(uintptr(fds[1]), "init-sock-child")), nil
}

// Send writes one message, with optional fds.
func (c *Conn) Send(m *Message, fds ...int) error {
	b, err := genjson.Encode(m, EncodeMessage)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for {
		err = unix.Sendmsg(int(c.f.Fd()), b, oob, nil, unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		if errors.Is(err, unix.EMSGSIZE) {
			return fmt.Errorf("send %s message (%d bytes): too large for the init socket: %w", m.Type, len(b), err)
		}
		return fmt.Errorf("send %s message: %w", m.Type, err)
	}
	return nil
}

// ErrClosed is returned by Recv when the peer closed its end.
var ErrClosed = errors.New("peer closed the socket")

// Recv reads one message and any fds that came with it. Received fds are
// close-on-exec.
func (c *Conn) Recv() (*Message, []int, error) {
	fd := int(c.f.Fd())
	// Learn the packet size first so a large config is never truncated.
	var n int
	var err error
	for {
		n, _, err = unix.Recvfrom(fd, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read init socket: %w", err)
	}
	buf := make([]byte, n)
	oob := make([]byte, unix.CmsgSpace(4*16))
	var oobn int
	for {
		n, oobn, _, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read init socket: %w", err)
	}
	var fds []int
	if oobn > 0 {
		cmsgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if perr == nil {
			for _, cm := range cmsgs {
				if rights, rerr := unix.ParseUnixRights(&cm); rerr == nil {
					fds = append(fds, rights...)
				}
			}
		}
	}
	if n == 0 {
		for _, f := range fds {
			unix.Close(f)
		}
		return nil, nil, ErrClosed
	}
	m := new(Message)
	if err := genjson.Decode(buf[:n], m, DecodeMessage); err != nil {
		for _, f := range fds {
			unix.Close(f)
		}
		return nil, nil, fmt.Errorf("decode init message %q: %w", truncate(buf[:n], 80), err)
	}
	return m, fds, nil
}

// Expect reads one message and fails unless it has type t. An error message
// from the peer is returned as its *Error.
func (c *Conn) Expect(t string) (*Message, []int, error) {
	m, fds, err := c.Recv()
	if err != nil {
		return nil, nil, err
	}
	if m.Type == TypeError && m.Error != nil {
		return nil, fds, m.Error
	}
	if m.Type != t {
		return nil, fds, fmt.Errorf("init protocol: expected %q message, got %q", t, m.Type)
	}
	return m, fds, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
