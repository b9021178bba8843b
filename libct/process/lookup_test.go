package process

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// elfHeader is a minimal 64-bit little-endian ELF header for machine m,
// with one PT_INTERP program header naming interp when interp is not "".
func elfHeader(m elf.Machine, interp string) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // ELFCLASS64, little endian, EV_CURRENT
	le := binary.LittleEndian
	le.PutUint16(b[16:], uint16(elf.ET_EXEC))
	le.PutUint16(b[18:], uint16(m))
	le.PutUint32(b[20:], 1)
	le.PutUint16(b[52:], 64) // e_ehsize
	le.PutUint16(b[54:], 56) // e_phentsize
	le.PutUint16(b[58:], 64) // e_shentsize
	if interp == "" {
		return b
	}
	le.PutUint64(b[32:], 64) // e_phoff
	le.PutUint16(b[56:], 1)  // e_phnum
	ph := make([]byte, 56)
	data := append([]byte(interp), 0)
	le.PutUint32(ph[0:], uint32(elf.PT_INTERP))
	le.PutUint64(ph[8:], 64+56)              // p_offset
	le.PutUint64(ph[32:], uint64(len(data))) // p_filesz
	le.PutUint64(ph[40:], uint64(len(data))) // p_memsz
	return append(append(b, ph...), data...)
}

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := elf.EM_AARCH64
	if nativeMachine() == elfMachine(elf.EM_AARCH64) {
		other = elf.EM_X86_64
	}
	sh := "/bin/sh"
	if _, err := os.Stat(sh); err != nil {
		t.Skip("no /bin/sh on this host")
	}
	for _, c := range []struct {
		name string
		path string
		want []string // substrings; nil: no error
	}{
		{"script", write("ok.sh", []byte("#!/bin/sh\necho hi\n"), 0o755), nil},
		{"crlf shebang", write("crlf.sh", []byte("#!/bin/sh\r\necho hi\r\n"), 0o755), []string{"no such file or directory", "carriage return", "dos2unix"}},
		{"missing interpreter", write("py.sh", []byte("#!/nonexistent/python3\n"), 0o755), []string{"no such file or directory", "/nonexistent/python3", "#! line"}},
		{"interpreter not executable", write("bad-interp.sh", []byte("#!"+filepath.Join(dir, "plain.sh")+"\n"), 0o755), []string{"its interpreter (from the #! line) cannot run", "plain.sh: permission denied", "not executable"}},
		{"no x bit", write("plain.sh", []byte("#!/bin/sh\n"), 0o644), []string{"permission denied", "not executable", "chmod +x"}},
		{"directory", dir, []string{"permission denied", "directory"}},
		{"wrong arch", write("arm", elfHeader(other, ""), 0o755), []string{"exec format error", "built for " + other.String()}},
		{"missing ELF interpreter", write("dyn", elfHeader(elf.Machine(nativeMachine()), "/lib/ld-nowhere.so.1"), 0o755), []string{"no such file or directory", "ELF interpreter /lib/ld-nowhere.so.1"}},
		{"ELF with interpreter", write("dynok", elfHeader(elf.Machine(nativeMachine()), sh), 0o755), nil},
		{"corrupt ELF", write("bad", []byte("\x7fELF\x02"), 0o755), []string{"exec format error", "corrupt ELF"}},
		{"missing", filepath.Join(dir, "nope"), []string{"no such file or directory"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "wrong arch" && nativeMachine() == emNone {
				t.Skip("native machine unknown on this architecture")
			}
			err := Explain(c.path)
			if c.want == nil {
				if err != nil {
					t.Fatalf("Explain(%s) = %v, want nil", c.path, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Explain(%s) = nil, want an error with %q", c.path, c.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Explain(%s) = %q, want it to contain %q", c.path, msg, w)
				}
			}
		})
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "noexec"), []byte("#!/bin/sh\n"), 0o644)
	os.Mkdir(filepath.Join(bin, "adir"), 0o755)

	got, err := LookPath("tool", []string{"PATH=/nonexistent:" + bin})
	if err != nil || got != filepath.Join(bin, "tool") {
		t.Fatalf("LookPath(tool) = %q, %v", got, err)
	}
	// The last PATH wins, as in the environment the process gets.
	if _, err := LookPath("tool", []string{"PATH=" + bin, "PATH=/nonexistent"}); err == nil {
		t.Fatal("LookPath must use the last PATH of env")
	}
	for _, name := range []string{"noexec", "adir", "missing"} {
		_, err := LookPath(name, []string{"PATH=" + bin})
		if err == nil {
			t.Fatalf("LookPath(%s) must fail", name)
		}
		want := `exec: "` + name + `": executable file not found in $PATH (searched ` + bin + ` inside the container)`
		if err.Error() != want {
			t.Errorf("LookPath(%s) = %q, want %q", name, err, want)
		}
	}
	_, err = LookPath("x", nil)
	if err == nil || !strings.Contains(err.Error(), "the default: process.env has no PATH") {
		t.Errorf("no PATH: %v", err)
	}
	_, err = LookPath("/no/such/file", nil)
	if err == nil || !strings.Contains(err.Error(), "stat /no/such/file: no such file or directory") {
		t.Errorf("absolute: %v", err)
	}
}

func TestBuildEnv(t *testing.T) {
	got := BuildEnv([]string{"A=1", "PATH=/bin", "A=2", "HOME="}, []string{"LISTEN_FDS=1", "PATH=/x"}, 4242424)
	want := []string{"A=2", "PATH=/x", "HOME=/", "LISTEN_FDS=1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("BuildEnv = %q, want %q", got, want)
	}
	got = BuildEnv([]string{"HOME=/h"}, nil, 0)
	if len(got) != 1 || got[0] != "HOME=/h" {
		t.Fatalf("a set HOME is kept: %q", got)
	}
}

// readELF agrees with debug/elf on real binaries of the host.
func TestReadELFMatchesDebugELF(t *testing.T) {
	checked := 0
	for _, p := range []string{"/bin/sh", "/bin/busybox", "/proc/self/exe", "/usr/bin/env"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		ours, err := readELF(f)
		if err != nil {
			t.Errorf("readELF(%s): %v", p, err)
			f.Close()
			continue
		}
		ef, err := elf.NewFile(f)
		if err != nil {
			t.Fatalf("debug/elf %s: %v", p, err)
		}
		interp := ""
		if sec := ef.Section(".interp"); sec != nil {
			b, _ := sec.Data()
			interp = strings.TrimRight(string(b), "\x00")
		}
		checked++
		if uint16(ours.machine) != uint16(ef.Machine) || ours.interp != interp || ours.machine.String() != ef.Machine.String() {
			t.Errorf("%s: readELF %v %q, debug/elf %v %q", p, ours.machine, ours.interp, ef.Machine, interp)
		}
		f.Close()
	}
	if checked == 0 {
		t.Fatal("no ELF file of the host was compared")
	}
}

func TestHomeSlot(t *testing.T) {
	for _, c := range []struct {
		env  []string
		idx  int
		need bool
	}{
		{nil, 0, true},
		{[]string{"PATH=/bin"}, 1, true},
		{[]string{"PATH=/bin", "HOME=", "X=1"}, 1, true},
		{[]string{"HOME=/h"}, 0, false},
		{[]string{"HOME"}, 0, false}, // set, without a value: kept as is
		{[]string{"HOMEDIR=/x"}, 1, true},
	} {
		idx, need := HomeSlot(c.env)
		if need != c.need || (need && idx != c.idx) {
			t.Errorf("HomeSlot(%q) = %d, %v; want %d, %v", c.env, idx, need, c.idx, c.need)
		}
	}
}
