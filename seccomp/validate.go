package seccomp

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/spec"
)

// path is the JSON path prefix of every problem Validate reports.
const path = "linux.seccomp"

// maxSunPath: a unix socket address holds at most 107 bytes plus the NUL.
const maxSunPath = 107

// Validate checks a seccomp profile without compiling it and returns every
// problem, each with its JSON path. It touches nothing: no libseccomp
// context, no kernel. Syscall names unknown to libseccomp are not a
// problem: profiles list syscalls newer than the host (Compile skips them).
func Validate(s *specs.LinuxSeccomp) []spec.Problem {
	if s == nil {
		return nil
	}
	var e spec.Errors
	if s.DefaultAction == specs.ActNotify {
		// runc refuses it too: every syscall of the init, including the
		// one that reports the listener fd, would wait for an agent that
		// cannot have the fd yet.
		e.Add(path+".defaultAction", "SCMP_ACT_NOTIFY cannot be the default action: the init could not hand the listener fd to the agent; notify chosen syscalls in linux.seccomp.syscalls instead")
	}
	validateAction(&e, path+".defaultAction", s.DefaultAction, s.DefaultErrnoRet, path+".defaultErrnoRet")
	for i, a := range s.Architectures {
		if _, ok := archs[a]; !ok {
			e.Add(fmt.Sprintf("%s.architectures[%d]", path, i), "unknown architecture %q%s", a, known("SCMP_ARCH_", string(a), sortedKeys(archs)))
		}
	}
	for i, f := range s.Flags {
		if _, ok := flags[f]; !ok {
			e.Add(fmt.Sprintf("%s.flags[%d]", path, i), "unknown flag %q%s", f, known("SECCOMP_FILTER_FLAG_", string(f), sortedKeys(flags)))
		}
	}
	notifyAt := -1
	for i, sc := range s.Syscalls {
		p := fmt.Sprintf("%s.syscalls[%d]", path, i)
		if len(sc.Names) == 0 {
			e.Add(p+".names", "must name at least one syscall")
		}
		for j, n := range sc.Names {
			if n == "" {
				e.Add(fmt.Sprintf("%s.names[%d]", p, j), "must not be empty")
			}
			if why, bad := notifyRefused[n]; bad && sc.Action == specs.ActNotify {
				e.Add(fmt.Sprintf("%s.names[%d]", p, j), "SCMP_ACT_NOTIFY cannot be used for %s: %s, so create would hang", n, why)
			}
		}
		validateAction(&e, p+".action", sc.Action, sc.ErrnoRet, p+".errnoRet")
		if sc.Action == specs.ActNotify && notifyAt < 0 {
			notifyAt = i
		}
		for k, a := range sc.Args {
			ap := fmt.Sprintf("%s.args[%d]", p, k)
			if a.Index >= maxArgs {
				e.Add(ap+".index", "%d is out of range: a syscall has %d arguments (0-%d)", a.Index, maxArgs, maxArgs-1)
			}
			if _, ok := operators[a.Op]; !ok {
				if a.Op == "" {
					e.Add(ap+".op", "must be set (one of %s)", strings.Join(sortedKeys(operators), ", "))
				} else {
					e.Add(ap+".op", "unknown operator %q%s", a.Op, known("SCMP_CMP_", string(a.Op), sortedKeys(operators)))
				}
			}
		}
	}
	if notifyAt >= 0 && s.ListenerPath == "" {
		e.Add(path+".listenerPath", "must be set: linux.seccomp.syscalls[%d] uses SCMP_ACT_NOTIFY, and its notifications need an agent listening on a unix socket", notifyAt)
	}
	if len(s.ListenerPath) > maxSunPath {
		e.Add(path+".listenerPath", "%d bytes is longer than a unix socket address can be (%d)", len(s.ListenerPath), maxSunPath)
	}
	return e
}

func validateAction(e *spec.Errors, p string, a specs.LinuxSeccompAction, errnoRet *uint, errnoPath string) {
	if a == "" {
		e.Add(p, "must be set (one of %s)", strings.Join(sortedKeys(actions), ", "))
	} else if _, ok := actions[a]; !ok {
		e.Add(p, "unknown action %q%s", a, known("SCMP_ACT_", string(a), sortedKeys(actions)))
	}
	if errnoRet == nil {
		return
	}
	if !takesErrno(a) && a != "" {
		e.Add(errnoPath, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno, not %s: drop it or change the action", a)
	} else if *errnoRet > maxErrno {
		e.Add(errnoPath, "%d is not an errno: the kernel returns at most %d (MAX_ERRNO)", *errnoRet, maxErrno)
	}
}

// known suggests the spec's spelling of a near miss ("x86_64" for
// SCMP_ARCH_X86_64, "eq" for SCMP_CMP_EQ), or lists the known names.
func known(prefix, name string, names []string) string {
	want := strings.ToUpper(name)
	if !strings.HasPrefix(want, prefix) {
		want = prefix + want
	}
	for _, n := range names {
		if n == want {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}
