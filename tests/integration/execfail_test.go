package integration

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// One test per reason an execve fails: create must fail (not start), with
// one line naming the file, the reason and what to do, and keeping the
// phrases podman matches to pick exit codes 126/127.

// execFailBundle makes a bundle running path, with files (rootfs-relative
// name -> content, mode) added to its rootfs.
func execFailBundle(t *testing.T, args []string, files map[string]fileSpec) *Bundle {
	t.Helper()
	b := newBundle(t, args...)
	for name, f := range files {
		p := filepath.Join(b.Dir, "rootfs", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, f.mode)
	}
	b.Save()
	return b
}

type fileSpec struct {
	data []byte
	mode os.FileMode
}

func TestExecFailNotInPath(t *testing.T) {
	b := newBundle(t, "nosuchcmd")
	b.Spec.Process.Env = []string{"PATH=/bin:/usr/bin"}
	b.Save()
	expectCreateFails(t, b, `nosuchcmd`, `executable file not found in $PATH`, `searched /bin:/usr/bin inside the container`)
}

func TestExecFailNoPathVariable(t *testing.T) {
	b := newBundle(t, "nosuchcmd")
	b.Spec.Process.Env = []string{"A=1"}
	b.Save()
	expectCreateFails(t, b, `executable file not found in $PATH`, `the default: process.env has no PATH`)
}

func TestExecFailMissingFile(t *testing.T) {
	b := newBundle(t, "/opt/nothing/here")
	expectCreateFails(t, b, `/opt/nothing/here`, `no such file or directory`, `resolved inside the container's rootfs`)
}

func TestExecFailMissingELFInterpreter(t *testing.T) {
	host := "/bin/true"
	f, err := elf.Open(host)
	if err != nil {
		t.Skipf("%s: %v", host, err)
	}
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			p.ReadAt(b, 0)
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	f.Close()
	if interp == "" {
		t.Skipf("%s is statically linked", host)
	}
	data, _ := os.ReadFile(host)
	// A dynamically linked binary copied without its loader: the
	// busybox rootfs has no /lib64.
	b := execFailBundle(t, []string{"/opt/true-dyn"}, map[string]fileSpec{"opt/true-dyn": {data, 0o755}})
	if _, err := os.Stat(filepath.Join(b.Dir, "rootfs", interp)); err == nil {
		t.Skipf("the rootfs has %s", interp)
	}
	expectCreateFails(t, b, `/opt/true-dyn`, `no such file or directory`, `ELF interpreter `+interp+` is not in the container's rootfs`)
}

func TestExecFailCRLFShebang(t *testing.T) {
	b := execFailBundle(t, []string{"/opt/crlf.sh"}, map[string]fileSpec{"opt/crlf.sh": {[]byte("#!/bin/sh\r\necho hi\r\n"), 0o755}})
	expectCreateFails(t, b, `/opt/crlf.sh`, `no such file or directory`, `carriage return`, `dos2unix`)
}

func TestExecFailMissingScriptInterpreter(t *testing.T) {
	b := execFailBundle(t, []string{"/opt/tool.py"}, map[string]fileSpec{"opt/tool.py": {[]byte("#!/usr/bin/python3 -u\nprint(1)\n"), 0o755}})
	expectCreateFails(t, b, `/opt/tool.py`, `no such file or directory`, `its interpreter /usr/bin/python3 (from the #! line) is not in the container's rootfs`)
}

// elfHeader is a minimal 64-bit little-endian ELF header for machine m.
func elfHeader(m elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1
	le := binary.LittleEndian
	le.PutUint16(h[16:], uint16(elf.ET_EXEC))
	le.PutUint16(h[18:], uint16(m))
	le.PutUint32(h[20:], 1)
	le.PutUint16(h[52:], 64)
	le.PutUint16(h[54:], 56)
	le.PutUint16(h[58:], 64)
	return h
}

func TestExecFailWrongArchitecture(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the architecture check names x86-64 binaries")
	}
	b := execFailBundle(t, []string{"/opt/arm-binary"}, map[string]fileSpec{"opt/arm-binary": {elfHeader(elf.EM_AARCH64), 0o755}})
	expectCreateFails(t, b, `/opt/arm-binary`, `exec format error`, `built for EM_AARCH64, this host runs EM_X86_64`)
}

func TestExecFailNotExecutable(t *testing.T) {
	b := execFailBundle(t, []string{"/opt/script.sh"}, map[string]fileSpec{"opt/script.sh": {[]byte("#!/bin/sh\necho hi\n"), 0o644}})
	expectCreateFails(t, b, `/opt/script.sh`, `permission denied`, `not executable`, `chmod +x`)
}

func TestExecFailNotExecutableByTheUser(t *testing.T) {
	b := execFailBundle(t, []string{"/opt/root-only"}, map[string]fileSpec{"opt/root-only": {[]byte("#!/bin/sh\necho hi\n"), 0o700}})
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.Save()
	expectCreateFails(t, b, `/opt/root-only`, `permission denied`, `uid 1000 may not execute it`)
}

func TestExecFailDirectory(t *testing.T) {
	b := newBundle(t, "/opt/adir")
	os.MkdirAll(filepath.Join(b.Dir, "rootfs/opt/adir"), 0o755)
	expectCreateFails(t, b, `/opt/adir`, `permission denied`, `is a directory`)
}

func TestExecFailNoexecMount(t *testing.T) {
	b := newBundle(t, "/mnt/ne/run.sh")
	src := filepath.Join(b.Dir, "noexec-src")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/mnt/ne", Type: "bind", Source: src, Options: []string{"bind", "noexec"}})
	b.Save()
	expectCreateFails(t, b, `/mnt/ne/run.sh`, `permission denied`, `noexec mount`)
}

// The same explanations for exec, which exits 255: a binary copied onto a
// noexec tmpfs of a running container.
func TestExecFailNoexecTmpfsInExec(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev"}})
	b.Save()
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	b.MustSkiff("exec", b.ID, "cp", "/bin/busybox", "/scratch/bb")
	r := b.Skiff("exec", b.ID, "/scratch/bb", "true")
	if r.Code != 255 {
		t.Fatalf("exec of a file on a noexec mount must exit 255:\n%s", r)
	}
	contains(t, r.Stderr, "exec failed: ")
	contains(t, r.Stderr, "/scratch/bb")
	contains(t, r.Stderr, "permission denied")
	contains(t, r.Stderr, "noexec mount")
	r = b.Skiff("exec", b.ID, "/scratch")
	if r.Code != 255 || !strings.Contains(r.Stderr, "is a directory") {
		t.Fatalf("exec of a directory:\n%s", r)
	}
}

// What containerd and podman read: exactly one JSON error line in --log
// with the whole reason, and the same text on stderr.
func TestExecFailJSONLogLine(t *testing.T) {
	b := newBundle(t, "nosuchcmd")
	logFile := filepath.Join(b.Dir, "log.json")
	r := b.Skiff("--log", logFile, "--log-format", "json", "create", "--bundle", b.Dir, b.ID)
	if r.Code != 1 {
		t.Fatalf("create must fail:\n%s", r)
	}
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 1 || lines[0]["level"] != "error" {
		t.Fatalf("want exactly one error line in the log, got %v", lines)
	}
	msg := lines[0]["msg"]
	want := `exec: "nosuchcmd": executable file not found in $PATH`
	if !strings.Contains(msg, want) {
		t.Fatalf("log msg %q lacks %q", msg, want)
	}
	if strings.TrimSpace(r.Stderr) != msg {
		t.Fatalf("stderr %q must be the log message %q", r.Stderr, msg)
	}
}

// A foreground run fails the same way, before anything runs.
func TestExecFailForegroundRun(t *testing.T) {
	b := newBundle(t, "/opt/nothing")
	r := b.Run()
	if r.Code != 1 {
		t.Fatalf("run of a missing binary must exit 1:\n%s", r)
	}
	contains(t, r.Stderr, "no such file or directory")
}
