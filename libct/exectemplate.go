package libct

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/state"
)

// The exec template. What a plain `skiff exec ID CMD [ARGS...]` (no flags)
// sends the init's constructor depends on the container alone, save the
// command: its cgroup task files, the namespaces to join, the process of
// its config.json resolved into fast exec orders (capability masks, rlimit
// numbers, the environment, the compiled seccomp program). The first plain
// exec that took the fast path saves them in the state directory; the next
// `skiff exec` sends them from its own constructor (init/execparent.h),
// with the command added, and so never starts a Go runtime: ~5 ms of the
// ~10 ms of an exec here were the Go parent's start and set-up.
//
// The file is only ever read by that constructor, which trusts it as it
// trusts state.json (root's, in root's state directory) and checks that it
// still describes this container: the same init (pid and start time), the
// same config.json (inode, size and modification time), and for cgroup v2
// a cgroup that still delegates nothing. Anything else, and every failure
// before the workload's execve, is left to the Go exec, which starts over.
//
//	skiff-exec-template 1
//	init PID START
//	config INODE SIZE MTIME_NS
//	task HEX          a cgroup task file (repeated, in order)
//	cgroup-dir HEX    the cgroup2 directory for CLONE_INTO_CGROUP
//	recheck HEX       its cgroup.subtree_control must be empty
//	setns FLAGS       CLONE_NEW* flags to join through the init's pidfd
//	fork              fork once more (a pid or time namespace)
//	oom N             oom_score_adj
//	fastexec          the orders of init/fastexec.h, to the end of the file
type execTemplate struct {
	tasks     []string
	cgroupDir string
	recheck   string
	// volatile: the attachment may differ next time (a v2 leaf chosen
	// below a delegating cgroup, systemd's scope, --cgroup).
	volatile bool
	nsFlags  int
	fork     bool
	oom      *int
	orders   string
}

const execTemplateVersion = "skiff-exec-template 1"

// saveExecTemplate writes t unless the saved template is already t; a
// failure only means that the next exec runs in Go too.
func (c *Container) saveExecTemplate(t *execTemplate) {
	if err := c.writeExecTemplate(t); err != nil {
		logrus.Debugf("exec in %s: the exec template was not saved: %v", c.ID, err)
	}
}

func (c *Container) writeExecTemplate(t *execTemplate) error {
	if t.orders == "" {
		return errors.New("no fast exec orders")
	}
	dfd, err := unix.Open(c.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	// The container's lock, without waiting: a delete that holds it may be
	// emptying the directory, and a file made meanwhile would keep it.
	if err := unix.Flock(dfd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("the container is locked: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, state.StateFile, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s: %w", state.StateFile, err)
	}
	if err := unix.Fstatat(dfd, state.ConfigFile, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%s: %w", state.ConfigFile, err)
	}
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	line(execTemplateVersion)
	line("init %d %d", c.State.Pid, c.State.PidStart)
	line("config %d %d %d", st.Ino, st.Size, st.Mtim.Sec*1e9+st.Mtim.Nsec)
	for _, p := range t.tasks {
		line("task %x", p)
	}
	if t.cgroupDir != "" {
		line("cgroup-dir %x", t.cgroupDir)
	}
	if t.recheck != "" {
		line("recheck %x", t.recheck)
	}
	if t.nsFlags != 0 {
		line("setns %d", t.nsFlags)
	}
	if t.fork {
		line("fork")
	}
	if t.oom != nil {
		line("oom %d", *t.oom)
	}
	b.WriteString(t.orders)
	// A plain exec comes here when the constructor did not take the saved
	// one (or on the first exec): keep it if it is this, else replace it.
	if old, err := readAt(dfd, state.ExecTemplate); err == nil && old == b.String() {
		return nil
	}

	tmp := "." + state.ExecTemplate + "-" + strconv.Itoa(os.Getpid())
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dfd, tmp, dfd, state.ExecTemplate)
	}
	if err != nil {
		_ = unix.Unlinkat(dfd, tmp, 0)
		return fmt.Errorf("write %s: %w", state.ExecTemplate, err)
	}
	return nil
}

// readAt reads a small file of the directory dfd.
func readAt(dfd int, name string) (string, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	return string(b), err
}
