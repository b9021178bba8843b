package notify

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestReadyLine(t *testing.T) {
	for in, want := range map[string]string{
		"READY=1":                  "READY=1",
		"STATUS=starting\nREADY=1": "READY=1",
		"STATUS=starting":          "",
		"":                         "",
		"XREADY=1":                 "",
	} {
		if got := string(ReadyLine([]byte(in))); got != want {
			t.Errorf("ReadyLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSetup(t *testing.T) {
	dir := t.TempDir()
	s := &specs.Spec{}
	env, err := Setup(s, dir)
	if err != nil {
		t.Fatal(err)
	}
	if env != "NOTIFY_SOCKET=/run/notify/notify.sock" {
		t.Fatalf("env %q", env)
	}
	if len(s.Mounts) != 1 || s.Mounts[0].Destination != "/run/notify" || s.Mounts[0].Source != filepath.Join(dir, "notify") ||
		strings.Join(s.Mounts[0].Options, ",") != "bind,nosuid,noexec,nodev,ro" {
		t.Fatalf("mount %+v", s.Mounts)
	}
	if st, err := os.Stat(filepath.Join(dir, "notify")); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("notify dir: %v %v", st, err)
	}
}

func TestListenWithoutSetupIsNothing(t *testing.T) {
	s, err := Listen(t.TempDir())
	if s != nil || err != nil {
		t.Fatalf("Listen without a notify dir = %v, %v", s, err)
	}
}

// fakeManager is a service manager's notify socket that records what it
// gets and closes barrier fds after delay.
func fakeManager(t *testing.T, delay time.Duration) (string, chan string) {
	path := filepath.Join(t.TempDir(), "host.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan string, 10)
	go func() {
		buf := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(4))
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			got <- string(buf[:n])
			if oobn > 0 {
				msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
				fds, _ := unix.ParseUnixRights(&msgs[0])
				time.Sleep(delay)
				unix.Close(fds[0])
			}
		}
	}()
	return path, got
}

func TestForward(t *testing.T) {
	host, got := fakeManager(t, 300*time.Millisecond)
	state := t.TempDir()
	if _, err := Setup(&specs.Spec{}, state); err != nil {
		t.Fatal(err)
	}
	s, err := Listen(state)
	if err != nil || s == nil {
		t.Fatalf("Listen: %v %v", s, err)
	}
	defer s.Close()
	if st, err := os.Stat(filepath.Join(state, "notify", "notify.sock")); err != nil || st.Mode().Perm() != 0o777 {
		t.Fatalf("socket: %v %v", st, err)
	}
	go func() {
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: filepath.Join(state, "notify", "notify.sock"), Net: "unixgram"})
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("STATUS=warming up"))
		time.Sleep(100 * time.Millisecond)
		c.Write([]byte("STATUS=almost\nREADY=1"))
	}()
	start := time.Now()
	if err := s.Forward(host, 4242, -1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Errorf("Forward returned after %v: before the READY and the barrier acknowledgement", d)
	}
	var msgs []string
	for len(msgs) < 3 {
		select {
		case m := <-got:
			msgs = append(msgs, m)
		case <-time.After(2 * time.Second):
			t.Fatalf("the manager got only %q", msgs)
		}
	}
	if strings.Join(msgs, "|") != "READY=1\n|MAINPID=4242\n|BARRIER=1" {
		t.Fatalf("the manager got %q", msgs)
	}
}

func TestForwardStopsWhenTheProcessExits(t *testing.T) {
	state := t.TempDir()
	if _, err := Setup(&specs.Spec{}, state); err != nil {
		t.Fatal(err)
	}
	s, err := Listen(state)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A pidfd stand-in that becomes readable: the write end of a pipe
	// closed at once makes the read end report POLLHUP.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[1])
	defer unix.Close(p[0])
	done := make(chan error, 1)
	go func() { done <- s.Forward("/nonexistent", 1, p[0]) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Forward did not return when the process went away")
	}
}

// A socket address holds 108 bytes; a deep --root must still work.
func TestListenLongStatePath(t *testing.T) {
	state := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(&specs.Spec{}, state); err != nil {
		t.Fatal(err)
	}
	s, err := Listen(state)
	if err != nil || s == nil {
		t.Fatalf("Listen in a %d-byte path: %v", len(state), err)
	}
	s.Close()
	if st, err := os.Stat(filepath.Join(state, "notify", "notify.sock")); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket not bound at its real path: %v", err)
	}
}
