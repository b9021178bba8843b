package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// killRounds bounds how often KillAll re-lists a cgroup: a process that
// forked between listing and freezing is caught by the next round.
const killRounds = 8

// killExitWait bounds the wait for SIGKILLed processes of one round.
const killExitWait = 5 * time.Second

// procKiller signals every process of one cgroup tree.
type procKiller struct {
	list func() ([]int, error)
	// member verifies, after pidfd_open, that pid is still ours (pid
	// reuse between listing and opening).
	member func(pid int) bool
	// freeze and thaw are nil without a freezer.
	freeze, thaw func() error
}

// kill sends sig to every listed process through pidfds. For SIGKILL
// the cgroup is frozen first (so nothing forks in between), thawed after
// sending (a frozen task cannot die), and the processes are waited for
// on their pidfds until the cgroup is empty.
func (k procKiller) kill(sig unix.Signal) error {
	rounds := killRounds
	if sig != unix.SIGKILL {
		rounds = 1
	}
	for round := 0; round < rounds; round++ {
		pids, err := k.list()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		frozen := false
		if sig == unix.SIGKILL && k.freeze != nil {
			frozen = k.freeze() == nil
		}
		fds, err := k.signal(pids, sig)
		if frozen || (sig == unix.SIGKILL && k.thaw != nil) {
			_ = k.thaw()
		}
		if err != nil {
			closeAll(fds)
			return err
		}
		if sig != unix.SIGKILL {
			closeAll(fds)
			return nil
		}
		k.waitGone(fds)
		closeAll(fds)
	}
	pids, err := k.list()
	if err == nil && len(pids) > 0 {
		return fmt.Errorf("processes %v survived SIGKILL %d times (stuck in the kernel? see /proc/<pid>/wchan)", pids, killRounds)
	}
	return err
}

func (k procKiller) signal(pids []int, sig unix.Signal) ([]int, error) {
	fds := make([]int, 0, len(pids))
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			return fds, fmt.Errorf("pidfd_open %d: %s", pid, errnoText(err))
		}
		if k.member != nil && !k.member(pid) {
			unix.Close(fd)
			continue
		}
		if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
			unix.Close(fd)
			return fds, fmt.Errorf("signal %s to pid %d: %s", unix.SignalName(sig), pid, errnoText(err))
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// waitGone waits until the killed processes have left the cgroup. A
// process leaves its cgroup early in exit, but its pidfd only turns
// readable once the exit completes, and the init of a pid namespace
// completes only after every other process of the namespace is reaped
// by whoever its parent is (seconds, for a slow outside reaper). So the
// pidfds wake us, and an empty cgroup ends the wait too: the pidfd waits
// are short and grow, with the list read between them.
func (k procKiller) waitGone(fds []int) {
	deadline := time.Now().Add(killExitWait)
	step := time.Millisecond
	for len(fds) > 0 && time.Now().Before(deadline) {
		if pids, err := k.list(); err != nil || len(pids) == 0 {
			return
		}
		fds = waitPidfds(fds, step)
		if step < 64*time.Millisecond {
			step *= 2
		}
	}
}

// waitPidfds waits until every pidfd reports its process's exit or the
// timeout passes, and returns the pidfds still pending.
func waitPidfds(fds []int, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	pending := make([]unix.PollFd, 0, len(fds))
	for _, fd := range fds {
		pending = append(pending, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	left := func() []int {
		out := make([]int, 0, len(pending))
		for _, p := range pending {
			out = append(out, int(p.Fd))
		}
		return out
	}
	for len(pending) > 0 {
		wait := time.Until(deadline)
		if wait <= 0 {
			return left()
		}
		n, err := unix.Poll(pending, int(wait/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return left()
		}
		rest := pending[:0]
		for _, p := range pending {
			if p.Revents == 0 {
				rest = append(rest, p)
			}
		}
		pending = rest
	}
	return nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// inCgroup reports whether pid's cgroup in the hierarchy keyed ctrl
// ("" for v2) is rel or below it.
func inCgroup(pid int, ctrl, rel string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	p, ok := parseProcCgroup(string(b))[ctrl]
	if !ok {
		return false
	}
	return p == rel || strings.HasPrefix(p, rel+"/") || rel == "/"
}

// removeDelays are the waits between rmdir attempts on EBUSY: killed
// processes take a moment to leave (runc#4040), about 0.25 s in all.
var removeDelays = []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond, 16 * time.Millisecond, 32 * time.Millisecond, 64 * time.Millisecond, 128 * time.Millisecond}

// removeCgroup removes dir and every sub-cgroup, children first. A
// missing dir is success.
func removeCgroup(dir string) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = removeOnce(dir)
		if err == nil || !errors.Is(err, unix.EBUSY) || attempt == len(removeDelays) {
			break
		}
		time.Sleep(removeDelays[attempt])
	}
	if err != nil && errors.Is(err, unix.EBUSY) {
		if pids, perr := pidsRecursive(dir); perr == nil && len(pids) > 0 {
			return fmt.Errorf("%w; processes still in it: %v", err, pids)
		}
	}
	return err
}

func removeOnce(dir string) error {
	// A container's cgroup rarely has children: try it alone before walking
	// it (the walk lists every control file, 10 hierarchies of them on v1,
	// a tenth of delete's CPU).
	if err := unix.Rmdir(dir); err == nil || err == unix.ENOENT {
		return nil
	}
	for _, sub := range subdirsDeepFirst(dir) {
		if err := unix.Rmdir(sub); err != nil && err != unix.ENOENT {
			return newFileError("", "rmdir", sub, err)
		}
	}
	if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
		return newFileError("", "rmdir", dir, err)
	}
	return nil
}
