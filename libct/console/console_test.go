package console

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func pair(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// The framing go-runc and conmon insist on: one message, a short name,
// exactly one SCM_RIGHTS control message of CMSG_LEN(4), one fd.
func TestSendFdFraming(t *testing.T) {
	a, b := pair(t)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := SendFd(a, "/dev/ptmx", f); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	oob := make([]byte, 4*unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(b.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "/dev/ptmx" {
		t.Errorf("name %q", buf[:n])
	}
	if oobn != unix.CmsgSpace(4) {
		t.Fatalf("control data %d bytes, want CMSG_SPACE(4) = %d", oobn, unix.CmsgSpace(4))
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 || msgs[0].Header.Len != uint64(unix.CmsgLen(4)) {
		t.Fatalf("control messages %v (%v)", msgs, err)
	}
	fds, _ := unix.ParseUnixRights(&msgs[0])
	if len(fds) != 1 {
		t.Fatalf("fds %v", fds)
	}
	var st1, st2 unix.Stat_t
	unix.Fstat(fds[0], &st1)
	unix.Fstat(int(f.Fd()), &st2)
	if st1.Rdev != st2.Rdev {
		t.Error("received a different file")
	}
	unix.Close(fds[0])
}

func TestRecvFd(t *testing.T) {
	a, b := pair(t)
	f, _ := os.Open("/dev/null")
	defer f.Close()
	if err := SendFd(a, "/dev/ptmx", f); err != nil {
		t.Fatal(err)
	}
	got, err := RecvFd(b)
	if err != nil {
		t.Fatal(err)
	}
	got.Close()

	// Two fds in one message is not the protocol.
	unix.Sendmsg(int(a.Fd()), []byte("x"), unix.UnixRights(int(f.Fd()), int(f.Fd())), nil, 0)
	if _, err := RecvFd(b); err == nil {
		t.Fatal("RecvFd must refuse a message with two fds")
	}
}
