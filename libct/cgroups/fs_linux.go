package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/sysfile"
)

// fileError is a failed operation on a cgroup file: one line naming the
// spec field (when there is one), the operation, the path, the errno by
// name and what it means here.
type fileError struct {
	Field string
	Op    string // "write 4096 to", "read", "mkdir", ...
	Path  string
	Err   error
	Hint  string
}

func (e *fileError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Op + " " + e.Path + ": " + errnoName(e.Err))
	desc := errnoDesc(e.Err)
	if e.Hint != "" {
		desc += ": " + e.Hint
	}
	if desc != "" {
		b.WriteString(" (" + desc + ")")
	}
	return b.String()
}

func (e *fileError) Unwrap() error { return e.Err }

// errnoName is "EBUSY" for an errno anywhere in err's chain, else the
// error's text.
func errnoName(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		if n := unix.ErrnoName(en); n != "" {
			return n
		}
		return "errno " + strconv.Itoa(int(en))
	}
	return err.Error()
}

func errnoDesc(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		return en.Error()
	}
	return ""
}

// errnoText is "ENOENT (no such file or directory)".
func errnoText(err error) string {
	if d := errnoDesc(err); d != "" {
		return errnoName(err) + " (" + d + ")"
	}
	return err.Error()
}

// hintFor explains an errno in the terms of the file it came from.
func hintFor(file string, err error) string {
	base := filepath.Base(file)
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return "no permission: run as root or use a delegated cgroup"
	case errors.Is(err, unix.EROFS):
		return "the cgroup filesystem is mounted read-only"
	case errors.Is(err, unix.ENOENT):
		return "the kernel offers no such file here: is the controller available and enabled?"
	}
	switch base {
	case "memory.limit_in_bytes", "memory.max", "memory.memsw.limit_in_bytes":
		if errors.Is(err, unix.EBUSY) {
			return "usage is above the new limit"
		}
		if errors.Is(err, unix.EINVAL) && base == "memory.memsw.limit_in_bytes" {
			return "memory+swap must not be below memory.limit"
		}
		if errors.Is(err, unix.EINVAL) {
			return "memory+swap is below the new limit: raise memory.swap too"
		}
	case "cpuset.cpus", "cpuset.mems":
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSPC) {
			return "not within the parent cgroup's cpuset (see its " + base + ")"
		}
		if errors.Is(err, unix.EBUSY) {
			return "a sub-cgroup or an exclusive sibling still uses these"
		}
	case "tasks", "cgroup.procs", "cgroup.threads":
		switch {
		case errors.Is(err, unix.ENOSPC):
			return "the cgroup's cpuset.cpus or cpuset.mems is empty"
		case errors.Is(err, unix.EBUSY):
			return "the cgroup has sub-cgroups with controllers enabled (cgroup v2 no-internal-processes rule)"
		case errors.Is(err, unix.EOPNOTSUPP):
			return "the cgroup is threaded or in an invalid domain"
		case errors.Is(err, unix.ESRCH):
			return "the process is gone"
		}
	case "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.max", "cpu.cfs_burst_us", "cpu.max.burst":
		if errors.Is(err, unix.EINVAL) {
			return "out of range, or above what the parent cgroup allows"
		}
	case "cpu.rt_runtime_us", "cpu.rt_period_us":
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EBUSY) {
			return "the parent cgroup has less real-time runtime than asked (set it in the parents first)"
		}
	case "devices.allow":
		if errors.Is(err, unix.EPERM) {
			return "the parent cgroup does not allow this device"
		}
	case "cgroup.subtree_control":
		if errors.Is(err, unix.EBUSY) {
			return "the cgroup has processes of its own (cgroup v2 no-internal-processes rule)"
		}
		if errors.Is(err, unix.EINVAL) {
			return "the controller is not available in the parent"
		}
	}
	if errors.Is(err, unix.EBUSY) && (base == "" || !strings.Contains(base, ".")) {
		return "processes are still in it"
	}
	return ""
}

func newFileError(field, op, path string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fileError{Field: field, Op: op, Path: path, Err: err, Hint: hintFor(path, err)}
}

// writeFile writes value to dir/file in one write(2), as cgroup files
// want; field names the spec field it implements, for the error.
func writeFile(dir, file, value, field string) error {
	p := dir + "/" + file
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return newFileError(field, "write "+quoteValue(value)+" to", p, err)
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return newFileError(field, "write "+quoteValue(value)+" to", p, err)
	}
	return nil
}

// quoteValue keeps multi-word values readable in one-line errors.
func quoteValue(v string) string {
	if v == "" || strings.ContainsAny(v, " \n\t") {
		return strconv.Quote(v)
	}
	return v
}

func readFile(dir, file string) (string, error) {
	p := dir + "/" + file
	b, err := sysfile.ReadSmall(p)
	if err != nil {
		return "", newFileError("", "read", p, err)
	}
	return string(b), nil
}

// readUint reads a one-number file; "max" is the largest value.
func readUint(dir, file string) (uint64, error) {
	s, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	return parseUintValue(strings.TrimSpace(s))
}

func parseUintValue(s string) (uint64, error) {
	if s == "max" {
		return math.MaxUint64, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// memory.*limit_in_bytes may read -1 on some kernels.
		if i, err2 := strconv.ParseInt(s, 10, 64); err2 == nil && i < 0 {
			return math.MaxUint64, nil
		}
		return 0, fmt.Errorf("unexpected value %q", s)
	}
	return n, nil
}

func exists(p string) bool {
	var st unix.Stat_t
	return unix.Stat(p, &st) == nil
}

// mkdirAll creates dir and missing parents, returning the directories it
// created (top first) so a failure can remove exactly those. A parent that
// vanishes meanwhile (the delete of the last container in it removed it)
// is made again.
func mkdirAll(dir string) ([]string, error) {
	var made []string
	for attempt := 0; ; attempt++ {
		var missing []string
		for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
			if exists(d) {
				break
			}
			missing = append(missing, d)
		}
		retry := false
		for i := len(missing) - 1; i >= 0; i-- {
			err := unix.Mkdir(missing[i], 0o755)
			if err == unix.ENOENT && attempt < 8 {
				retry = true
				break
			}
			if err != nil && err != unix.EEXIST {
				return made, newFileError("", "mkdir", missing[i], err)
			}
			if err == nil {
				made = append(made, missing[i])
			}
		}
		if !retry {
			return made, nil
		}
	}
}

// madeParents is made without dir itself: the ancestors mkdirAll created.
func madeParents(made []string, dir string) []string {
	var p []string
	for _, d := range made {
		if d != dir {
			p = append(p, d)
		}
	}
	return p
}

// removeParents removes the ancestor directories a create made, deepest
// first, where they are empty now. One that still holds another
// container's cgroup (EBUSY) stays, and nobody removes it later: only the
// container that made a directory records it (README, cgroups).
func removeParents(parents []string) {
	sorted := append([]string(nil), parents...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, d := range sorted {
		_ = unix.Rmdir(d)
	}
}

// removeMade removes directories created by mkdirAll, deepest first.
func removeMade(made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		_ = unix.Rmdir(made[i])
	}
}

// openTasks opens a file the child writes "0" to.
func openTasks(dir, file string) (*os.File, error) {
	p := dir + "/" + file
	f, err := os.OpenFile(p, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, newFileError("", "open", p, err)
	}
	return f, nil
}

// readPids reads a cgroup.procs file.
func readPids(p string) ([]int, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, l := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(l); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// unpopulated reports whether dir has no sub-cgroup and an empty
// cgroup.procs, with a stat and one plain read (a missing directory counts
// as empty: nothing is in it). cgroupfs counts sub-directories in a
// directory's link count, as other file systems do: more than 2 means a
// sub-cgroup, which only a walk could tell empty.
func unpopulated(dir string) bool {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return errors.Is(err, unix.ENOENT)
	}
	if st.Nlink > 2 {
		return false
	}
	b, err := sysfile.ReadSmall(dir + "/cgroup.procs")
	if errors.Is(err, unix.ENOENT) {
		return true
	}
	return err == nil && len(bytes.TrimSpace(b)) == 0
}

// pidsRecursive lists the pids of dir and every sub-cgroup.
func pidsRecursive(dir string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, os.ErrNotExist) {
				return nil // a sub-cgroup removed while we walk
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		pids, err := readPids(p + "/cgroup.procs")
		if err != nil {
			if p != dir && errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return newFileError("", "read", p+"/cgroup.procs", err)
		}
		for _, pid := range pids {
			if !seen[pid] {
				seen[pid] = true
				out = append(out, pid)
			}
		}
		return nil
	})
	if err != nil {
		var fe *fileError
		if !errors.As(err, &fe) {
			err = newFileError("", "list", dir, err)
		}
		return nil, err
	}
	sort.Ints(out)
	return out, nil
}

// subdirs lists the sub-cgroups of dir, deepest first, for removal.
func subdirsDeepFirst(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			out = append(out, p)
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
