package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// joinsHostNS says the spec joins, by path, the namespace skiff itself is
// in (e.g. /proc/1/ns/net): for sysctls that is the host's.
func (v *validator) joinsHostNS(t specs.LinuxNamespaceType, proc string) bool {
	for _, ns := range v.s.Linux.Namespaces {
		if ns.Type != t || ns.Path == "" {
			continue
		}
		var a, b unix.Stat_t
		if unix.Stat(ns.Path, &a) != nil || unix.Stat("/proc/self/ns/"+proc, &b) != nil {
			return false
		}
		return a.Dev == b.Dev && a.Ino == b.Ino
	}
	return false
}
