package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func bundle(t *testing.T) (string, *specs.Spec) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := Example(false)
	s.Process.Terminal = false
	return dir, s
}

func problems(t *testing.T, s *specs.Spec, dir string) []string {
	t.Helper()
	err := Validate(s, Options{Bundle: dir})
	if err == nil {
		return nil
	}
	es, ok := err.(Errors)
	if !ok {
		t.Fatalf("Validate returned %T, want Errors: %v", err, err)
	}
	var out []string
	for _, p := range es {
		out = append(out, p.String())
	}
	return out
}

func TestExampleIsValid(t *testing.T) {
	dir, s := bundle(t)
	if ps := problems(t, s, dir); len(ps) != 0 {
		t.Fatalf("the example config must be valid: %v", ps)
	}
	s = Example(true)
	if ps := problems(t, s, dir); len(ps) != 0 {
		t.Fatalf("the rootless example config must be valid: %v", ps)
	}
}

func TestValidateFindsEveryProblem(t *testing.T) {
	cases := []struct {
		name   string
		change func(s *specs.Spec)
		want   []string
	}{
		{"no args", func(s *specs.Spec) { s.Process.Args = nil }, []string{"process.args: must not be empty"}},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, []string{`process.cwd: "tmp" must be an absolute path`}},
		{"bad env", func(s *specs.Spec) { s.Process.Env = []string{"NOEQUALS", "=x"} }, []string{"process.env[0]", "process.env[1]"}},
		{"unknown cap", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NOPE")
		}, []string{`process.capabilities.bounding[3]: unknown capability "CAP_NOPE"`}},
		{"bad rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_FOO"}, {Type: "RLIMIT_NOFILE", Soft: 10, Hard: 5}}
		}, []string{"process.rlimits[0].type", "process.rlimits[1]: soft limit 10 is above the hard limit 5"}},
		{"oom", func(s *specs.Spec) { v := 1001; s.Process.OOMScoreAdj = &v }, []string{"process.oomScoreAdj"}},
		{"hostname without uts", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
		}, []string{"hostname: needs a private uts namespace"}},
		{"no mount ns", func(s *specs.Spec) {
			s.Hostname = ""
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.PIDNamespace}}
		}, []string{"linux.namespaces: must include a mount namespace"}},
		{"unknown ns", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, []string{`linux.namespaces[5].type: unknown namespace type "bogus"`}},
		{"duplicate ns", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}, []string{`namespace "pid" is listed twice`}},
		{"ns path missing", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/proc/999999999/ns/net"
		}, []string{"linux.namespaces[1].path: namespace /proc/999999999/ns/net: no such file or directory"}},
		{"ns path wrong type", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/proc/self/ns/uts"
		}, []string{"/proc/self/ns/uts is a uts namespace, not a network one"}},
		{"ns path comma", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/a,b" }, []string{"must not contain a comma"}},
		{"user ns without maps", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, []string{"linux.uidMappings: a new user namespace needs uid mappings", "linux.gidMappings"}},
		{"maps without user ns", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
		}, []string{"linux.uidMappings: id mappings need a new user namespace"}},
		{"host sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"kernel.core_pattern": "|/x"} }, []string{`linux.sysctl["kernel.core_pattern"]: is not a namespaced sysctl`}},
		{"net sysctl without netns", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}}
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, []string{`linux.sysctl["net.ipv4.ip_forward"]: needs a network namespace`}},
		{"net sysctl in host netns", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/proc/self/ns/net"
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, []string{"joins the host's network namespace"}},
		{"ipc sysctl needs ipc ns", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UTSNamespace}}
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1", "fs.mqueue.msg_max": "2"}
		}, []string{`linux.sysctl["kernel.shmmax"]: needs a private ipc namespace`, `linux.sysctl["fs.mqueue.msg_max"]`}},
		{"sysctl newline", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1\nkernel.x=1"} }, []string{"newline"}},
		{"missing rootfs", func(s *specs.Spec) { s.Root.Path = "nope" }, []string{"root.path: rootfs ", "nope: no such file or directory"}},
		{"no version", func(s *specs.Spec) { s.Version = "" }, []string{"ociVersion: is required"}},
		{"bad version", func(s *specs.Spec) { s.Version = "2.0.0" }, []string{"ociVersion"}},
		{"mount without destination", func(s *specs.Spec) { s.Mounts = append(s.Mounts, specs.Mount{Type: "tmpfs"}) }, []string{"mounts[7].destination: is required"}},
		{"bind without source", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind"})
		}, []string{"mounts[7].source: a bind mount of /x needs a source"}},
		{"bind source missing", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: "/no/such/dir"})
		}, []string{"mounts[7].source: bind source /no/such/dir for /x: no such file or directory"}},
		{"bad mount option", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind", Source: "/tmp", Options: []string{"rbind", "size=1"}})
		}, []string{"mounts[7].options"}},
		{"relative masked path", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"proc/kcore"} }, []string{"linux.maskedPaths[0]"}},
		{"bad propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "sideways" }, []string{"linux.rootfsPropagation"}},
		{"bad device", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/x", Type: "c"}, {Path: "/dev/y", Type: "z"}}
		}, []string{"linux.devices[0].path", "linux.devices[1].type"}},
		{"hook relative", func(s *specs.Spec) {
			zero := 0
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "hook", Timeout: &zero}}}
		}, []string{"hooks.createRuntime[0].path", "hooks.createRuntime[0].timeout"}},
		{"time offsets without ns", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
		}, []string{"linux.timeOffsets: need a new time namespace"}},
		{"apparmor", func(s *specs.Spec) { s.Process.ApparmorProfile = "docker-default" }, []string{"process.apparmorProfile"}},
		{"selinux", func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" }, []string{"process.selinuxLabel", "SELinux is not enabled"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, s := bundle(t)
			c.change(s)
			got := strings.Join(problems(t, s, dir), "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("want a problem containing %q, got:\n%s", w, got)
				}
			}
		})
	}
}

func TestSeveralAtOnceInOneLine(t *testing.T) {
	dir, s := bundle(t)
	s.Process.Args = nil
	s.Process.Cwd = "x"
	err := Validate(s, Options{Bundle: dir})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "2 problems") {
		t.Fatalf("want one line with 2 problems, got %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	_, err := Parse("config.json", []byte("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("syntax error must carry its line: %v", err)
	}
	_, err = Parse("config.json", []byte(`{"process":{"args":"sh"}}`))
	if err == nil || !strings.Contains(err.Error(), "process.args") || !strings.Contains(err.Error(), "an array of strings") {
		t.Fatalf("type error must name the field: %v", err)
	}
	s, err := Parse("config.json", mustJSON(t, Example(false)))
	if err != nil || s.Process.Args[0] != "sh" {
		t.Fatalf("round trip: %v", err)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("got %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
