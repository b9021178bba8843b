package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/spec"
)

// optimizeAbove: with more syscall names than this, ask libseccomp for a
// binary tree of syscall numbers instead of a linear list of comparisons.
// libseccomp <= 2.5.4 misbehaves with the tree and no rules, and builds
// nodes of four, hence runc's threshold of 32, which we share.
const optimizeAbove = 32

// Compile translates a profile into a loadable Program. It validates the
// profile first (returning spec.Errors), and any later failure names the
// JSON path it came from.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	if s == nil {
		return nil, errors.New("linux.seccomp: no profile to compile")
	}
	if errs := spec.Errors(Validate(s)); len(errs) > 0 {
		return nil, errs
	}
	def := scmpAction(s.DefaultAction, s.DefaultErrnoRet)
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("%s.defaultAction %s: libseccomp %s: %w", path, s.DefaultAction, Version(), err)
	}
	defer f.Release()
	// We load the filter ourselves and set no_new_privs where the spec
	// says; libseccomp must not add it.
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("%s: libseccomp: clear the no_new_privs attribute: %w", path, err)
	}
	abis, err := addArchs(f, s)
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool)
	for _, sc := range s.Syscalls {
		for _, n := range sc.Names {
			names[n] = true
		}
	}
	if len(names) > optimizeAbove {
		if err := f.SetOptimize(2); err != nil && logrus.IsLevelEnabled(logrus.DebugLevel) {
			logrus.Debugf("seccomp: libseccomp %s has no binary-tree optimisation: %v", Version(), err)
		}
	}
	if err := addRules(f, s, def); err != nil {
		return nil, err
	}

	bpf, err := exportBPF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: libseccomp %s: export the filter: %w", path, Version(), err)
	}
	if needsENOSYSStub(s) {
		limits := make([]abiLimit, 0, len(abis))
		for _, a := range abis {
			if l, ok := limitFor(a, names); ok {
				limits = mergeLimit(limits, l)
			}
		}
		bpf = append(enosysStub(limits), bpf...)
	}
	if len(bpf) > bpfMaxInsns {
		return nil, fmt.Errorf("%s: the compiled filter has %d instructions, more than the kernel accepts (%d): merge rules or drop architectures", path, len(bpf), bpfMaxInsns)
	}
	p := &Program{Filter: bpf, Notify: hasNotify(s), TSync: runtimeAllowed(bpf, abis[0])}
	if err := p.setFlags(s); err != nil {
		return nil, err
	}
	return p, nil
}

// addArchs adds the profile's architectures to the filter and returns
// every ABI it then covers, the native one first.
func addArchs(f *libseccomp.ScmpFilter, s *specs.LinuxSeccomp) ([]libseccomp.ScmpArch, error) {
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("%s: libseccomp: native architecture: %w", path, err)
	}
	abis := []libseccomp.ScmpArch{native}
	for i, a := range s.Architectures {
		sa := archs[a]
		if err := f.AddArch(sa); err != nil {
			return nil, fmt.Errorf("%s.architectures[%d]: %s is not supported by libseccomp %s: %w", path, i, a, Version(), err)
		}
		if !containsArch(abis, sa) {
			abis = append(abis, sa)
		}
	}
	return abis, nil
}

// addRules adds a rule per syscall name, skipping names this libseccomp
// does not know and rules that would change nothing.
func addRules(f *libseccomp.ScmpFilter, s *specs.LinuxSeccomp, def libseccomp.ScmpAction) error {
	unknown := make(map[string]bool)
	for i, sc := range s.Syscalls {
		act := scmpAction(sc.Action, sc.ErrnoRet)
		if act == def {
			// libseccomp refuses a rule that changes nothing.
			continue
		}
		conds, err := conditions(sc.Args)
		if err != nil {
			return fmt.Errorf("%s.syscalls[%d].args: %w", path, i, err)
		}
		for _, n := range sc.Names {
			nr, err := libseccomp.GetSyscallFromName(n)
			if err != nil {
				// Newer than this libseccomp (or a typo): the syscall
				// gets the default action, or ENOSYS from the stub.
				unknown[n] = true
				continue
			}
			if err := addRule(f, nr, act, conds); err != nil {
				return fmt.Errorf("%s.syscalls[%d]: %s %s: libseccomp %s: %w", path, i, n, sc.Action, Version(), err)
			}
		}
	}
	if len(unknown) > 0 && logrus.IsLevelEnabled(logrus.DebugLevel) {
		logrus.Debugf("seccomp: syscalls unknown to libseccomp %s skipped: %s", Version(), strings.Join(sortedKeys(unknown), " "))
	}
	return nil
}

// hasNotify: like runc, any NOTIFY rule asks for a listener, even one
// whose syscalls this libseccomp does not know (the agent still expects
// the connection).
func hasNotify(s *specs.LinuxSeccomp) bool {
	for _, sc := range s.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return false
}

// setFlags turns the profile's flags into seccomp(2) flag bits, checking
// that this kernel has them: better a create error naming the flag than
// EINVAL from the init.
func (p *Program) setFlags(s *specs.LinuxSeccomp) error {
	for i, fl := range s.Flags {
		bit := flags[fl]
		switch {
		case bit == unix.SECCOMP_FILTER_FLAG_TSYNC:
			// Asked for: every thread, whatever the runtime's threads
			// then run into (tsync.go).
			p.TSync = true
			continue
		case bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !p.Notify:
			// The kernel refuses it without a listener (EINVAL), and it
			// only changes how a notified task waits.
			continue
		}
		probe := bit
		if bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
			probe |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		}
		if !kernelAccepts(probe) {
			return fmt.Errorf("%s.flags[%d]: this kernel does not support %s (%s): drop the flag", path, i, fl, kernelRelease())
		}
		p.Flags |= bit
	}
	if p.Notify && !kernelAccepts(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		return fmt.Errorf("%s: SCMP_ACT_NOTIFY needs Linux 5.0 or later for a listener fd (this is %s)", path, kernelRelease())
	}
	return nil
}

// scmpAction is the libseccomp action for a spec action; ERRNO and TRACE
// carry errnoRet, EPERM when unset.
func scmpAction(a specs.LinuxSeccompAction, errnoRet *uint) libseccomp.ScmpAction {
	act := actions[a]
	if takesErrno(a) {
		code := defaultErrno
		if errnoRet != nil {
			code = *errnoRet
		}
		act = act.SetReturnCode(int16(code))
	}
	return act
}

// ruleConds is one rule's conditions: AND-ed together, unless split.
type ruleConds struct {
	conds []libseccomp.ScmpCondition
	// split: two conditions test the same argument. libseccomp cannot AND
	// those (it refuses them), so like runc each becomes a rule of its
	// own, which ORs them.
	split bool
}

func conditions(args []specs.LinuxSeccompArg) (ruleConds, error) {
	var rc ruleConds
	seen := make(map[uint]bool, len(args))
	for k, a := range args {
		c, err := libseccomp.MakeCondition(a.Index, operators[a.Op], a.Value, a.ValueTwo)
		if err != nil {
			return rc, fmt.Errorf("[%d]: %w", k, err)
		}
		if seen[a.Index] {
			rc.split = true
		}
		seen[a.Index] = true
		rc.conds = append(rc.conds, c)
	}
	return rc, nil
}

func addRule(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, act libseccomp.ScmpAction, rc ruleConds) error {
	switch {
	case len(rc.conds) == 0:
		return f.AddRule(nr, act)
	case rc.split:
		for _, c := range rc.conds {
			if err := f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
				return err
			}
		}
		return nil
	default:
		return f.AddRuleConditional(nr, act, rc.conds)
	}
}

// exportBPF has libseccomp write its program into a memfd (libseccomp 2.5
// has no export to memory) and reads it back as sock_filter structs.
func exportBPF(f *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("skiff-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	file := os.NewFile(uintptr(fd), "skiff-seccomp-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, err
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(file)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 || len(raw)%insnSize != 0 {
		return nil, fmt.Errorf("libseccomp wrote %d bytes, not a whole BPF program", len(raw))
	}
	// libseccomp writes struct sock_filter in the host's byte order.
	out := make([]unix.SockFilter, len(raw)/insnSize)
	for i := range out {
		o := raw[i*insnSize:]
		out[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(o), Jt: o[2], Jf: o[3], K: binary.NativeEndian.Uint32(o[4:])}
	}
	return out, nil
}

// needsENOSYSStub: only a denying default action needs the stub. After
// an allowing one (ALLOW, LOG) nothing is denied; after TRACE the tracer
// decides (runc: a good tracer handles new syscalls itself); ERRNO(ENOSYS)
// already is the answer.
func needsENOSYSStub(s *specs.LinuxSeccomp) bool {
	switch s.DefaultAction {
	case specs.ActAllow, specs.ActLog, specs.ActTrace:
		return false
	case specs.ActErrno:
		return s.DefaultErrnoRet == nil || *s.DefaultErrnoRet != uint(unix.ENOSYS)
	}
	return true
}

// auditArchs is the kernel's AUDIT_ARCH_* value of each libseccomp ABI,
// what seccomp_data.arch holds.
var auditArchs = map[libseccomp.ScmpArch]uint32{
	libseccomp.ArchX86:         unix.AUDIT_ARCH_I386,
	libseccomp.ArchAMD64:       unix.AUDIT_ARCH_X86_64,
	libseccomp.ArchX32:         unix.AUDIT_ARCH_X86_64,
	libseccomp.ArchARM:         unix.AUDIT_ARCH_ARM,
	libseccomp.ArchARM64:       unix.AUDIT_ARCH_AARCH64,
	libseccomp.ArchMIPS:        unix.AUDIT_ARCH_MIPS,
	libseccomp.ArchMIPS64:      unix.AUDIT_ARCH_MIPS64,
	libseccomp.ArchMIPS64N32:   unix.AUDIT_ARCH_MIPS64N32,
	libseccomp.ArchMIPSEL:      unix.AUDIT_ARCH_MIPSEL,
	libseccomp.ArchMIPSEL64:    unix.AUDIT_ARCH_MIPSEL64,
	libseccomp.ArchMIPSEL64N32: unix.AUDIT_ARCH_MIPSEL64N32,
	libseccomp.ArchPPC:         unix.AUDIT_ARCH_PPC,
	libseccomp.ArchPPC64:       unix.AUDIT_ARCH_PPC64,
	libseccomp.ArchPPC64LE:     unix.AUDIT_ARCH_PPC64LE,
	libseccomp.ArchS390:        unix.AUDIT_ARCH_S390,
	libseccomp.ArchS390X:       unix.AUDIT_ARCH_S390X,
	libseccomp.ArchPARISC:      unix.AUDIT_ARCH_PARISC,
	libseccomp.ArchPARISC64:    unix.AUDIT_ARCH_PARISC64,
	libseccomp.ArchRISCV64:     unix.AUDIT_ARCH_RISCV64,
	libseccomp.ArchLOONGARCH64: unix.AUDIT_ARCH_LOONGARCH64,
	libseccomp.ArchM68K:        unix.AUDIT_ARCH_M68K,
	libseccomp.ArchSH:          unix.AUDIT_ARCH_SHEL,
	libseccomp.ArchSHEB:        unix.AUDIT_ARCH_SH,
}

// syscallBase is where an ABI's syscall numbers start (MIPS numbers carry
// the ABI in their thousands, x32 numbers bit 30).
var syscallBase = map[libseccomp.ScmpArch]int32{
	libseccomp.ArchX32:         x32SyscallBit,
	libseccomp.ArchMIPS:        4000,
	libseccomp.ArchMIPSEL:      4000,
	libseccomp.ArchMIPS64:      5000,
	libseccomp.ArchMIPSEL64:    5000,
	libseccomp.ArchMIPS64N32:   6000,
	libseccomp.ArchMIPSEL64N32: 6000,
}

// syscallSpan bounds the search for direct-wired multiplexed syscalls
// above an ABI's base; every table has fewer than 1024 entries.
const syscallSpan = 1024

// limitFor finds the highest syscall number the filter can match on ABI a
// for the profile's names. Numbers come from libseccomp, by name, except
// for syscalls libseccomp resolves to a negative pseudo number (socket(2)
// and the SysV IPC calls where socketcall(2) and ipc(2) multiplex them,
// x86 and s390 for instance): for those libseccomp also writes rules for
// the multiplexer and for the direct syscall, whose number it does not
// give by name. It is found by looking the numbers above the limit up, so
// that the stub never answers ENOSYS where the profile has a rule.
func limitFor(a libseccomp.ScmpArch, names map[string]bool) (abiLimit, bool) {
	audit, ok := auditArchs[a]
	if !ok {
		return abiLimit{}, false
	}
	hi := int32(-1)
	pseudo := false
	for n := range names {
		nr, err := libseccomp.GetSyscallFromNameByArch(n, a)
		if err != nil {
			continue
		}
		if nr < 0 {
			pseudo = true
			continue
		}
		if int32(nr) > hi {
			hi = int32(nr)
		}
	}
	if pseudo {
		base := syscallBase[a]
		for nr := max(hi+1, base); nr < base+syscallSpan; nr++ {
			n, err := libseccomp.ScmpSyscall(nr).GetNameByArch(a)
			if err == nil && (names[n] || n == "socketcall" || n == "ipc") {
				hi = nr
			}
		}
	}
	if hi <= 0 {
		return abiLimit{}, false
	}
	l := abiLimit{audit: audit, multiplexZero: a == libseccomp.ArchS390 || a == libseccomp.ArchS390X}
	if a == libseccomp.ArchX32 {
		l.x32Max = uint32(hi)
	} else {
		l.max = uint32(hi)
	}
	return l, true
}

// mergeLimit adds l to limits, folding x86_64 and x32 into one section.
func mergeLimit(limits []abiLimit, l abiLimit) []abiLimit {
	for i := range limits {
		if limits[i].audit == l.audit {
			if l.max != 0 {
				limits[i].max = l.max
			}
			if l.x32Max != 0 {
				limits[i].x32Max = l.x32Max
			}
			return limits
		}
	}
	return append(limits, l)
}

func containsArch(as []libseccomp.ScmpArch, a libseccomp.ScmpArch) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "unknown kernel"
	}
	return "Linux " + unix.ByteSliceToString(u.Release[:])
}
