package integration

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestNoFaultAroundBuild: the measurement build (`make skiff-nofaultaround`,
// init/faultaround.h) registers its binary's read-only mappings with
// userfaultfd for write-protect tracking in its Go processes, so the kernel
// maps them page by page; the default build never does. Either way the fd
// stays skiff's: never one of fds 0-2 (a closed stdin is /dev/null for the
// workload, as always) and never in the container.
func TestNoFaultAroundBuild(t *testing.T) {
	nfa := os.Getenv("SKIFF_NOFAULTAROUND_BINARY")
	if nfa == "" {
		t.Skip("SKIFF_NOFAULTAROUND_BINARY is not set: `make integration` builds .build/skiff-nofaultaround and sets it")
	}
	if why := uffdWPAsyncMissing(); why != "" {
		t.Skip("this kernel cannot do what the build uses: " + why)
	}
	for _, tc := range []struct {
		bin      string
		wantUffd bool
	}{{skiffBin, false}, {nfa, true}} {
		t.Run(filepath.Base(tc.bin), func(t *testing.T) {
			defer func(old string) { skiffBin = old }(skiffBin)
			skiffBin = tc.bin

			// The workload lists its fds with stdin and stderr closed by
			// the caller, then waits to be looked at.
			b := newBundle(t, "sh", "-c", `for f in /proc/self/fd/*; do echo "$f $(readlink $f)"; done; exec sleep 60`)
			b.Save()
			cmd := b.command("run", "--bundle", b.Dir, b.ID)
			cmd = exec.Command("sh", append([]string{"-c", `exec 0<&- 2>&-; exec "$@"`, "sh"}, cmd.Args...)...)
			cmd.Dir = b.Dir
			out, done := startCollecting(t, cmd)
			defer func() {
				b.Skiff("kill", b.ID, "KILL")
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					_ = cmd.Process.Kill()
					<-done
				}
			}()
			waitFor(t, 20*time.Second, "the workload's fd list", func() bool {
				return strings.Contains(out.String(), "/proc/self/fd/2 ")
			})

			// The workload: /dev/null on 0 and 2, no userfaultfd anywhere.
			fds := out.String()
			contains(t, fds, "/proc/self/fd/0 /dev/null\n")
			contains(t, fds, "/proc/self/fd/2 /dev/null\n")
			notContains(t, fds, "userfaultfd")

			// skiff itself (the foreground run, a Go process): its text
			// mapping carries VmFlags "uw" exactly in the nofaultaround
			// build, and the fd that holds the registration is above 2.
			pid := cmd.Process.Pid // sh exec'd skiff
			uw, err := textMappingHasUffdWP(pid, tc.bin)
			if err != nil {
				t.Fatal(err)
			}
			if uw != tc.wantUffd {
				t.Errorf("%s: the text mapping of skiff (pid %d) is registered for userfaultfd write-protect: %v, want %v", tc.bin, pid, uw, tc.wantUffd)
			}
			ufd := uffdFds(t, pid)
			if tc.wantUffd && len(ufd) != 1 {
				t.Errorf("skiff holds userfaultfd fds %v, want exactly one", ufd)
			}
			if !tc.wantUffd && len(ufd) != 0 {
				t.Errorf("the default build holds userfaultfd fds %v", ufd)
			}
			for _, fd := range ufd {
				if fd < 3 {
					t.Errorf("skiff's userfaultfd is fd %d, one of stdin, stdout, stderr", fd)
				}
			}
		})
	}
}

// uffdWPAsyncMissing says why this kernel (or its settings) cannot give a
// process userfaultfd with UFFD_FEATURE_WP_ASYNC (Linux 6.7), or "".
func uffdWPAsyncMissing() string {
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|1 /* UFFD_USER_MODE_ONLY */, 0, 0)
	if errno != 0 {
		return "userfaultfd(2): " + errno.Error()
	}
	defer unix.Close(int(fd))
	api := struct{ API, Features, Ioctls uint64 }{API: 0xAA, Features: 1 << 15}
	const uffdioAPI = 0xc018aa3f // _IOWR(0xAA, 0x3F, struct uffdio_api)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, uffdioAPI, uintptr(unsafe.Pointer(&api))); errno != 0 {
		return "UFFDIO_API with UFFD_FEATURE_WP_ASYNC: " + errno.Error()
	}
	return ""
}

// textMappingHasUffdWP reports whether the executable mapping of bin in
// process pid has the "uw" VmFlag (VM_UFFD_WP) in /proc/PID/smaps.
func textMappingHasUffdWP(pid int, bin string) (bool, error) {
	real, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return false, err
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inText, found := false, false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			inText = len(fields) >= 6 && fields[1] == "r-xp" && fields[5] == real
			found = found || inText
			continue
		}
		if inText && len(fields) > 0 && fields[0] == "VmFlags:" {
			for _, fl := range fields[1:] {
				if fl == "uw" {
					return true, nil
				}
			}
		}
	}
	if !found {
		return false, os.ErrNotExist
	}
	return false, sc.Err()
}

// uffdFds lists the fds of pid that are userfaultfds.
func uffdFds(t *testing.T, pid int) []int {
	t.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == "anon_inode:[userfaultfd]" {
			n, _ := strconv.Atoi(e.Name())
			fds = append(fds, n)
		}
	}
	return fds
}
