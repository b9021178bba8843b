package process

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// defaultPath is searched when the process has no PATH, as a shell would.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// LookPath resolves args[0] inside the container (after pivot_root) with
// the container's PATH. The error keeps the phrases podman matches to pick
// exit code 127 ("executable file not found in $PATH", "no such file or
// directory").
func LookPath(arg0 string, env []string) (string, error) {
	if strings.Contains(arg0, "/") {
		if _, err := os.Stat(arg0); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("exec: %q: stat %s: no such file or directory (the path is resolved inside the container's rootfs)", arg0, arg0)
			}
			return "", fmt.Errorf("exec: %q: %w", arg0, err)
		}
		return arg0, nil
	}
	path := Getenv(env, "PATH")
	searched := path
	if path == "" {
		path = defaultPath
		searched = path + " (the default: process.env has no PATH)"
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, arg0)
		st, err := os.Stat(p)
		if err != nil || st.IsDir() {
			continue
		}
		if st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH (searched %s inside the container)", arg0, searched)
}

// Explain says why executing path would fail, or returns nil when it looks
// executable. It is run before the container parks in "created", so the
// common mistakes fail `create` with a precise reason instead of a bare
// ENOENT at start: a missing ELF interpreter, a CRLF shebang, a binary for
// another architecture, a noexec mount, a directory, a missing x-bit.
func Explain(path string) error { return explain(path, 0) }

// maxInterpDepth is the kernel's limit on nested #! interpreters
// (BINPRM_MAX_RECURSION).
const maxInterpDepth = 4

func explain(path string, depth int) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("exec %s: permission denied: it is a directory (process.args[0] must name an executable file)", path)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("exec %s: permission denied: not a regular file (%s)", path, st.Mode().Type())
	}
	var sfs unix.Statfs_t
	if unix.Statfs(path, &sfs) == nil && sfs.Flags&unix.ST_NOEXEC != 0 {
		return fmt.Errorf("exec %s: permission denied: it is on a noexec mount (mount it without noexec, or run the file from elsewhere)", path)
	}
	// execve needs an x bit even for root (CAP_DAC_OVERRIDE covers any one
	// of the three, never none).
	if st.Mode()&0o111 == 0 {
		return fmt.Errorf("exec %s: permission denied: the file is not executable (mode %04o: chmod +x it in the image)", path, st.Mode().Perm())
	}
	// AT_EACCESS checks with the effective ids and capabilities, which is
	// what execve will use.
	if err := unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS); errors.Is(err, unix.EACCES) {
		uid, gid := fileOwner(st)
		return fmt.Errorf("exec %s: permission denied: uid %d may not execute it (mode %04o, owner %d:%d)", path, os.Geteuid(), st.Mode().Perm(), uid, gid)
	}
	f, err := os.Open(path)
	if err != nil {
		// Not readable by us is not a reason it cannot be executed.
		return nil
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return explainELF(path, f)
	case bytes.HasPrefix(head, []byte("#!")):
		return explainScript(path, head, depth)
	case bytes.HasPrefix(head, []byte("\x00asm")):
		return fmt.Errorf("exec %s: exec format error: it is a WebAssembly module and skiff has no wasm handler", path)
	}
	return nil
}

// fileOwner returns the owner of st, for an error message.
func fileOwner(st os.FileInfo) (uint32, uint32) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return s.Uid, s.Gid
	}
	return 0, 0
}

func explainELF(path string, f *os.File) error {
	ef, err := readELF(f)
	if err != nil {
		return fmt.Errorf("exec %s: exec format error: a corrupt ELF file: %v", path, err)
	}
	if want := nativeMachine(); want != emNone && ef.machine != want && !compatMachine(ef.machine) {
		return fmt.Errorf("exec %s: exec format error: the binary is built for %s, this host runs %s", path, ef.machine, want)
	}
	if ef.interp != "" {
		if _, err := os.Stat(ef.interp); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("exec %s: no such file or directory: its ELF interpreter %s is not in the container's rootfs (a dynamically linked binary from another distribution, or missing libc?)", path, ef.interp)
		}
	}
	return nil
}

func explainScript(path string, head []byte, depth int) error {
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	if bytes.HasSuffix(line, []byte("\r")) {
		return fmt.Errorf("exec %s: no such file or directory: the script's #! line ends with a carriage return (CRLF line endings: convert it with dos2unix)", path)
	}
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return fmt.Errorf("exec %s: exec format error: empty #! line", path)
	}
	interp := fields[0]
	if _, err := os.Stat(interp); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("exec %s: no such file or directory: its interpreter %s (from the #! line) is not in the container's rootfs", path, interp)
	}
	if depth >= maxInterpDepth {
		return fmt.Errorf("exec %s: too many levels of #! interpreters (the kernel allows %d)", path, maxInterpDepth)
	}
	if err := explain(interp, depth+1); err != nil {
		return fmt.Errorf("exec %s: its interpreter (from the #! line) cannot run: %w", path, err)
	}
	return nil
}
