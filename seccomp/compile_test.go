package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/spec"
)

// The translation tests compile profiles that name SCMP_ARCH_X86_64 and
// run the BPF in bpfsim_test.go for x86_64 syscalls, so they hold on any
// host (libseccomp can build a filter for any arch).

func u(v uint) *uint { return &v }

const (
	archX86_64 = unix.AUDIT_ARCH_X86_64
	archI386   = unix.AUDIT_ARCH_I386
)

// nr is name's syscall number on arch, from libseccomp's table.
func nr(t *testing.T, a libseccomp.ScmpArch, name string) int32 {
	t.Helper()
	n, err := libseccomp.GetSyscallFromNameByArch(name, a)
	if err != nil || n < 0 {
		t.Fatalf("no %s syscall %q in libseccomp: %v", a, name, err)
	}
	return int32(n)
}

func x64(t *testing.T, name string) int32 { return nr(t, libseccomp.ArchAMD64, name) }

type call struct {
	arch uint32 // AUDIT_ARCH_*, x86_64 when zero
	nr   int32
	args []uint64
	want uint32
}

func mustCompile(t *testing.T, s *specs.LinuxSeccomp) *Program {
	t.Helper()
	p, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func expect(t *testing.T, p *Program, calls []call) {
	t.Helper()
	for _, c := range calls {
		d := seccompData{nr: c.nr, arch: c.arch}
		if d.arch == 0 {
			d.arch = archX86_64
		}
		copy(d.args[:], c.args)
		got, err := runBPF(p.Filter, d)
		if err != nil {
			t.Fatalf("run the filter: %v", err)
		}
		if got != c.want {
			t.Errorf("arch %#x syscall %d args %v: got %s, want %s", d.arch, c.nr, c.args, retName(got), retName(c.want))
		}
	}
}

func TestActions(t *testing.T) {
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		ListenerPath:  "/run/agent.sock",
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActErrno},
			{Names: []string{"rmdir"}, Action: specs.ActErrno, ErrnoRet: u(uint(unix.EROFS))},
			{Names: []string{"chdir"}, Action: specs.ActKill},
			{Names: []string{"fchdir"}, Action: specs.ActKillThread},
			{Names: []string{"getcwd"}, Action: specs.ActKillProcess},
			{Names: []string{"chmod"}, Action: specs.ActTrap},
			{Names: []string{"fchmod"}, Action: specs.ActTrace, ErrnoRet: u(7)},
			{Names: []string{"fchown"}, Action: specs.ActTrace},
			{Names: []string{"chown"}, Action: specs.ActLog},
			{Names: []string{"unlink"}, Action: specs.ActNotify},
			{Names: []string{"getpid"}, Action: specs.ActAllow}, // = default: skipped
		},
	}
	p := mustCompile(t, s)
	if !p.Notify {
		t.Error("a NOTIFY rule must make Notify true")
	}
	expect(t, p, []call{
		{nr: x64(t, "mkdir"), want: retErrno(unix.EPERM)},
		{nr: x64(t, "rmdir"), want: retErrno(unix.EROFS)},
		{nr: x64(t, "chdir"), want: retKillThread},
		{nr: x64(t, "fchdir"), want: retKillThread},
		{nr: x64(t, "getcwd"), want: retKillProcess},
		{nr: x64(t, "chmod"), want: retTrap},
		{nr: x64(t, "fchmod"), want: retTrace(7)},
		{nr: x64(t, "fchown"), want: retTrace(uint32(unix.EPERM))},
		{nr: x64(t, "chown"), want: retLog},
		{nr: x64(t, "unlink"), want: retNotify},
		{nr: x64(t, "getpid"), want: retAllow},
		{nr: 1000, want: retAllow},
	})
}

func TestOperators(t *testing.T) {
	cases := []struct {
		op         specs.LinuxSeccompOperator
		value, two uint64
		allowed    []uint64
		denied     []uint64
	}{
		{specs.OpEqualTo, 8, 0, []uint64{8}, []uint64{0, 9, 1<<32 | 8}},
		{specs.OpNotEqual, 8, 0, []uint64{0, 9, 1<<32 | 8}, []uint64{8}},
		{specs.OpLessThan, 8, 0, []uint64{0, 7}, []uint64{8, 9, 1 << 32}},
		{specs.OpLessEqual, 8, 0, []uint64{0, 8}, []uint64{9, 1 << 32}},
		{specs.OpGreaterThan, 8, 0, []uint64{9, 1 << 32}, []uint64{0, 8}},
		{specs.OpGreaterEqual, 8, 0, []uint64{8, 1 << 40}, []uint64{7}},
		// value is the mask, valueTwo what the masked argument must be.
		{specs.OpMaskedEqual, 0xff00, 0x1200, []uint64{0x1200, 0x12ab, 1<<32 | 0x1234}, []uint64{0x1300, 0}},
		// Docker's clone rule: no namespace flags.
		{specs.OpMaskedEqual, 0x7E020000, 0, []uint64{unix.CLONE_VM | unix.CLONE_FS}, []uint64{unix.CLONE_NEWUSER, unix.CLONE_NEWNS}},
		// 64-bit values compare both halves.
		{specs.OpEqualTo, 1<<32 | 8, 0, []uint64{1<<32 | 8}, []uint64{8}},
	}
	for _, c := range cases {
		t.Run(string(c.op), func(t *testing.T) {
			p := mustCompile(t, &specs.LinuxSeccomp{
				DefaultAction: specs.ActErrno,
				Architectures: []specs.Arch{specs.ArchX86_64},
				Syscalls: []specs.LinuxSyscall{{
					Names: []string{"personality"}, Action: specs.ActAllow,
					Args: []specs.LinuxSeccompArg{{Index: 0, Value: c.value, ValueTwo: c.two, Op: c.op}},
				}},
			})
			var calls []call
			for _, a := range c.allowed {
				calls = append(calls, call{nr: x64(t, "personality"), args: []uint64{a}, want: retAllow})
			}
			for _, a := range c.denied {
				calls = append(calls, call{nr: x64(t, "personality"), args: []uint64{a}, want: retErrno(unix.EPERM)})
			}
			expect(t, p, calls)
		})
	}
}

func TestArgsAndedAndSplit(t *testing.T) {
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{
			// Different arguments: both must match.
			{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: u(uint(unix.EAFNOSUPPORT)), Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: unix.AF_INET, Op: specs.OpEqualTo},
				{Index: 1, Value: unix.SOCK_RAW, Op: specs.OpEqualTo},
			}},
			// The same argument twice: either matches (runc's rule).
			{Names: []string{"kill"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 1, Value: uint64(unix.SIGKILL), Op: specs.OpEqualTo},
				{Index: 1, Value: uint64(unix.SIGSTOP), Op: specs.OpEqualTo},
			}},
		},
	})
	sock, kill := x64(t, "socket"), x64(t, "kill")
	expect(t, p, []call{
		{nr: sock, args: []uint64{unix.AF_INET, unix.SOCK_RAW}, want: retErrno(unix.EAFNOSUPPORT)},
		{nr: sock, args: []uint64{unix.AF_INET, unix.SOCK_STREAM}, want: retAllow},
		{nr: sock, args: []uint64{unix.AF_UNIX, unix.SOCK_RAW}, want: retAllow},
		{nr: kill, args: []uint64{1, uint64(unix.SIGKILL)}, want: retErrno(unix.EPERM)},
		{nr: kill, args: []uint64{1, uint64(unix.SIGSTOP)}, want: retErrno(unix.EPERM)},
		{nr: kill, args: []uint64{1, uint64(unix.SIGTERM)}, want: retAllow},
	})
}

func TestUnknownSyscallsSkipped(t *testing.T) {
	p := mustCompile(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"no_such_syscall", "mkdir", "also_unknown"}, Action: specs.ActErrno},
		},
	})
	expect(t, p, []call{{nr: x64(t, "mkdir"), want: retErrno(unix.EPERM)}})
}

// The stub answers ENOSYS above the highest syscall the profile names, on
// each ABI, and leaves everything else to libseccomp's program.
func TestENOSYSStub(t *testing.T) {
	allowSome := []specs.LinuxSyscall{{Names: []string{"read", "write", "mkdir", "exit_group"}, Action: specs.ActAllow}}
	x32 := func(name string) int32 { return nr(t, libseccomp.ArchX32, name) }
	x86 := func(name string) int32 { return nr(t, libseccomp.ArchX86, name) }
	// The direct socket(2) on x86, which libseccomp does not give by name.
	const x86Socket = 359
	if n, _ := libseccomp.ScmpSyscall(x86Socket).GetNameByArch(libseccomp.ArchX86); n != "socket" {
		t.Fatalf("x86 syscall %d is %q, not socket", x86Socket, n)
	}
	cases := []struct {
		name  string
		s     specs.LinuxSeccomp
		calls []call
	}{
		{"errno default", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: allowSome}, []call{
			{nr: x64(t, "mkdir"), want: retAllow},
			{nr: x64(t, "rmdir"), want: retErrno(unix.EPERM)}, // below the highest named (exit_group)
			{nr: x64(t, "clone3"), want: retErrno(unix.ENOSYS)},
			{nr: 1000, want: retErrno(unix.ENOSYS)},
		}},
		{"custom errno default", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: u(uint(unix.EACCES)), Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: allowSome}, []call{
			{nr: x64(t, "rmdir"), want: retErrno(unix.EACCES)},
			{nr: x64(t, "clone3"), want: retErrno(unix.ENOSYS)},
		}},
		{"kill default", specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: allowSome}, []call{
			{nr: x64(t, "rmdir"), want: retKillProcess},
			{nr: 1000, want: retErrno(unix.ENOSYS)},
		}},
		{"ENOSYS default needs no stub", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: u(uint(unix.ENOSYS)), Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: allowSome}, []call{
			{nr: x64(t, "rmdir"), want: retErrno(unix.ENOSYS)},
			{nr: 1000, want: retErrno(unix.ENOSYS)},
		}},
		{"allow default has no stub", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}, []call{
			{nr: 1000, want: retAllow},
		}},
		{"trace default has no stub", specs.LinuxSeccomp{DefaultAction: specs.ActTrace, Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: allowSome}, []call{
			{nr: 1000, want: retTrace(uint32(unix.EPERM))},
		}},
		{"x86_64, x86 and x32", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}, Syscalls: allowSome}, []call{
			{nr: x64(t, "mkdir"), want: retAllow},
			{nr: x64(t, "clone3"), want: retErrno(unix.ENOSYS)},
			{nr: x32("mkdir"), want: retAllow},
			{nr: x32("rmdir"), want: retErrno(unix.EPERM)},
			{nr: x32("clone3"), want: retErrno(unix.ENOSYS)},
			{arch: archI386, nr: x86("mkdir"), want: retAllow},
			{arch: archI386, nr: x86("rmdir"), want: retErrno(unix.EPERM)},
			{arch: archI386, nr: x86("clone3"), want: retErrno(unix.ENOSYS)},
		}},
		{"x32 not in the profile stays a bad arch", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64}, Syscalls: allowSome}, []call{
			{nr: x32("mkdir"), want: retKillThread},
			{nr: x32("clone3"), want: retKillThread},
			{arch: unix.AUDIT_ARCH_AARCH64, nr: 1000, want: retKillThread},
		}},
		// libseccomp resolves socket(2) on x86 to a pseudo number, but its
		// filter tests both socketcall(2) and the direct socket syscall:
		// the stub must not cut the latter off.
		{"x86 direct socket syscalls", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86}, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "socket"}, Action: specs.ActAllow}}}, []call{
			{arch: archI386, nr: x86Socket, want: retAllow},
			{arch: archI386, nr: x86("socketcall"), args: []uint64{1 /* SYS_SOCKET */}, want: retAllow},
			{arch: archI386, nr: x86("socketcall"), args: []uint64{2 /* SYS_BIND */}, want: retErrno(unix.EPERM)},
			{arch: archI386, nr: x86Socket + 1, want: retErrno(unix.ENOSYS)},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.s
			expect(t, mustCompile(t, &s), c.calls)
		})
	}
}

func readDocker() (*specs.LinuxSeccomp, error) {
	data, err := os.ReadFile("testdata/docker-default.json")
	if err != nil {
		return nil, err
	}
	s := new(specs.LinuxSeccomp)
	return s, json.Unmarshal(data, s)
}

func loadDocker(t testing.TB) *specs.LinuxSeccomp {
	t.Helper()
	s, err := readDocker()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDockerProfile(t *testing.T) {
	p := mustCompile(t, loadDocker(t))
	eperm, enosys := retErrno(unix.EPERM), retErrno(unix.ENOSYS)
	expect(t, p, []call{
		{nr: x64(t, "read"), want: retAllow},
		{nr: x64(t, "acct"), want: eperm},
		{nr: x64(t, "kexec_load"), want: eperm},
		{nr: x64(t, "clone3"), want: enosys}, // the profile's own rule
		{nr: x64(t, "clone"), args: []uint64{unix.CLONE_VM | unix.CLONE_THREAD}, want: retAllow},
		{nr: x64(t, "clone"), args: []uint64{unix.CLONE_NEWUSER}, want: eperm},
		{nr: x64(t, "socket"), args: []uint64{unix.AF_INET}, want: retAllow},
		{nr: x64(t, "socket"), args: []uint64{unix.AF_VSOCK}, want: eperm},
		{nr: x64(t, "personality"), args: []uint64{8}, want: retAllow},
		{nr: x64(t, "personality"), args: []uint64{1}, want: eperm},
		{nr: 462 /* mseal: newer than libseccomp 2.5 */, want: enosys},
		{nr: 1000, want: enosys},
		{arch: archI386, nr: nr(t, libseccomp.ArchX86, "read"), want: retAllow},
		{nr: nr(t, libseccomp.ArchX32, "read"), want: retAllow},
	})
	t.Logf("Docker's default profile: %d BPF instructions", len(p.Filter))
}

func TestFlags(t *testing.T) {
	base := specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}
	cases := []struct {
		flags  []specs.LinuxSeccompFlag
		notify bool
		want   uint
	}{
		{nil, false, 0},
		{[]specs.LinuxSeccompFlag{flagTsync}, false, 0},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog}, false, unix.SECCOMP_FILTER_FLAG_LOG},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagSpecAllow, specs.LinuxSeccompFlagLog}, false, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW | unix.SECCOMP_FILTER_FLAG_LOG},
		// Meaningless, and refused by the kernel, without a listener.
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, false, 0},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, true, unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
	}
	for _, c := range cases {
		s := base
		s.Flags = c.flags
		if c.notify {
			s.ListenerPath = "/run/agent.sock"
			s.Syscalls = []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}
		}
		if c.want&^uint(unix.SECCOMP_FILTER_FLAG_LOG) != 0 && !kernelAccepts(c.want|unix.SECCOMP_FILTER_FLAG_NEW_LISTENER) {
			t.Logf("%v: not supported by this kernel, skipped", c.flags)
			continue
		}
		p := mustCompile(t, &s)
		if p.Flags != c.want || p.Notify != c.notify {
			t.Errorf("%v notify=%v: got flags %#x notify=%v, want %#x", c.flags, c.notify, p.Flags, p.Notify, c.want)
		}
	}
}

// TSYNC only where the Go runtime's threads survive the filter (tsync.go).
func TestTSyncDecision(t *testing.T) {
	strict := []string{"execve", "exit_group", "brk", "mmap", "munmap", "futex", "openat", "close", "write", "read", "rt_sigreturn"}
	cases := []struct {
		name string
		s    *specs.LinuxSeccomp
		want bool
	}{
		{"docker", loadDocker(t), true},
		{"allow with a few denials", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}}}, true},
		{"log default", &specs.LinuxSeccomp{DefaultAction: specs.ActLog}, true},
		{"strict allowlist", &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Syscalls: []specs.LinuxSyscall{{Names: strict, Action: specs.ActAllow}}}, false},
		{"strict allowlist, TSYNC asked for", &specs.LinuxSeccomp{DefaultAction: specs.ActKillProcess, Flags: []specs.LinuxSeccompFlag{flagTsync}, Syscalls: []specs.LinuxSyscall{{Names: strict, Action: specs.ActAllow}}}, true},
		{"nanosleep denied", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"nanosleep"}, Action: specs.ActErrno}}}, false},
		{"go's futex ops denied", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"futex"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 1, Value: futexWakePrivate, Op: specs.OpEqualTo}}}}}, false},
		{"other futex ops denied", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"futex"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 9 /* FUTEX_WAIT_BITSET */, Op: specs.OpEqualTo}}}}}, true},
	}
	for _, c := range cases {
		if got := mustCompile(t, c.s).TSync; got != c.want {
			t.Errorf("%s: TSync = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile(&specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE", Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 9, Op: specs.OpEqualTo}}}}})
	var se spec.Errors
	if !errors.As(err, &se) || len(se) != 2 {
		t.Fatalf("want the two validation problems as spec.Errors, got %v", err)
	}
	if !strings.Contains(err.Error(), "linux.seccomp.defaultAction") || !strings.Contains(err.Error(), "linux.seccomp.syscalls[0].args[0].index") {
		t.Errorf("paths missing: %v", err)
	}
	if _, err := Compile(nil); err == nil {
		t.Error("Compile(nil) must fail")
	}
	// An architecture the spec knows but this libseccomp does not.
	for _, a := range []specs.Arch{specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH} {
		if archSupported(archs[a]) {
			continue
		}
		_, err := Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, a}})
		if err == nil || !strings.Contains(err.Error(), "linux.seccomp.architectures[1]") || !strings.Contains(err.Error(), "libseccomp "+Version()) {
			t.Errorf("%s: want an error naming architectures[1] and the libseccomp version, got %v", a, err)
		}
	}
}

func TestProgramJSON(t *testing.T) {
	p := mustCompile(t, loadDocker(t))
	p.Flags = unix.SECCOMP_FILTER_FLAG_LOG
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Program
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*p, back) {
		t.Fatal("program changed in a JSON round trip")
	}
	t.Logf("Docker's profile: %d instructions, %d bytes of JSON", len(p.Filter), len(data))
	// The one-pass parser and encoding/json agree, whatever the fields.
	for _, q := range []Program{*p, {Filter: p.Filter[:3]}, {Filter: p.Filter[:1], Notify: true}, {Filter: p.Filter[:2], Flags: 6, Notify: true}, {Filter: p.Filter[:2], TSync: true}, {Filter: p.Filter[:2], Flags: 2, Notify: true, TSync: true}} {
		data, _ := json.Marshal(&q)
		// MarshalJSON writes by hand what json.Marshal writes for the wire form.
		want, _ := json.Marshal(programJSON{BPF: encodeFilter(q.Filter), Flags: q.Flags, Notify: q.Notify, TSync: q.TSync})
		if !bytes.Equal(data, want) {
			t.Errorf("MarshalJSON wrote %s, json.Marshal of the wire form %s", data, want)
		}
		fast, ok := parseProgramJSON(data)
		var slow programJSON
		if err := json.Unmarshal(data, &slow); err != nil || !ok || !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: one-pass parse %v (ok %v) differs from encoding/json's %v (%v)", data, fast, ok, slow, err)
		}
		indented, _ := json.MarshalIndent(&q, "", "  ")
		var back Program
		if _, ok := parseProgramJSON(indented); ok {
			t.Errorf("the one-pass parser must leave other shapes to encoding/json")
		}
		if err := json.Unmarshal(indented, &back); err != nil || !reflect.DeepEqual(q, back) {
			t.Errorf("indented round trip: %v", err)
		}
	}
	for _, bad := range []string{`{"bpf":""}`, `{"bpf":"AAAA"}`, `{"bpf":1}`, `{"bpf":"!!!!!!!!!!!"}`, `{"bpf":"AAAAAAAAAAA="`} {
		if err := json.Unmarshal([]byte(bad), new(Program)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestFeatures(t *testing.T) {
	f := Features()
	if f.Enabled == nil || !*f.Enabled {
		t.Fatal("enabled must be true")
	}
	for _, want := range []string{"SCMP_ACT_NOTIFY", "SCMP_ACT_KILL_PROCESS"} {
		if !contains(f.Actions, want) {
			t.Errorf("actions lack %s: %v", want, f.Actions)
		}
	}
	if !contains(f.Operators, "SCMP_CMP_MASKED_EQ") || !contains(f.Archs, "SCMP_ARCH_X86_64") || !contains(f.KnownFlags, "SECCOMP_FILTER_FLAG_LOG") {
		t.Errorf("incomplete: %+v", f)
	}
	for _, s := range f.SupportedFlags {
		if !contains(f.KnownFlags, s) {
			t.Errorf("supported flag %s is not a known flag", s)
		}
	}
	if v := Version(); strings.Count(v, ".") != 2 {
		t.Errorf("Version() = %q", v)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
