package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/mountopts"
)

// Options are what validation needs besides the spec.
type Options struct {
	// Bundle is the absolute bundle directory: relative paths in the spec
	// are relative to it.
	Bundle   string
	Rootless bool
	NoPivot  bool
	Systemd  bool
}

// Validate checks a whole config and returns every problem found, as
// Errors, or nil. It reads the host (does the rootfs exist, is a namespace
// path a namespace of the right type) but changes nothing.
func Validate(s *specs.Spec, o Options) error {
	var e Errors
	v := validator{s: s, o: o, e: &e}
	v.version()
	v.root()
	if s.Process == nil {
		e.Add("process", "is required to create a container")
	} else {
		e.Merge(ValidateProcess(s.Process, "process"))
	}
	v.mounts()
	v.hooks()
	if s.Linux == nil {
		e.Add("linux", "is required on Linux (at least {\"namespaces\": [{\"type\": \"mount\"}]})")
	} else {
		v.linux()
	}
	if s.Hostname != "" && !v.hasNS(specs.UTSNamespace) {
		e.Add("hostname", "needs a private uts namespace (add {\"type\": \"uts\"} to linux.namespaces)")
	}
	if s.Domainname != "" && !v.hasNS(specs.UTSNamespace) {
		e.Add("domainname", "needs a private uts namespace (add {\"type\": \"uts\"} to linux.namespaces)")
	}
	return e.OrNil()
}

type validator struct {
	s *specs.Spec
	o Options
	e *Errors
}

func (v *validator) hasNS(t specs.LinuxNamespaceType) bool {
	if v.s.Linux == nil {
		return false
	}
	for _, ns := range v.s.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// newNS says the spec creates a namespace of type t (not joins one).
func (v *validator) newNS(t specs.LinuxNamespaceType) bool {
	if v.s.Linux == nil {
		return false
	}
	for _, ns := range v.s.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

func (v *validator) version() {
	ver := v.s.Version
	if ver == "" {
		v.e.Add("ociVersion", "is required (e.g. %q)", specs.Version)
		return
	}
	major, _, _ := strings.Cut(ver, ".")
	if n, err := strconv.Atoi(major); err != nil || n != specs.VersionMajor {
		v.e.Add("ociVersion", "%q is not a runtime-spec %d.x version (skiff implements %s)", ver, specs.VersionMajor, specs.Version)
	}
}

func (v *validator) root() {
	r := v.s.Root
	if r == nil || r.Path == "" {
		v.e.Add("root.path", "is required: the directory holding the container's root filesystem")
		return
	}
	p := r.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(v.o.Bundle, p)
	}
	st, err := os.Stat(p)
	switch {
	case err != nil:
		v.e.Add("root.path", "rootfs %s: %s (create it, or fix root.path)", p, errnoText(err))
	case !st.IsDir():
		v.e.Add("root.path", "rootfs %s is not a directory", p)
	}
}

func (v *validator) mounts() {
	for i, m := range v.s.Mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		if m.Destination == "" {
			v.e.Add(field+".destination", "is required")
			continue
		}
		if strings.ContainsRune(m.Destination, 0) {
			v.e.Add(field+".destination", "must not contain NUL")
		}
		o, err := mountopts.Parse(m)
		if err != nil {
			v.e.Add(field+".options", "%v", err)
			continue
		}
		if o.Bind {
			if m.Source == "" {
				v.e.Add(field+".source", "a bind mount of %s needs a source", m.Destination)
				continue
			}
			src := m.Source
			if !filepath.IsAbs(src) {
				src = filepath.Join(v.o.Bundle, src)
			}
			if _, err := os.Stat(src); err != nil {
				v.e.Add(field+".source", "bind source %s for %s: %s (create it or drop the mount)", src, m.Destination, errnoText(err))
			}
		}
		if (m.Type == "cgroup" || m.Type == "cgroup2") && o.Bind {
			v.e.Add(field+".type", "%q cannot be combined with bind options", m.Type)
		}
		if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
			v.e.Add(field+".uidMappings", "id-mapped mounts are not supported by skiff")
		}
	}
}

func (v *validator) hooks() {
	h := v.s.Hooks
	if h == nil {
		return
	}
	check := func(kind string, hs []specs.Hook) {
		for i, hk := range hs {
			field := fmt.Sprintf("hooks.%s[%d]", kind, i)
			if !filepath.IsAbs(hk.Path) {
				v.e.Add(field+".path", "%q must be an absolute path", hk.Path)
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				v.e.Add(field+".timeout", "%d must be greater than 0 seconds", *hk.Timeout)
			}
			for j, env := range hk.Env {
				if !strings.Contains(env, "=") {
					v.e.Add(fmt.Sprintf("%s.env[%d]", field, j), "%q is not KEY=value", env)
				}
			}
		}
	}
	check("prestart", h.Prestart) //nolint:staticcheck // Docker still sends prestart hooks
	check("createRuntime", h.CreateRuntime)
	check("createContainer", h.CreateContainer)
	check("startContainer", h.StartContainer)
	check("poststart", h.Poststart)
	check("poststop", h.Poststop)
}

var nsTypes = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.MountNamespace: "mnt",
	specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
}

func (v *validator) linux() {
	lx := v.s.Linux
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range lx.Namespaces {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		proc, ok := nsTypes[ns.Type]
		if !ok {
			v.e.Add(field+".type", "unknown namespace type %q (one of pid, network, mount, ipc, uts, user, cgroup, time)", ns.Type)
			continue
		}
		if seen[ns.Type] {
			v.e.Add(field+".type", "namespace %q is listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if _, err := os.Stat("/proc/self/ns/" + proc); err != nil {
			v.e.Add(field+".type", "this kernel has no %s namespaces (/proc/self/ns/%s: %s)", ns.Type, proc, errnoText(err))
			continue
		}
		if ns.Path != "" {
			if strings.Contains(ns.Path, ",") {
				v.e.Add(field+".path", "%q must not contain a comma", ns.Path)
				continue
			}
			if err := checkNSPath(ns.Path, ns.Type); err != nil {
				v.e.Add(field+".path", "%s", err)
			}
		}
	}
	if !seen[specs.MountNamespace] {
		v.e.Add("linux.namespaces", "must include a mount namespace: skiff builds the container's root filesystem in one")
	}
	v.idMappings()
	if len(lx.TimeOffsets) > 0 {
		if !v.newNS(specs.TimeNamespace) {
			v.e.Add("linux.timeOffsets", "need a new time namespace (add {\"type\": \"time\"} without a path to linux.namespaces)")
		}
		for k := range lx.TimeOffsets {
			if k != "monotonic" && k != "boottime" {
				v.e.Add("linux.timeOffsets."+k, "unknown clock (monotonic or boottime)")
			}
		}
	}
	for i, p := range lx.MaskedPaths {
		if !filepath.IsAbs(p) {
			v.e.Add(fmt.Sprintf("linux.maskedPaths[%d]", i), "%q must be an absolute path", p)
		}
	}
	for i, p := range lx.ReadonlyPaths {
		if !filepath.IsAbs(p) {
			v.e.Add(fmt.Sprintf("linux.readonlyPaths[%d]", i), "%q must be an absolute path", p)
		}
	}
	switch lx.RootfsPropagation {
	case "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable":
	default:
		v.e.Add("linux.rootfsPropagation", "unknown value %q (private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable)", lx.RootfsPropagation)
	}
	v.devices()
	v.sysctls()
	if lx.IntelRdt != nil {
		if _, err := os.Stat("/sys/fs/resctrl/schemata"); err != nil {
			v.e.Add("linux.intelRdt", "Intel RDT is not supported on this host (no resctrl filesystem at /sys/fs/resctrl)")
		}
	}
	if p := lx.Personality; p != nil && p.Domain != specs.PerLinux && p.Domain != specs.PerLinux32 {
		v.e.Add("linux.personality.domain", "unknown domain %q (LINUX or LINUX32)", p.Domain)
	}
}

func (v *validator) idMappings() {
	lx := v.s.Linux
	user := v.newNS(specs.UserNamespace)
	if user {
		if len(lx.UIDMappings) == 0 {
			v.e.Add("linux.uidMappings", "a new user namespace needs uid mappings")
		}
		if len(lx.GIDMappings) == 0 {
			v.e.Add("linux.gidMappings", "a new user namespace needs gid mappings")
		}
	} else if len(lx.UIDMappings) > 0 || len(lx.GIDMappings) > 0 {
		v.e.Add("linux.uidMappings", "id mappings need a new user namespace (add {\"type\": \"user\"} to linux.namespaces)")
	}
	check := func(field string, ms []specs.LinuxIDMapping) {
		for i, m := range ms {
			if m.Size == 0 {
				v.e.Add(fmt.Sprintf("%s[%d].size", field, i), "must be greater than 0")
			}
		}
	}
	check("linux.uidMappings", lx.UIDMappings)
	check("linux.gidMappings", lx.GIDMappings)
}

func (v *validator) devices() {
	for i, d := range v.s.Linux.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		if !filepath.IsAbs(d.Path) {
			v.e.Add(field+".path", "%q must be an absolute path", d.Path)
		} else if !strings.HasPrefix(filepath.Clean(d.Path), "/dev/") {
			// Device nodes elsewhere are allowed by the spec, but never
			// over /proc or /sys.
			c := filepath.Clean(d.Path)
			if c == "/proc" || strings.HasPrefix(c, "/proc/") || c == "/sys" || strings.HasPrefix(c, "/sys/") {
				v.e.Add(field+".path", "%q: device nodes cannot be created in /proc or /sys", d.Path)
			}
		}
		switch d.Type {
		case "c", "b", "u":
		case "p":
			// major and minor are "REQUIRED unless type is p": a fifo may
			// carry them (runtime-tools' linux_devices does), mknod ignores
			// them and no cgroup rule is made for it.
		default:
			v.e.Add(field+".type", "unknown device type %q (c, b, u or p)", d.Type)
		}
	}
}

// errnoText is an error's errno name and text, without Go's "stat PATH:"
// prefix (the message names the path itself).
func errnoText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
