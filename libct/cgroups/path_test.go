package cgroups

import (
	"reflect"
	"testing"
)

const hybridMountinfo = `23 1 259:1 / / rw,relatime - ext4 /dev/root rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:39 /ctr /sys/fs/cgroup/net\040cls rw - cgroup cgroup rw,net_cls,net_prio
`

func TestParseMountinfo(t *testing.T) {
	got := parseMountinfo(hybridMountinfo)
	want := []mountEntry{
		{mountpoint: "/sys/fs/cgroup/cpu", root: "/", controllers: []string{"cpu"}},
		{mountpoint: "/sys/fs/cgroup/cpuacct", root: "/", controllers: []string{"cpuacct"}},
		{mountpoint: "/sys/fs/cgroup/cpuset", root: "/", controllers: []string{"cpuset"}},
		{mountpoint: "/sys/fs/cgroup/memory", root: "/", controllers: []string{"memory"}},
		{mountpoint: "/sys/fs/cgroup/systemd", root: "/", controllers: []string{"name=systemd"}},
		{mountpoint: "/sys/fs/cgroup/unified", root: "/", v2: true},
		{mountpoint: "/sys/fs/cgroup/net cls", root: "/ctr", controllers: []string{"net_cls", "net_prio"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMountinfo:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseMountinfoCovered(t *testing.T) {
	// bench/run.sh's cgroup-v1 view: a tmpfs over the cgroup2 mount
	in := hybridMountinfo + "50 41 0:45 / /sys/fs/cgroup/unified rw,relatime - tmpfs skiff-bench-view rw,size=4096k,mode=755\n"
	for _, m := range parseMountinfo(in) {
		if m.mountpoint == "/sys/fs/cgroup/unified" {
			t.Errorf("a covered cgroup2 mount was returned: %+v", m)
		}
	}
	if n := len(parseMountinfo(in)); n != 6 {
		t.Errorf("got %d mounts, want the 6 v1 ones", n)
	}
}

func TestParseProcCgroup(t *testing.T) {
	in := "9:name=systemd:/\n4:memory:/process_api/71da\n2:cpu,cpuacct:/a\n0::/user.slice\n"
	got := parseProcCgroup(in)
	want := map[string]string{"name=systemd": "/", "memory": "/process_api/71da", "cpu": "/a", "cpuacct": "/a", "": "/user.slice"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseProcCgroup = %v, want %v", got, want)
	}
}

func TestHierDir(t *testing.T) {
	for _, c := range []struct {
		mount, root, base, path, id, want string
	}{
		{"/sys/fs/cgroup/memory", "/", "/process_api/71da", "/skiff-test/x", "x", "/sys/fs/cgroup/memory/skiff-test/x"},
		{"/sys/fs/cgroup/memory", "/", "/process_api/71da", "", "x", "/sys/fs/cgroup/memory/process_api/71da/x"},
		{"/sys/fs/cgroup/memory", "/", "/process_api/71da", "a/b", "x", "/sys/fs/cgroup/memory/process_api/71da/a/b"},
		{"/sys/fs/cgroup/pids", "/", "/", "", "x", "/sys/fs/cgroup/pids/x"},
		// a bind-mounted sub-tree: /proc/self/cgroup paths are relative
		// to the hierarchy root, the mount shows /ctr.
		{"/sys/fs/cgroup/pids", "/ctr", "/ctr/inner", "", "x", "/sys/fs/cgroup/pids/inner/x"},
		{"/sys/fs/cgroup/pids", "/ctr", "/elsewhere", "", "x", "/sys/fs/cgroup/pids/x"},
		{"/sys/fs/cgroup", "/", ownBase("/user.slice/session-1.scope"), "", "x", "/sys/fs/cgroup/user.slice/x"},
		{"/sys/fs/cgroup", "/", ownBase("/"), "rel", "x", "/sys/fs/cgroup/rel"},
	} {
		if got := hierDir(c.mount, c.root, c.base, c.path, c.id); got != c.want {
			t.Errorf("hierDir(%q, %q, %q, %q, %q) = %q, want %q", c.mount, c.root, c.base, c.path, c.id, got, c.want)
		}
	}
}

func TestCheckCgroupsPath(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"", true}, {"/a/b", true}, {"a", true}, {"/a/../b", false}, {"..", false}, {"a/..", false}, {"a\nb", false}, {"a..b", true}} {
		if err := checkCgroupsPath(c.in); (err == nil) != c.ok {
			t.Errorf("checkCgroupsPath(%q) = %v", c.in, err)
		}
	}
}

func TestSystemdPath(t *testing.T) {
	for _, c := range []struct {
		in, id   string
		rootless bool
		unit     string
		slice    string
		err      bool
	}{
		{"", "abc", false, "skiff-abc.scope", "system.slice", false},
		{"", "abc", true, "skiff-abc.scope", "user.slice", false},
		{"system.slice:docker:abc", "x", false, "docker-abc.scope", "system.slice", false},
		{":docker:abc", "x", false, "docker-abc.scope", "system.slice", false},
		{"machine.slice:libpod:", "cid", false, "libpod-cid.scope", "machine.slice", false},
		{"system.slice::abc", "x", false, "skiff-abc.scope", "system.slice", false},
		{"system.slice:x:my-sub.slice", "x", false, "my-sub.slice", "system.slice", false},
		{"/abs/path", "x", false, "", "", true},
		{"a:b", "x", false, "", "", true},
		{"a:b:c:d", "x", false, "", "", true},
		{"system:docker:abc", "x", false, "", "", true},
		{"system.slice:do/cker:abc", "x", false, "", "", true},
	} {
		sp, err := parseSystemdPath(c.in, c.id, c.rootless)
		if (err != nil) != c.err {
			t.Errorf("parseSystemdPath(%q) error %v, want error %v", c.in, err, c.err)
			continue
		}
		if err == nil && (sp.Unit() != c.unit || sp.Slice != c.slice) {
			t.Errorf("parseSystemdPath(%q) = unit %q slice %q, want %q %q", c.in, sp.Unit(), sp.Slice, c.unit, c.slice)
		}
	}
}

func TestExpandSlice(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      bool
	}{
		{"-.slice", "/", false},
		{"system.slice", "/system.slice", false},
		{"a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice", false},
		{"user-1000.slice", "/user.slice/user-1000.slice", false},
		{"a--b.slice", "", true},
		{"-a.slice", "", true},
		{"a-.slice", "", true},
		{"a.scope", "", true},
		{"a/b.slice", "", true},
		{".slice", "", true},
	} {
		got, err := expandSlice(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("expandSlice(%q) = %q, %v; want %q, err %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestParseSubCgroups(t *testing.T) {
	for _, c := range []struct {
		in   []string
		v2   bool
		want map[string]string
		err  bool
	}{
		{[]string{"sub"}, true, map[string]string{"": "sub"}, false},
		{[]string{"sub"}, false, map[string]string{"": "sub"}, false},
		{[]string{"cpu,memory:a/b", "pids:c"}, false, map[string]string{"cpu": "a/b", "memory": "a/b", "pids": "c"}, false},
		{[]string{"name=systemd:x", "y"}, false, map[string]string{"name=systemd": "x", "": "y"}, false},
		{[]string{"memory:a"}, true, nil, true},
		{[]string{"a", "b"}, false, nil, true},
		{[]string{"cpu:a", "cpu:b"}, false, nil, true},
		{[]string{",cpu:a"}, false, nil, true},
		{[]string{"../escape"}, false, nil, true},
		{[]string{"memory:a/../../x"}, false, nil, true},
		{[]string{""}, true, nil, true},
	} {
		got, err := parseSubCgroups(c.in, c.v2)
		if (err != nil) != c.err || (err == nil && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("parseSubCgroups(%q, v2=%v) = %v, %v; want %v, err %v", c.in, c.v2, got, err, c.want, c.err)
		}
	}
	subs := map[string]string{"memory": "m", "": "all"}
	if p, _ := subFor(subs, []string{"memory"}); p != "m" {
		t.Errorf("subFor memory = %q", p)
	}
	if p, _ := subFor(subs, []string{"cpu"}); p != "all" {
		t.Errorf("subFor cpu = %q", p)
	}
	if _, ok := subFor(map[string]string{"memory": "m"}, []string{"cpu"}); ok {
		t.Error("subFor: cpu matched without an entry")
	}
}
