package seccomp

import (
	"golang.org/x/sys/unix"
)

// The ENOSYS stub.
//
// libseccomp answers every syscall the profile does not mention with the
// default action, usually ERRNO(EPERM). For a syscall newer than the
// profile that is wrong: glibc calls clone3, faccessat2 or close_range
// first and falls back to the old syscall only on ENOSYS, so EPERM breaks
// threads, access(2) and more in containers whose profile predates those
// syscalls (what broke glibc 2.34 under older Docker profiles). libseccomp
// cannot help: it refuses rules for numbers missing from its syscall
// table, and the syscalls that matter most are exactly the ones newer than
// that table (libseccomp 2.5.4 does not know mseal, Linux 6.10 has it).
//
// So, like runc and crun, we put a few instructions in front of
// libseccomp's program: per architecture of the filter, "if the syscall
// number is above the highest number the profile names for this ABI,
// return ENOSYS", else jump into libseccomp's program (which starts by
// loading the architecture itself). Our own layout keeps every
// conditional jump inside its short section, so no 8-bit jump offset can
// overflow whatever the size of the program; the jumps into the filter
// are BPF_JA with a 32-bit offset.
//
//	ld  [4]                       ; arch
//	jeq #AUDIT_ARCH_A, 0, <next>  ; one section per arch
//	ld  [0]                       ; nr
//	jgt #max(A), 0, 1
//	ret #ERRNO(ENOSYS)
//	ja  <filter>
//	...                           ; next section
//	<libseccomp's program>
//
// x86_64 and x32 share AUDIT_ARCH_X86_64; x32 syscall numbers carry bit
// 30, so that section tests the bit first and has a limit for each ABI.
// On s390 and s390x, syscall 0 is how glibc multiplexes numbers the kernel
// may not know: it gets ENOSYS too (as in runc).

// seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
)

// x32SyscallBit marks x32 syscall numbers (__X32_SYSCALL_BIT).
const x32SyscallBit = 0x40000000

var retENOSYS = uint32(unix.SECCOMP_RET_ERRNO) | uint32(unix.ENOSYS)

// abiLimit is the highest syscall number a profile names on one ABI. For
// AUDIT_ARCH_X86_64, max is the x86_64 ABI and x32Max the x32 one; zero
// means the profile names no syscall there (no limit: the filter decides).
type abiLimit struct {
	audit         uint32
	max           uint32
	x32Max        uint32
	multiplexZero bool
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

const (
	opLoadAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	opJeq     = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	opJgt     = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	opJset    = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	opJa      = unix.BPF_JMP | unix.BPF_JA
	opRet     = unix.BPF_RET | unix.BPF_K
)

// enosysStub builds the stub for the given limits, in order (put the
// native arch first: it is the one nearly every syscall has). It returns
// nil when no ABI has a limit.
func enosysStub(limits []abiLimit) []unix.SockFilter {
	prog := []unix.SockFilter{stmt(opLoadAbs, offArch)}
	var toFilter []int // BPF_JA instructions whose target is the filter
	limit := func(max uint32) {
		if max != 0 {
			prog = append(prog, jump(opJgt, max, 0, 1), stmt(opRet, retENOSYS))
		}
		toFilter = append(toFilter, len(prog))
		prog = append(prog, stmt(opJa, 0))
	}
	for _, l := range limits {
		if l.max == 0 && l.x32Max == 0 {
			continue
		}
		start := len(prog)
		prog = append(prog, jump(opJeq, l.audit, 0, 0), stmt(opLoadAbs, offNr))
		if l.multiplexZero {
			prog = append(prog, jump(opJeq, 0, 0, 1), stmt(opRet, retENOSYS))
		}
		if l.audit == unix.AUDIT_ARCH_X86_64 {
			jset := len(prog)
			prog = append(prog, jump(opJset, x32SyscallBit, 0, 0))
			limit(l.max)
			prog[jset].Jt = uint8(len(prog) - jset - 1)
			limit(l.x32Max)
		} else {
			limit(l.max)
		}
		// Not this arch: skip the section with the accumulator still
		// holding the arch for the next comparison.
		prog[start].Jf = uint8(len(prog) - start - 1)
	}
	if len(prog) == 1 {
		return nil
	}
	for _, i := range toFilter {
		prog[i].K = uint32(len(prog) - i - 1)
	}
	return prog
}
