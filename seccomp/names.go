package seccomp

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The spec's names for actions, operators, architectures and flags, and
// what each means to libseccomp or the kernel. Validate, Compile and
// Features all read these tables, so a name is known everywhere or nowhere.

// actions maps spec actions to libseccomp actions. SCMP_ACT_KILL is the
// old name of KILL_THREAD (libseccomp and runc agree).
var actions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActKill:        libseccomp.ActKillThread,
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActErrno:       libseccomp.ActErrno,
	specs.ActTrace:       libseccomp.ActTrace,
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActLog:         libseccomp.ActLog,
	specs.ActNotify:      libseccomp.ActNotify,
}

// takesErrno says an action carries a return value (errnoRet). The spec
// requires an error for errnoRet on any other action.
func takesErrno(a specs.LinuxSeccompAction) bool {
	return a == specs.ActErrno || a == specs.ActTrace
}

// defaultErrno is what ERRNO and TRACE return when errnoRet is not set
// (the spec's default, and runc's).
const defaultErrno = uint(unix.EPERM)

// maxErrno is the largest errno the kernel returns: it caps
// SECCOMP_RET_DATA at MAX_ERRNO, so a larger errnoRet is a mistake.
const maxErrno = 4095

var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// maxArgs: a Linux syscall has at most six arguments (index 0..5).
const maxArgs = 6

// archs maps spec architectures to libseccomp's. Whether the installed
// libseccomp supports one (2.5 has no loongarch64, m68k or sh) is only
// known when it is added to a filter, so Compile reports that.
var archs = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86:         libseccomp.ArchX86,
	specs.ArchX86_64:      libseccomp.ArchAMD64,
	specs.ArchX32:         libseccomp.ArchX32,
	specs.ArchARM:         libseccomp.ArchARM,
	specs.ArchAARCH64:     libseccomp.ArchARM64,
	specs.ArchMIPS:        libseccomp.ArchMIPS,
	specs.ArchMIPS64:      libseccomp.ArchMIPS64,
	specs.ArchMIPS64N32:   libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL:      libseccomp.ArchMIPSEL,
	specs.ArchMIPSEL64:    libseccomp.ArchMIPSEL64,
	specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32,
	specs.ArchPPC:         libseccomp.ArchPPC,
	specs.ArchPPC64:       libseccomp.ArchPPC64,
	specs.ArchPPC64LE:     libseccomp.ArchPPC64LE,
	specs.ArchS390:        libseccomp.ArchS390,
	specs.ArchS390X:       libseccomp.ArchS390X,
	specs.ArchPARISC:      libseccomp.ArchPARISC,
	specs.ArchPARISC64:    libseccomp.ArchPARISC64,
	specs.ArchRISCV64:     libseccomp.ArchRISCV64,
	specs.ArchLOONGARCH64: libseccomp.ArchLOONGARCH64,
	specs.ArchM68K:        libseccomp.ArchM68K,
	specs.ArchSH:          libseccomp.ArchSH,
	specs.ArchSHEB:        libseccomp.ArchSHEB,
}

// flagTsync is accepted like runc does, though the spec does not define
// it: it makes Load synchronise every thread even when the profile would
// trip the Go runtime's threads (tsync.go).
const flagTsync specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

// flags maps spec filter flags to seccomp(2) flag bits. We load the filter
// ourselves, so a flag works whenever the kernel has it, whatever the
// libseccomp version (WAIT_KILLABLE_RECV needs libseccomp 2.6 through
// libseccomp, but only Linux 5.19 here).
var flags = map[specs.LinuxSeccompFlag]uint{
	flagTsync:                              unix.SECCOMP_FILTER_FLAG_TSYNC,
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}

// notifyRefused are syscalls a NOTIFY rule must not trap: after loading
// the filter the init reports the listener fd to skiff over its socket
// (sendmsg, and runc's write), and no agent has the fd yet to answer. A
// trapped one would hang create forever. runc refuses write for the same
// reason.
var notifyRefused = map[string]string{
	"write":   "the init reports the listener fd to skiff with it before any agent has the fd",
	"sendmsg": "the init reports the listener fd to skiff with it before any agent has the fd",
}

func sortedKeys[K ~string, V any](m map[K]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}
