package containerinit

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/process"
)

// joinSessionKeyring gives the container its own session keyring named
// _ses.<id> (PITFALLS 24): otherwise every container shares the caller's
// session keyring and keys leak between them.
func joinSessionKeyring(id, label string) error {
	name := "_ses." + id
	if label != "" {
		if err := process.SetSELinuxKeyLabel(label); err != nil {
			return err
		}
		defer func() { _ = process.SetSELinuxKeyLabel("") }()
	}
	keyID, err := unix.KeyctlJoinSessionKeyring(name)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) {
			return nil // kernel without keyrings
		}
		return fmt.Errorf("join a new session keyring %s: %w (use --no-new-keyring to keep the caller's)", name, err)
	}
	// possessor: all; user: view, read, write, search, link, setattr
	// (the runtime user may still manage it); others: search, so a
	// container user other than root can find it.
	const perm = 0x3f3f0008 | 0x00000008
	if err := unix.KeyctlSetperm(keyID, perm); err != nil {
		return fmt.Errorf("set permissions of the session keyring %s: %w", name, err)
	}
	return nil
}

// loopbackUp brings up lo in a new network namespace, as runc does for
// every private network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("bring up lo: socket: %w", err)
		}
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: set flags: %w", err)
	}
	return nil
}

// writeSysctls writes linux.sysctl through a private procfs instance: the
// container's /proc could have been redirected (CVE-2025-52881), a fresh
// procfs cannot. Validation already limited the keys to namespaced ones.
func writeSysctls(sysctl map[string]string) error {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open a private procfs for sysctls: %w", err)
	}
	defer proc.Close()
	keys := make([]string, 0, len(sysctl))
	for k := range sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// "net/ipv4/conf/eth0.100/forwarding": a key with slashes is a
		// path already, and its dots belong to names (runc's rule).
		rel := "sys/" + k
		if !strings.Contains(k, "/") {
			rel = "sys/" + strings.ReplaceAll(k, ".", "/")
		}
		h, err := proc.OpenRoot(rel)
		if err != nil {
			return fmt.Errorf("linux.sysctl[%q]: open /proc/%s: %w", k, rel, err)
		}
		f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
		h.Close()
		if err != nil {
			return fmt.Errorf("linux.sysctl[%q]: open /proc/%s for writing: %w", k, rel, err)
		}
		_, err = f.WriteString(sysctl[k])
		f.Close()
		if err != nil {
			return fmt.Errorf("linux.sysctl[%q] = %q: %w", k, sysctl[k], err)
		}
	}
	return nil
}

// reopenDevNull replaces stdio fds that point at the host's /dev/null with
// the container's own, so the container holds nothing of the host's.
func reopenDevNull() error {
	var null unix.Stat_t
	for fd := 0; fd < 3; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
			continue
		}
		if null.Ino == 0 {
			if unix.Stat("/dev/null", &null) != nil {
				return nil
			}
		}
		if st.Ino == null.Ino && st.Dev == null.Dev {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return err
		}
		nfd, err := unix.Open("/dev/null", flags&unix.O_ACCMODE|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("reopen /dev/null of the container for fd %d: %w", fd, err)
		}
		err = unix.Dup3(nfd, fd, 0)
		unix.Close(nfd)
		if err != nil {
			return fmt.Errorf("reopen /dev/null of the container for fd %d: %w", fd, err)
		}
	}
	return nil
}

// mkdirCwd creates process.cwd inside the container (after pivot_root, so
// nothing can resolve outside it), as runc does.
func mkdirCwd(cwd string) error {
	if cwd == "" || cwd == "/" {
		return nil
	}
	if err := os.MkdirAll(cwd, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EROFS) {
			// May still exist and be reachable by the container user.
			return nil
		}
		return fmt.Errorf("process.cwd %s: create: %w", cwd, err)
	}
	return nil
}

// verifyCwd refuses a working directory outside the container's root
// (CVE-2024-21626): getcwd fails with ENOENT or returns a path that is not
// absolute ("(unreachable)/...") when the cwd is not below the root.
func verifyCwd() error {
	buf := make([]byte, 4096)
	n, err := unix.Getcwd(buf)
	if err != nil {
		return fmt.Errorf("process.cwd: the working directory is outside the container: getcwd: %w", err)
	}
	if n == 0 || buf[0] != '/' {
		return fmt.Errorf("process.cwd: the working directory %q is outside the container", string(buf[:n]))
	}
	return nil
}

// fixStdioOwner gives stdio to the container user, so it can reopen
// /dev/stdout and friends. /dev/null and failures are ignored: the fds may
// be shared with the caller and not ours to change.
func fixStdioOwner(uid, gid int) {
	for fd := 0; fd < 3; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil {
			continue
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 3) {
			continue
		}
		if int(st.Uid) == uid && int(st.Gid) == gid {
			continue
		}
		_ = unix.Fchown(fd, uid, gid)
	}
}

// closeExtraFDs closes every fd from 3+pass up, except keep and the Go
// runtime's own poller descriptors: nothing of skiff may reach the workload
// (CVE-2024-21626). No Go file operation may happen after this.
func closeExtraFDs(pass int, keep ...int) {
	first := 3 + pass
	var skip []int
	for _, fd := range keep {
		if fd >= first {
			skip = append(skip, fd)
		}
	}
	for _, fd := range openFDs(first) {
		if isPollDescriptor(uintptr(fd)) {
			skip = append(skip, fd)
		}
	}
	sort.Ints(skip)
	lo := first
	for _, fd := range skip {
		if fd > lo {
			_ = closeRange(uint(lo), uint(fd-1))
		}
		if fd >= lo {
			lo = fd + 1
		}
	}
	_ = closeRange(uint(lo), ^uint(0))
}

// The Go scheduler polls its epoll instance and eventfd until execve:
// closing them makes sysmon die with "runtime: epollwait on fd N failed
// with 9" between the close and the exec (containerd hit it on most
// starts: its `start` comes long after `create`, so the next poll is due).
// They are close-on-exec, so the workload never gets them.
//
//go:linkname isPollDescriptor internal/poll.IsPollDescriptor
func isPollDescriptor(fd uintptr) bool

// openFDs lists the descriptors >= first, from /proc/self/fd with raw
// system calls (an *os.File's finaliser could close a reused number later),
// or, without a procfs, every number below 1024.
func openFDs(first int) []int {
	var fds []int
	dfd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		for fd := first; fd < 1024; fd++ {
			fds = append(fds, fd)
		}
		return fds
	}
	defer unix.Close(dfd)
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(dfd, buf)
		if err != nil || n <= 0 {
			return fds
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			if fd, err := strconv.Atoi(name); err == nil && fd >= first && fd != dfd {
				fds = append(fds, fd)
			}
		}
	}
}

func closeRange(first, last uint) error {
	_, _, e := unix.Syscall(unix.SYS_CLOSE_RANGE, uintptr(first), uintptr(last), 0)
	if e != 0 {
		return e
	}
	return nil
}

// setrlimitClearCache calls the standard library's Setrlimit for NOFILE,
// which also forgets the limit Go saved at start-up and would otherwise
// restore on exec.
func setrlimitClearCache(l *unix.Rlimit) error {
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, (*syscall.Rlimit)(unsafe.Pointer(l)))
}
