package seccomp

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Version is the libseccomp version skiff runs with, e.g. "2.5.4".
func Version() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

// Features is the linux.seccomp part of `skiff features`. Archs lists
// only what the installed libseccomp can add to a filter; supportedFlags
// only what the running kernel accepts (we load filters ourselves, so the
// libseccomp version does not matter for flags).
func Features() *features.Seccomp {
	enabled := true
	f := &features.Seccomp{
		Enabled:    &enabled,
		Actions:    sortedKeys(actions),
		Operators:  sortedKeys(operators),
		KnownFlags: sortedKeys(flags),
	}
	for name, a := range archs {
		if archSupported(a) {
			f.Archs = append(f.Archs, string(name))
		}
	}
	sort.Strings(f.Archs)
	f.SupportedFlags = []string{}
	for _, name := range f.KnownFlags {
		bit := flags[specs.LinuxSeccompFlag(name)]
		if bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
			bit |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		}
		if kernelAccepts(bit) {
			f.SupportedFlags = append(f.SupportedFlags, name)
		}
	}
	return f
}

func archSupported(a libseccomp.ScmpArch) bool {
	f, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		return false
	}
	defer f.Release()
	return f.AddArch(a) == nil
}
