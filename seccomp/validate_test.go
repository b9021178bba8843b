package seccomp

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidate(t *testing.T) {
	good := func() *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
			Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"read", "write"}, Action: specs.ActAllow},
				{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}},
				{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: u(13)},
				{Names: []string{"some_future_syscall"}, Action: specs.ActAllow},
			},
		}
	}
	cases := []struct {
		name string
		edit func(s *specs.LinuxSeccomp)
		want []string // "path: substring", in order
	}{
		{"valid", func(s *specs.LinuxSeccomp) {}, nil},
		{"docker's", func(s *specs.LinuxSeccomp) { *s = *loadDocker(t) }, nil},
		{"no default action", func(s *specs.LinuxSeccomp) { s.DefaultAction = "" }, []string{"linux.seccomp.defaultAction: must be set"}},
		{"unknown default action", func(s *specs.LinuxSeccomp) { s.DefaultAction = "SCMP_ACT_MAYBE" }, []string{`linux.seccomp.defaultAction: unknown action "SCMP_ACT_MAYBE"`}},
		{"notify default", func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActNotify; s.ListenerPath = "/x" }, []string{"linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"}},
		{"defaultErrnoRet on allow", func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActAllow; s.DefaultErrnoRet = u(1) }, []string{"linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE"}},
		{"defaultErrnoRet too large", func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = u(70000) }, []string{"linux.seccomp.defaultErrnoRet: 70000 is not an errno"}},
		{"unknown arch", func(s *specs.LinuxSeccomp) { s.Architectures = append(s.Architectures, "SCMP_ARCH_Z80") }, []string{`linux.seccomp.architectures[2]: unknown architecture "SCMP_ARCH_Z80"`}},
		{"near miss", func(s *specs.LinuxSeccomp) { s.Syscalls[1].Args[0].Op = "eq" }, []string{`linux.seccomp.syscalls[1].args[0].op: unknown operator "eq" (did you mean "SCMP_CMP_EQ"?)`}},
		{"unknown flag", func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{flagTsync, "SECCOMP_FILTER_FLAG_FAST"} }, []string{`linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_FAST"`}},
		{"no names", func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names = nil }, []string{"linux.seccomp.syscalls[0].names: must name at least one syscall"}},
		{"empty name", func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names[1] = "" }, []string{"linux.seccomp.syscalls[0].names[1]: must not be empty"}},
		{"no action", func(s *specs.LinuxSeccomp) { s.Syscalls[1].Action = "" }, []string{"linux.seccomp.syscalls[1].action: must be set"}},
		{"unknown action", func(s *specs.LinuxSeccomp) { s.Syscalls[1].Action = "SCMP_ACT_PANIC" }, []string{`linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_PANIC"`}},
		{"errnoRet on kill", func(s *specs.LinuxSeccomp) { s.Syscalls[2].Action = specs.ActKillProcess }, []string{"linux.seccomp.syscalls[2].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno, not SCMP_ACT_KILL_PROCESS"}},
		{"errnoRet on trace", func(s *specs.LinuxSeccomp) { s.Syscalls[2].Action = specs.ActTrace }, nil},
		{"arg index", func(s *specs.LinuxSeccomp) { s.Syscalls[1].Args[0].Index = 6 }, []string{"linux.seccomp.syscalls[1].args[0].index: 6 is out of range"}},
		{"bad operator", func(s *specs.LinuxSeccomp) { s.Syscalls[1].Args[0].Op = "SCMP_CMP_ABOUT" }, []string{`linux.seccomp.syscalls[1].args[0].op: unknown operator "SCMP_CMP_ABOUT"`}},
		{"no operator", func(s *specs.LinuxSeccomp) { s.Syscalls[1].Args[0].Op = "" }, []string{"linux.seccomp.syscalls[1].args[0].op: must be set"}},
		{"notify needs a listener", func(s *specs.LinuxSeccomp) {
			s.Syscalls[2] = specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify}
		}, []string{"linux.seccomp.listenerPath: must be set: linux.seccomp.syscalls[2] uses SCMP_ACT_NOTIFY"}},
		{"notify with a listener", func(s *specs.LinuxSeccomp) {
			s.Syscalls[2] = specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify}
			s.ListenerPath = "/run/agent.sock"
		}, nil},
		{"notify on write", func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Action = specs.ActNotify
			s.ListenerPath = "/run/agent.sock"
		}, []string{"linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for write"}},
		{"notify on sendmsg", func(s *specs.LinuxSeccomp) {
			s.Syscalls[0] = specs.LinuxSyscall{Names: []string{"sendmsg"}, Action: specs.ActNotify}
			s.ListenerPath = "/run/agent.sock"
		}, []string{"linux.seccomp.syscalls[0].names[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg"}},
		{"listener path too long", func(s *specs.LinuxSeccomp) { s.ListenerPath = "/" + strings.Repeat("x", 200) }, []string{"linux.seccomp.listenerPath: 201 bytes is longer"}},
		{"everything at once", func(s *specs.LinuxSeccomp) {
			s.DefaultAction = ""
			s.Architectures[0] = "x86_64"
			s.Syscalls[1].Args[0].Index = 7
			s.Syscalls[1].Args[0].Op = "=="
		}, []string{
			"linux.seccomp.defaultAction: must be set",
			"linux.seccomp.architectures[0]: unknown architecture",
			"linux.seccomp.syscalls[1].args[0].index: 7 is out of range",
			"linux.seccomp.syscalls[1].args[0].op: unknown operator",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good()
			c.edit(s)
			got := Validate(s)
			if len(got) != len(c.want) {
				t.Fatalf("got %d problems, want %d: %v", len(got), len(c.want), got)
			}
			for i, w := range c.want {
				if !strings.HasPrefix(got[i].String(), w) {
					t.Errorf("problem %d: got %q, want it to start with %q", i, got[i].String(), w)
				}
			}
		})
	}
	if Validate(nil) != nil {
		t.Error("no profile, no problems")
	}
}
