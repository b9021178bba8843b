package libct

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/selfexe"
	"github.com/skiff-runtime/skiff/libct/state"
)

// The exec template. What `skiff exec` sends the init's constructor
// depends on the container and on the process alone: the cgroup task files,
// the namespaces to join, and the process resolved into fast exec orders
// (capability masks, rlimit numbers, the environment, the compiled seccomp
// program). An exec that took the fast path with no option but --process,
// --detach and --pid-file saves its orders in the state directory: for a
// command (`skiff exec ID CMD...`), the container's process without the
// command; for a --process file, its exact content and its orders. The
// constructor of the next such exec (init/execparent.h) finds its entry,
// byte for byte for a process JSON (an engine's exec probe sends the same
// one each time), and sends the orders itself, with the command added, so
// that no Go runtime starts: ~5 ms of the ~8-10 ms of an exec here were the
// Go parent's start and set-up.
//
// The file is only ever read by that constructor, which trusts it as it
// trusts state.json (root's, in root's state directory) and checks that it
// still describes this container: the same init (pid and start time), the
// same config.json (inode, size and modification time), and for cgroup v2
// a cgroup that still delegates nothing. Anything else, and every failure
// before the workload's execve, is left to the Go exec, which starts over
// and saves a fresh template. An upgraded skiff does not read the template
// of the one before: its build ID differs.
//
//	skiff-exec-template 1
//	build HEX         the GNU build ID of the skiff that wrote it
//	init PID START
//	config INODE SIZE MTIME_NS
//	task HEX          a cgroup task file (repeated, in order)
//	cgroup-dir HEX    the cgroup2 directory for CLONE_INTO_CGROUP
//	recheck HEX       its cgroup.subtree_control must be empty
//	setns FLAGS       CLONE_NEW* flags to join through the init's pidfd
//	fork              fork once more (a pid or time namespace)
//	command LEN       then LEN bytes: orders, the command's x-arg to add
//	process JLEN LEN  then JLEN bytes of process JSON and LEN of orders
//
// The entries follow the header, the newest last, at most
// execTemplateEntries of them; the orders are those of init/nsenter.c
// (oom) and init/fastexec.h (from "fastexec" on).
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
	// orders are the fast exec's without the x-arg lines, args those.
	orders, args string
}

const (
	execTemplateVersion = "skiff-exec-template 1"
	execTemplateEntries = 8
)

// execEntry is one saved exec: a command's (json nil) or a process JSON's.
type execEntry struct {
	json   []byte
	orders string
}

// saveExecTemplate adds or refreshes the entry of this exec; a failure
// only means that the next exec runs in Go too.
func (c *Container) saveExecTemplate(t *execTemplate, processJSON []byte) {
	if err := c.writeExecTemplate(t, processJSON); err != nil {
		logrus.Debugf("exec in %s: the exec template was not saved: %v", c.ID, err)
	}
}

func (c *Container) writeExecTemplate(t *execTemplate, processJSON []byte) error {
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
	build := ""
	if selfexe.BuildID != nil {
		build = selfexe.BuildID()
	}
	if build == "" {
		return errors.New("the binary has no build ID")
	}
	var h strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&h, format+"\n", a...) }
	line(execTemplateVersion)
	line("build %s", build)
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
	header := h.String()
	orders := t.orders
	if t.oom != nil {
		orders = fmt.Sprintf("oom %d\n", *t.oom) + orders
	}
	add := execEntry{json: processJSON, orders: orders}

	// The entries of a template with the same header stay, but the one
	// for this exec, which goes last.
	path := filepath.Join(c.dir, state.ExecTemplate)
	var entries []execEntry
	if old, err := state.ReadSmallFile(path); err == nil && strings.HasPrefix(string(old), header) {
		if es, ok := parseExecEntries(string(old[len(header):])); ok {
			entries = es
		}
	}
	kept := entries[:0]
	for _, e := range entries {
		if (e.json == nil) != (add.json == nil) || string(e.json) != string(add.json) {
			kept = append(kept, e)
		} else if e.orders == add.orders && len(kept) == len(entries)-1 {
			return nil // already there, and the newest
		}
	}
	entries = append(kept, add)
	if len(entries) > execTemplateEntries {
		entries = entries[len(entries)-execTemplateEntries:]
	}
	var b strings.Builder
	b.WriteString(header)
	for _, e := range entries {
		if e.json == nil {
			fmt.Fprintf(&b, "command %d\n%s", len(e.orders), e.orders)
		} else {
			fmt.Fprintf(&b, "process %d %d\n%s%s", len(e.json), len(e.orders), e.json, e.orders)
		}
	}
	// Under the lock taken above: no delete empties the directory meanwhile.
	return state.WriteFileAtomic(path, []byte(b.String()), 0o600)
}

// parseExecEntries reads the entries after a template's header.
func parseExecEntries(s string) ([]execEntry, bool) {
	var out []execEntry
	for s != "" {
		nl := strings.IndexByte(s, '\n')
		if nl < 0 {
			return nil, false
		}
		f := strings.Fields(s[:nl])
		s = s[nl+1:]
		num := func(i int) int {
			if i >= len(f) {
				return -1
			}
			n, err := strconv.Atoi(f[i])
			if err != nil || n < 0 || n > len(s) {
				return -1
			}
			return n
		}
		switch {
		case len(f) == 2 && f[0] == "command" && num(1) >= 0:
			n := num(1)
			out = append(out, execEntry{orders: s[:n]})
			s = s[n:]
		case len(f) == 3 && f[0] == "process" && num(1) >= 0 && num(2) >= 0 && num(1)+num(2) <= len(s):
			j, n := num(1), num(2)
			out = append(out, execEntry{json: []byte(s[:j]), orders: s[j : j+n]})
			s = s[j+n:]
		default:
			return nil, false
		}
	}
	return out, true
}
