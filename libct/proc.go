package libct

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/state"
)

// procStat is what skiff needs from /proc/<pid>/stat.
type procStat struct {
	state byte   // R, S, D, Z, X...
	start uint64 // field 22: start time in clock ticks since boot
}

func readProcStat(pid int) (procStat, error) {
	b, err := state.ReadSmallFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces and
	// parentheses itself: parse from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := bytes.Fields(b[i+2:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return procStat{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	return procStat{state: fields[0][0], start: start}, nil
}

// StartTime returns a process's start time (field 22 of /proc/<pid>/stat).
func StartTime(pid int) (uint64, error) {
	st, err := readProcStat(pid)
	return st.start, err
}

// alive reports whether pid is the process that started at start and has
// not exited (a zombie has exited).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	return st.start == start && st.state != 'Z' && st.state != 'X'
}

// pidfdFor opens a pidfd for pid and checks it is still the process that
// started at start, closing the window in which a reused pid could be
// signalled (PITFALLS 17).
func pidfdFor(pid int, start uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, errNotRunning
		}
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	st, err := readProcStat(pid)
	if err != nil || st.start != start || st.state == 'Z' || st.state == 'X' {
		unix.Close(fd)
		return -1, errNotRunning
	}
	return fd, nil
}

var errNotRunning = errors.New("container not running")

// waitExit waits until the process behind pidfd has exited, or timeout.
func waitExit(pidfd int, timeoutMs int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, timeoutMs)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}
