package libct

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/process"
	"github.com/skiff-runtime/skiff/libct/proto"
	"github.com/skiff-runtime/skiff/seccomp"
)

// The fast exec: a process exec'd into a running container is finished by
// the init's C constructor alone (init/nsenter.c, "fastexec"), which then
// execs the workload before the init's Go runtime would have started. That
// Go runtime, the init config's encoding and decoding and the ready round
// trip are ~3 ms of the ~13 ms of `skiff exec` (bench/README.md).
//
// The constructor does the same steps in the same order as the Go init's
// setns path (init/setns.go, init/standard.go finish), from values resolved
// here: capability masks, rlimit numbers, the merged environment. What it
// does not do sends the process through the Go init: a terminal, LSM
// labels, personality, scheduler, I/O priority, a seccomp notify listener.
//
// Any failure of the constructor's own steps (a missing binary, a refused
// setgroups, an exec error) is reported as stage "fastexec" and the whole
// exec is tried once more with the Go init, which fails the same way with
// its precise error (the ELF interpreter that is missing, the uid that may
// not execute the file...). The workload never ran in the failed attempt:
// execve is its last step.

// stageFastExec tags the constructor's errors from the fast exec steps.
const stageFastExec = "fastexec"

// bpfMaxInsns is the kernel's limit on a filter (BPF_MAXINSNS).
const bpfMaxInsns = 4096

// fastExecMax bounds the constructor's orders (init/nsenter.c BOOTSTRAP_MAX).
const fastExecMax = 1<<20 - 4096

// fastExecEnabled: SKIFF_EXEC_INIT=go sends every exec through the Go init
// (to compare, or to rule the fast path out when debugging); hang points
// of the tests are marks of the Go init.
func fastExecEnabled() bool {
	return os.Getenv("SKIFF_EXEC_INIT") != "go" && os.Getenv("SKIFF_TEST_HANG") == ""
}

// fastExecEligible says whether the constructor can do everything p needs.
func fastExecEligible(p *specs.Process, s *specs.Spec, prog *seccomp.Program) bool {
	switch {
	case p.Terminal, p.ApparmorProfile != "", p.SelinuxLabel != "",
		p.Scheduler != nil, p.IOPriority != nil, len(p.Args) == 0:
		return false
	case s.Linux != nil && s.Linux.Personality != nil:
		return false
	case prog != nil && (prog.Notify || len(prog.Filter) == 0 || len(prog.Filter) > bpfMaxInsns):
		// Too long a filter fails in the Go init with its explanation.
		return false
	}
	return true
}

// fastExecDirectives appends the orders of the fast exec to sp's bootstrap
// and returns them without the x-arg lines, and those lines (what an exec
// template keeps).
// It returns false, having added nothing, when they cannot be expressed
// (a NUL byte in a string, too large) or are invalid: the Go init then
// handles the process and reports what is wrong.
func fastExecDirectives(sp *spawn, p *specs.Process, cfg *proto.InitConfig, prog *seccomp.Program) (orders, args string, ok bool) {
	caps, err := process.ResolveCaps(p.Capabilities)
	if err != nil {
		return "", "", false
	}
	// The Go init says this in its debug log; here the parent does.
	if skipped := caps.AmbientSkipped(); len(skipped) > 0 && cfg.Debug {
		logrus.Debugf("process.capabilities.ambient: %v not raised: an ambient capability must also be permitted and inheritable", skipped)
	}
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	hexOf := func(s string) (string, bool) {
		switch {
		case strings.IndexByte(s, 0) >= 0:
			return "", false
		case s == "":
			return "-", true // init/fastexec.h's empty string
		}
		return fmt.Sprintf("%x", s), true
	}
	line("fastexec")
	if !cfg.NoNewKeyring {
		line("x-keyring %x", "_ses."+cfg.ID)
	}
	umask := uint32(0o022)
	if p.User.Umask != nil {
		umask = *p.User.Umask
	}
	line("x-umask %d", umask&0o7777)
	for _, r := range p.Rlimits {
		res, ok := process.RlimitValue(r.Type)
		if !ok {
			return "", "", false
		}
		line("x-rlimit %d %d %d", res, r.Soft, r.Hard)
	}
	if p.NoNewPrivileges {
		line("x-nnp")
	}
	line("x-caps %d %d %d %d %d %d", uint64(caps.Bounding), uint64(caps.Effective), uint64(caps.Inheritable),
		uint64(caps.Permitted), uint64(caps.Ambient), process.LastCap())
	line("x-user %d %d", p.User.UID, p.User.GID)
	if len(p.User.AdditionalGids) > 0 {
		gids := make([]string, len(p.User.AdditionalGids))
		for i, g := range p.User.AdditionalGids {
			gids[i] = fmt.Sprint(g)
		}
		line("x-groups %s", strings.Join(gids, " "))
	}
	cwd, ok := hexOf(p.Cwd)
	if !ok || p.Cwd == "" {
		return "", "", false
	}
	line("x-cwd %s", cwd)
	env := process.MergeEnv(p.Env, cfg.Env)
	for _, kv := range env {
		h, ok := hexOf(kv)
		if !ok {
			return "", "", false
		}
		line("x-env %s", h)
	}
	if i, need := process.HomeSlot(env); need {
		line("x-home %d", i)
	}
	if prog != nil {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&prog.Filter[0])), len(prog.Filter)*int(unsafe.Sizeof(prog.Filter[0])))
		// Single-threaded: no TSYNC; no listener: no killable wait.
		line("x-seccomp %d %x", prog.Flags&^uint(unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV), raw)
	}
	if cfg.PassFDs > 0 {
		line("x-passfds %d", cfg.PassFDs)
	}
	orders = b.String()
	// The arguments last: the template keeps them apart.
	for _, a := range p.Args {
		h, ok := hexOf(a)
		if !ok {
			return "", "", false
		}
		line("x-arg %s", h)
	}
	if sp.boot.Len()+b.Len() > fastExecMax {
		return "", "", false
	}
	sp.boot.WriteString(b.String())
	return orders, b.String()[len(orders):], true
}

// isFastExecFailure tells a failure of the constructor's fast exec steps.
func isFastExecFailure(err error) bool {
	var pe *proto.Error
	return errors.As(err, &pe) && pe.Stage == stageFastExec
}
