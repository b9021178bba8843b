package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var nsFiles = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.MountNamespace: "mnt",
	specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.UserNamespace: "user",
	specs.CgroupNamespace: "cgroup", specs.TimeNamespace: "time",
}

func hostNS(t *testing.T, name string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func setNamespaces(s *specs.Spec, nss ...specs.LinuxNamespace) {
	s.Linux.Namespaces = nss
}

// TestEachNamespaceCreated: every namespace type, created new, differs
// from the host's.
func TestEachNamespaceCreated(t *testing.T) {
	b := newBundle(t, "sh", "-c", "for n in pid net mnt ipc uts user cgroup time; do echo $n $(readlink /proc/self/ns/$n); done")
	var nss []specs.LinuxNamespace
	for typ := range nsFiles {
		nss = append(nss, specs.LinuxNamespace{Type: typ})
	}
	setNamespaces(b.Spec, nss...)
	b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	out := b.MustRun()
	for _, n := range []string{"pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time"} {
		line := grepLines(out, n+" ")
		if line == "" {
			t.Fatalf("no %s namespace line in:\n%s", n, out)
		}
		if strings.Contains(line, hostNS(t, n)) {
			t.Errorf("%s namespace is the host's: %s", n, line)
		}
	}
}

// TestNamespacesJoinedByPath: a second container joins the namespaces of
// a first one through /proc/<pid>/ns paths.
func TestNamespacesJoinedByPath(t *testing.T) {
	a := newBundle(t, "sleep", "100")
	a.Spec.Hostname = "first"
	a.Save()
	a.MustSkiff("run", "-d", "--bundle", a.Dir, a.ID)
	pid := int(a.State()["pid"].(float64))

	b := newBundle(t, "sh", "-c", "hostname; for n in pid net ipc uts; do echo $n $(readlink /proc/self/ns/$n); done; ps -o pid,comm")
	b.Spec.Hostname = ""
	var nss []specs.LinuxNamespace
	for _, typ := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace} {
		nss = append(nss, specs.LinuxNamespace{Type: typ, Path: fmt.Sprintf("/proc/%d/ns/%s", pid, nsFiles[typ])})
	}
	nss = append(nss, specs.LinuxNamespace{Type: specs.MountNamespace})
	setNamespaces(b.Spec, nss...)
	out := b.MustRun()
	contains(t, out, "first")
	for _, n := range []string{"pid", "net", "ipc", "uts"} {
		want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		if err != nil {
			t.Fatal(err)
		}
		contains(t, grepLines(out, n+" "), want)
	}
	// In the first container's pid namespace, its sleep is pid 1.
	contains(t, out, "1 sleep")
}

// TestMountNamespaceJoinedByPath joins a mount namespace kept alive by a
// bind mount of its nsfs file.
func TestMountNamespaceJoinedByPath(t *testing.T) {
	b := newBundle(t, "sh", "-c", "readlink /proc/self/ns/mnt")
	dir := t.TempDir()
	run(t, "mount", "--bind", dir, dir)
	run(t, "mount", "--make-private", dir)
	nsFile := filepath.Join(dir, "mnt")
	if err := os.WriteFile(nsFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "unshare", "--mount="+nsFile, "true")
	t.Cleanup(func() {
		exec.Command("umount", nsFile).Run()
		exec.Command("umount", dir).Run()
	})
	want, err := exec.Command("nsenter", "--mount="+nsFile, "readlink", "/proc/self/ns/mnt").Output()
	if err != nil {
		t.Fatal(err)
	}
	var nss []specs.LinuxNamespace
	for _, ns := range b.Spec.Linux.Namespaces {
		if ns.Type == specs.MountNamespace {
			ns.Path = nsFile
		}
		nss = append(nss, ns)
	}
	setNamespaces(b.Spec, nss...)
	out := b.MustRun()
	contains(t, out, strings.TrimSpace(string(want)))
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestUserNamespaceMappings(t *testing.T) {
	b := newBundle(t, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; cat /proc/self/status | grep CapEff; ls -ln /bin/busybox")
	b.inUserNamespace(200000)
	out := b.MustRun()
	fields := strings.Fields(out)
	if len(fields) < 8 || fields[0] != "0" || fields[1] != "200000" || fields[2] != "65536" {
		t.Fatalf("uid_map inside: %q", out)
	}
	contains(t, out, "\n0\n0\n")
	// Host root's files show as the overflow uid inside.
	contains(t, out, "65534")
}

func TestHostnameAndDomainname(t *testing.T) {
	b := newBundle(t, "sh", "-c", "hostname; cat /proc/sys/kernel/domainname")
	b.Spec.Hostname = "box.one"
	b.Spec.Domainname = "example.org"
	out := b.MustRun()
	contains(t, out, "box.one\nexample.org")
	host, _ := os.Hostname()
	if host == "box.one" {
		t.Fatal("the host's hostname changed")
	}
}

func TestTimeNamespaceOffsets(t *testing.T) {
	b := newBundle(t, "cat", "/proc/uptime")
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 86400 * 10}, "monotonic": {Secs: 86400 * 5}}
	out := b.MustRun()
	inside, _ := strconv.ParseFloat(strings.Fields(out)[0], 64)
	hostRaw, _ := os.ReadFile("/proc/uptime")
	host, _ := strconv.ParseFloat(strings.Fields(string(hostRaw))[0], 64)
	if d := inside - host; d < 86400*10-60 || d > 86400*10+60 {
		t.Fatalf("uptime inside %v, host %v: want a 10-day boottime offset", inside, host)
	}
}

func TestCgroupNamespace(t *testing.T) {
	b := newBundle(t, "cat", "/proc/self/cgroup")
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	out := b.MustRun()
	notContains(t, out, b.ID)
	if hostV2() {
		contains(t, out, "0::/\n")
	} else {
		contains(t, out, "memory:/\n")
	}
}

func TestNoNetworkNamespaceSharesHostNetwork(t *testing.T) {
	b := newBundle(t, "readlink", "/proc/self/ns/net")
	var nss []specs.LinuxNamespace
	for _, ns := range b.Spec.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace {
			nss = append(nss, ns)
		}
	}
	setNamespaces(b.Spec, nss...)
	contains(t, b.MustRun(), hostNS(t, "net"))
}

func TestLoopbackUpInNewNetworkNamespace(t *testing.T) {
	b := newBundle(t, "cat", "/sys/class/net/lo/operstate", "/sys/class/net/lo/flags")
	out := b.MustRun()
	// IFF_UP is bit 0 of the flags.
	f := strings.Fields(out)
	if len(f) < 2 {
		t.Fatalf("lo: %q", out)
	}
	v, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
	if v&1 == 0 {
		t.Fatalf("lo is not up inside the container: flags %s", f[1])
	}
}

func TestPidNamespaceInitIsPid1(t *testing.T) {
	b := newBundle(t, "sh", "-c", "echo $$; ps -o pid,comm")
	out := b.MustRun()
	if !strings.HasPrefix(out, "1\n") {
		t.Fatalf("the container's process must be pid 1:\n%s", out)
	}
	_ = time.Second
}
