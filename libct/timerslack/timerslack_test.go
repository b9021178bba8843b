package timerslack

import (
	"bytes"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func slackOf(t *testing.T, caller uint64) (child string, after int) {
	t.Helper()
	SetCaller(caller)
	defer SetCaller(0)
	var out bytes.Buffer
	cmd := exec.Command("cat", "/proc/self/timerslack_ns")
	cmd.Stdout = &out
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	after, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String()), after
}

// Start forks with the caller's slack and gives the thread its own back;
// with the caller's unknown it changes nothing.
func TestStart(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 300001, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if child, after := slackOf(t, 123457); child != "123457" || after != 300001 {
		t.Errorf("caller 123457: the child has %s (want 123457), the thread %d after (want 300001)", child, after)
	}
	if child, after := slackOf(t, 0); child != "300001" || after != 300001 {
		t.Errorf("caller unknown: the child has %s, the thread %d after (want 300001 both)", child, after)
	}
	if got := EnvVar(); got != nil {
		t.Errorf("EnvVar with the caller unknown: %v", got)
	}
	SetCaller(42)
	defer SetCaller(0)
	if got := strings.Join(EnvVar(), " "); got != Env+"=42" {
		t.Errorf("EnvVar: %q", got)
	}
}
