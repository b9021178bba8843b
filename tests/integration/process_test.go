package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/process"
)

// Everything of runtime-spec's process object, asserted from inside the
// container (/proc/self/status, limits, id, umask...) and from outside
// (/proc/<pid> of the container's process).

// runCmd runs a skiff command built with b.command (extra files, env)
// with stdout and stderr in files, like SkiffIn.
func runCmd(t *testing.T, b *Bundle, cmd *exec.Cmd) Result {
	t.Helper()
	outF, _ := os.CreateTemp(b.Dir, "stdout-")
	errF, _ := os.CreateTemp(b.Dir, "stderr-")
	defer os.Remove(outF.Name())
	defer os.Remove(errF.Name())
	defer outF.Close()
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	if err := cmd.Start(); err != nil {
		t.Fatalf("start skiff: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("skiff %s did not finish in 60s", strings.Join(cmd.Args, " "))
	}
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return Result{Stdout: string(o), Stderr: string(e), Code: cmd.ProcessState.ExitCode()}
}

// capMask is the /proc/<pid>/status hex value of a capability set.
func capMask(t *testing.T, names ...string) string {
	t.Helper()
	var m uint64
	for _, n := range names {
		v, ok := process.CapValue(n)
		if !ok {
			t.Fatalf("unknown capability %s", n)
		}
		m |= 1 << uint(v)
	}
	return fmt.Sprintf("%016x", m)
}

// statusFields reads "Key:\tvalue" lines of /proc/<pid>/status text.
func statusFields(text string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	return statusFields(string(b))
}

func initPid(b *Bundle) int {
	b.t.Helper()
	return int(b.State()["pid"].(float64))
}

func checkCaps(t *testing.T, where string, got map[string]string, want map[string]string) {
	t.Helper()
	for _, k := range []string{"CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"} {
		if w, ok := want[k]; ok && got[k] != w {
			t.Errorf("%s: %s = %s, want %s", where, k, got[k], w)
		}
	}
}

func TestProcessCapabilitiesEverySet(t *testing.T) {
	caps := &specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
		Effective:   []string{"CAP_CHOWN", "CAP_KILL"},
		Permitted:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE"},
	}
	bnd := capMask(t, "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW")
	// execve as root makes permitted = effective = bounding | inheritable,
	// but no_new_privs (the example config's) forbids gaining anything:
	// the process keeps exactly the permitted set, now effective.
	prm := capMask(t, "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE")
	inh := capMask(t, "CAP_NET_BIND_SERVICE")
	for _, park := range []string{"c", "go"} {
		t.Run("park in "+park, func(t *testing.T) {
			b := newBundle(t, "sleep", "100")
			if park == "go" {
				b.Env = []string{"SKIFF_PARK=go"}
			}
			b.Spec.Process.Capabilities = caps
			b.Save()
			b.MustSkiff("create", "--bundle", b.Dir, b.ID)
			pid := initPid(b)
			created := map[string]string{"CapBnd": bnd, "CapEff": prm, "CapPrm": prm, "CapInh": inh, "CapAmb": inh}
			if park == "go" {
				// Parked before execve, the Go init holds exactly the
				// spec's sets; the C park was executed with them, so it
				// holds what the workload will (each execve transforms
				// the sets the same way).
				created["CapEff"] = capMask(t, "CAP_CHOWN", "CAP_KILL")
			}
			checkCaps(t, "created", procStatus(t, pid), created)
			b.MustSkiff("start", b.ID)
			checkCaps(t, "running", procStatus(t, pid), map[string]string{
				"CapBnd": bnd, "CapEff": prm, "CapPrm": prm, "CapInh": inh, "CapAmb": inh,
			})
		})
	}

	// Without no_new_privs root gets its whole bounding set back (runc too).
	b2 := newBundle(t, "grep", "Cap", "/proc/self/status")
	b2.Spec.Process.NoNewPrivileges = false
	b2.Spec.Process.Capabilities = caps
	checkCaps(t, "root without no_new_privs", statusFields(b2.MustRun()), map[string]string{"CapBnd": bnd, "CapEff": bnd, "CapPrm": bnd})
}

// PITFALLS 11: a non-root user with an ambient capability keeps it across
// execve and can use it.
func TestProcessCapabilitiesAmbientForNonRoot(t *testing.T) {
	script := "grep Cap /proc/self/status; timeout 1 nc -l -p 80 2>&1; echo rc=$?"
	b := newBundle(t, "sh", "-c", script)
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	nbs := []string{"CAP_NET_BIND_SERVICE"}
	b.Spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"}, Effective: nbs, Permitted: nbs, Inheritable: nbs, Ambient: nbs,
	}
	out := b.MustRun()
	got := statusFields(out)
	want := capMask(t, "CAP_NET_BIND_SERVICE")
	checkCaps(t, "uid 1000", got, map[string]string{
		"CapBnd": capMask(t, "CAP_KILL", "CAP_NET_BIND_SERVICE"), "CapEff": want, "CapPrm": want, "CapInh": want, "CapAmb": want,
	})
	notContains(t, out, "Permission denied")

	// The same user without the capability cannot bind port 80.
	b2 := newBundle(t, "sh", "-c", script)
	b2.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	out = b2.MustRun()
	contains(t, out, "CapEff:\t0000000000000000")
	contains(t, out, "Permission denied")
}

// runc's example config asks for ambient capabilities that are not
// inheritable: they are skipped, not an error (README).
func TestProcessCapabilitiesAmbientNotInheritableSkipped(t *testing.T) {
	b := newBundle(t, "grep", "CapAmb", "/proc/self/status")
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.Spec.Process.Capabilities.Ambient = []string{"CAP_KILL"}
	out := b.MustRun()
	contains(t, out, "CapAmb:\t0000000000000000")
}

func TestProcessCapabilitiesUnknownNameNamesTheField(t *testing.T) {
	b := newBundle(t)
	b.Spec.Process.Capabilities.Permitted = append(b.Spec.Process.Capabilities.Permitted, "CAP_NO_SUCH")
	b.Save()
	expectCreateFails(t, b, `process.capabilities.permitted[3]`, `unknown capability`, `CAP_NO_SUCH`)
}

func TestProcessNoNewPrivileges(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		b := newBundle(t, "grep", "NoNewPrivs", "/proc/self/status")
		b.Spec.Process.NoNewPrivileges = nnp
		want := "NoNewPrivs:\t0"
		if nnp {
			want = "NoNewPrivs:\t1"
		}
		contains(t, b.MustRun(), want)
	}
}

func TestProcessUserGroupsUmask(t *testing.T) {
	b := newBundle(t, "sh", "-c", "id -u; id -g; id -G; umask; grep Groups /proc/self/status; echo HOME=$HOME; touch /w/f; stat -c %a /w/f")
	b.Spec.Root.Readonly = false
	w := filepath.Join(b.Dir, "rootfs/w")
	os.Mkdir(w, 0o755)
	os.Chown(w, 1000, 1000)
	umask := uint32(0o027)
	// username is for Windows; ignored on Linux.
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}, Umask: &umask, Username: "ignored"}
	out := b.MustRun()
	contains(t, out, "1000\n1000\n1000 10 20\n0027\nGroups:\t10 20 \nHOME=/home/user\n640\n")
}

func TestProcessDefaultUmask(t *testing.T) {
	b := newBundle(t, "sh", "-c", "umask")
	contains(t, b.MustRun(), "0022")
}

func TestProcessCwdCreatedInsideTheRootfs(t *testing.T) {
	b := newBundle(t, "sh", "-c", "pwd; readlink /proc/self/cwd")
	b.Spec.Process.Cwd = "/work/a/b"
	out := b.MustRun()
	contains(t, out, "/work/a/b\n/work/a/b\n")
	if st, err := os.Stat(filepath.Join(b.Dir, "rootfs/work/a/b")); err != nil || !st.IsDir() {
		t.Fatalf("the cwd must be created inside the rootfs: %v", err)
	}
	if _, err := os.Stat("/work/a/b"); err == nil {
		t.Fatal("the cwd was created on the host")
	}
}

// PITFALLS 25: a cwd only the container user can enter.
func TestProcessCwdOnlyReachableByTheUser(t *testing.T) {
	b := newBundle(t, "pwd")
	data := filepath.Join(b.Dir, "rootfs/data")
	os.Mkdir(data, 0o700)
	os.Chown(data, 1000, 1000)
	b.Spec.Process.Cwd = "/data"
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	contains(t, b.MustRun(), "/data\n")
}

// PITFALLS 2: process.cwd through an fd of the runtime must never put the
// process in a host directory.
func TestProcessCwdThroughHostFdRefused(t *testing.T) {
	for fd := 3; fd < 12; fd++ {
		b := newBundle(t, "pwd")
		b.Spec.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", fd)
		r := b.Run()
		// Either refused, or a directory of the container (getcwd says
		// "(unreachable)" for anything outside its root).
		if pwd := strings.TrimSpace(r.Stdout); r.Code == 0 && (!strings.HasPrefix(pwd, "/") || strings.Contains(pwd, "unreachable")) {
			t.Fatalf("cwd %s ran outside the container: %s", b.Spec.Process.Cwd, r)
		}
	}
}

func TestProcessEnvAndPathLookupInsideTheContainer(t *testing.T) {
	b := newBundle(t, "mytool")
	tools := filepath.Join(b.Dir, "rootfs/opt/tools")
	os.MkdirAll(tools, 0o755)
	os.WriteFile(filepath.Join(tools, "mytool"), []byte("#!/bin/sh\nenv\n"), 0o755)
	b.Spec.Process.Env = []string{"PATH=/opt/tools:/bin:/usr/bin", "A=1", "B=x y", "A=2"}
	b.Save()
	cmd := b.command("run", "--bundle", b.Dir, b.ID)
	cmd.Env = append(os.Environ(), "SKIFF_HOST_ONLY=leak")
	r := runCmd(t, b, cmd)
	if r.Code != 0 {
		t.Fatalf("run:\n%s", r)
	}
	env := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		env[l]++
	}
	for _, want := range []string{"PATH=/opt/tools:/bin:/usr/bin", "A=2", "B=x y", "HOME=/root"} {
		if env[want] != 1 {
			t.Errorf("want %q exactly once in the environment:\n%s", want, r.Stdout)
		}
	}
	notContains(t, r.Stdout, "A=1")
	notContains(t, r.Stdout, "SKIFF_HOST_ONLY")
	notContains(t, r.Stdout, "_SKIFF")
}

// limitNames are the /proc/<pid>/limits row names of each RLIMIT_*.
var limitNames = map[string]string{
	"RLIMIT_CPU": "Max cpu time", "RLIMIT_FSIZE": "Max file size", "RLIMIT_DATA": "Max data size",
	"RLIMIT_STACK": "Max stack size", "RLIMIT_CORE": "Max core file size", "RLIMIT_RSS": "Max resident set",
	"RLIMIT_NPROC": "Max processes", "RLIMIT_NOFILE": "Max open files", "RLIMIT_MEMLOCK": "Max locked memory",
	"RLIMIT_AS": "Max address space", "RLIMIT_LOCKS": "Max file locks", "RLIMIT_SIGPENDING": "Max pending signals",
	"RLIMIT_MSGQUEUE": "Max msgqueue size", "RLIMIT_NICE": "Max nice priority", "RLIMIT_RTPRIO": "Max realtime priority",
	"RLIMIT_RTTIME": "Max realtime timeout",
}

func TestProcessRlimitsEveryName(t *testing.T) {
	want := []struct {
		name       string
		soft, hard uint64
	}{
		{"RLIMIT_CPU", 1000, 2000}, {"RLIMIT_FSIZE", 1 << 30, 1 << 31}, {"RLIMIT_DATA", 1 << 33, 1 << 34},
		{"RLIMIT_STACK", 8 << 20, 16 << 20}, {"RLIMIT_CORE", 0, 1 << 20}, {"RLIMIT_RSS", 1 << 33, 1 << 33},
		{"RLIMIT_NPROC", 100000, 100001}, {"RLIMIT_NOFILE", 1000, 1024}, {"RLIMIT_MEMLOCK", 1 << 16, 1 << 16},
		{"RLIMIT_AS", 1 << 40, 1 << 40}, {"RLIMIT_LOCKS", 100, 200}, {"RLIMIT_SIGPENDING", 100, 200},
		{"RLIMIT_MSGQUEUE", 1 << 15, 1 << 16}, {"RLIMIT_NICE", 0, 0}, {"RLIMIT_RTPRIO", 0, 0},
		{"RLIMIT_RTTIME", 1000000, 2000000},
	}
	b := newBundle(t, "sh", "-c", "cat /proc/self/limits; echo nofile=$(ulimit -n)")
	b.Spec.Process.Rlimits = nil
	expect := map[string][2]string{}
	for _, w := range want {
		res, _ := process.RlimitValue(w.name)
		// Without CAP_SYS_RESOURCE (some CI hosts) a hard limit can only
		// be lowered: stay below ours.
		var cur unix.Rlimit
		unix.Getrlimit(res, &cur)
		hard, soft := min(w.hard, cur.Max), w.soft
		soft = min(soft, hard)
		b.Spec.Process.Rlimits = append(b.Spec.Process.Rlimits, specs.POSIXRlimit{Type: w.name, Soft: soft, Hard: hard})
		f := func(v uint64) string {
			if v == unix.RLIM_INFINITY {
				return "unlimited"
			}
			return strconv.FormatUint(v, 10)
		}
		expect[w.name] = [2]string{f(soft), f(hard)}
	}
	out := b.MustRun()
	for name, row := range limitNames {
		line := grepLines(out, row+" ")
		fields := strings.Fields(strings.TrimPrefix(line, row))
		if len(fields) < 2 || fields[0] != expect[name][0] || fields[1] != expect[name][1] {
			t.Errorf("%s: /proc/self/limits says %q, want soft %s hard %s", name, line, expect[name][0], expect[name][1])
		}
	}
	// Go raises its own NOFILE limit and would restore the raised value
	// on execve (runc#4195): the container gets the configured one.
	contains(t, out, "nofile=1000\n")
}

func TestProcessRlimitAboveHardLimitNamesTheField(t *testing.T) {
	var cur unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &cur)
	if cur.Max == unix.RLIM_INFINITY {
		t.Skip("no finite hard NOFILE limit to exceed")
	}
	if v, _ := strconv.ParseUint(procStatus(t, os.Getpid())["CapEff"], 16, 64); v&(1<<24) != 0 {
		t.Skip("skiff holds CAP_SYS_RESOURCE here: raising a hard limit is allowed")
	}
	b := newBundle(t)
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: cur.Max + 1, Hard: cur.Max + 1}}
	b.Save()
	expectCreateFails(t, b, "process.rlimits[0]", "RLIMIT_NOFILE", "CAP_SYS_RESOURCE")
}

func TestProcessOOMScoreAdj(t *testing.T) {
	b := newBundle(t, "cat", "/proc/self/oom_score_adj")
	adj := 500
	b.Spec.Process.OOMScoreAdj = &adj
	contains(t, b.MustRun(), "500\n")
}

func TestProcessSysctlsInTheContainerOnly(t *testing.T) {
	hostFwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	hostShm, _ := os.ReadFile("/proc/sys/kernel/shmmni")
	b := newBundle(t, "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni", "/proc/sys/net/ipv4/conf/lo/forwarding")
	fwd := "1"
	if strings.TrimSpace(string(hostFwd)) == "1" {
		fwd = "0"
	}
	b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": fwd, "kernel.shmmni": "1234", "net/ipv4/conf/lo/forwarding": fwd}
	out := b.MustRun()
	contains(t, out, fwd+"\n1234\n"+fwd+"\n")
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); !bytes.Equal(now, hostFwd) {
		t.Errorf("the host's ip_forward changed: %q -> %q", hostFwd, now)
	}
	if now, _ := os.ReadFile("/proc/sys/kernel/shmmni"); !bytes.Equal(now, hostShm) {
		t.Errorf("the host's shmmni changed: %q -> %q", hostShm, now)
	}
}

// PITFALLS 14: host-global sysctls and namespaced ones without their
// namespace are refused before anything is made.
func TestProcessSysctlsRefused(t *testing.T) {
	b := newBundle(t)
	b.Spec.Linux.Sysctl = map[string]string{"kernel.core_pattern": "|/evil"}
	b.Save()
	// (logrus quotes the message: match around the quotes)
	expectCreateFails(t, b, `linux.sysctl[`, `kernel.core_pattern`, "not a namespaced sysctl")

	b = newBundle(t)
	var ns []specs.LinuxNamespace
	for _, n := range b.Spec.Linux.Namespaces {
		if n.Type != specs.NetworkNamespace {
			ns = append(ns, n)
		}
	}
	b.Spec.Linux.Namespaces = ns
	b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	b.Save()
	expectCreateFails(t, b, `linux.sysctl[`, `net.ipv4.ip_forward`, "network namespace")
}

func TestProcessScheduler(t *testing.T) {
	// Fields 19 and 41 of /proc/<pid>/stat: nice and policy.
	for _, c := range []struct {
		policy specs.LinuxSchedulerPolicy
		nice   int32
		want   string
	}{{specs.SchedBatch, 7, "7 3"}, {specs.SchedIdle, 0, "0 5"}, {specs.SchedOther, -3, "-3 0"}} {
		b := newBundle(t, "cut", "-d", " ", "-f", "19,41", "/proc/self/stat")
		b.Spec.Process.Scheduler = &specs.Scheduler{Policy: c.policy, Nice: c.nice}
		b.Spec.Process.Capabilities.Bounding = append(b.Spec.Process.Capabilities.Bounding, "CAP_SYS_NICE")
		if out := b.MustRun(); strings.TrimSpace(out) != c.want {
			t.Errorf("scheduler %s nice %d: nice/policy %q, want %q", c.policy, c.nice, strings.TrimSpace(out), c.want)
		}
	}
}

func TestProcessIOPriority(t *testing.T) {
	for _, c := range []struct {
		class specs.IOPriorityClass
		prio  int
		want  string
	}{{specs.IOPRIO_CLASS_BE, 6, "best-effort: prio 6"}, {specs.IOPRIO_CLASS_IDLE, 0, "idle"}} {
		b := newBundle(t, "ionice")
		b.Spec.Process.IOPriority = &specs.LinuxIOPriority{Class: c.class, Priority: c.prio}
		contains(t, b.MustRun(), c.want)
	}
}

func TestProcessPersonality(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("LINUX32 on x86-64 only")
	}
	b := newBundle(t, "uname", "-m")
	b.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	if out := strings.TrimSpace(b.MustRun()); out != "i686" {
		t.Errorf("uname -m with LINUX32: %q, want i686", out)
	}
	b = newBundle(t, "uname", "-m")
	b.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
	if out := strings.TrimSpace(b.MustRun()); out != "x86_64" {
		t.Errorf("uname -m with LINUX: %q, want x86_64", out)
	}
	b = newBundle(t)
	b.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX99"}
	b.Save()
	expectCreateFails(t, b, "linux.personality.domain", "LINUX99")
}

func TestProcessLSMOnHostWithout(t *testing.T) {
	if process.AppArmorEnabled() || process.SELinuxEnabled() {
		t.Skip("this host runs an LSM: the refusal is for hosts without")
	}
	b := newBundle(t)
	b.Spec.Process.ApparmorProfile = "skiff-test"
	b.Save()
	expectCreateFails(t, b, "process.apparmorProfile", "AppArmor is not enabled on this host")

	b = newBundle(t)
	b.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
	b.Save()
	expectCreateFails(t, b, "process.selinuxLabel", "SELinux is not enabled on this host")

	// A mount label alone is ignored without SELinux (nothing could use it).
	b = newBundle(t, "true")
	b.Spec.Linux.MountLabel = "system_u:object_r:container_file_t:s0:c1,c2"
	b.MustRun()

	b = newBundle(t, "sleep", "100")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	r := b.Skiff("exec", "--apparmor", "skiff-test", b.ID, "true")
	if r.Code != 255 {
		t.Fatalf("exec --apparmor on a host without AppArmor must fail:\n%s", r)
	}
	contains(t, r.Stderr, "AppArmor is not enabled")
}

func TestProcessIntelRdtNotSupported(t *testing.T) {
	if _, err := os.Stat("/sys/fs/resctrl/schemata"); err == nil {
		t.Skip("this host has resctrl")
	}
	b := newBundle(t)
	b.Spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "skiff"}
	b.Save()
	expectCreateFails(t, b, "linux.intelRdt", "not supported")
}

// PITFALLS 23: the pid file is the bare decimal pid, written atomically,
// for create and run -d.
func TestProcessPidFileExact(t *testing.T) {
	for _, verb := range []string{"create", "run"} {
		b := newBundle(t, "sleep", "100")
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "container.pid")
		args := []string{verb, "--bundle", b.Dir, "--pid-file", pidFile, b.ID}
		if verb == "run" {
			args = []string{verb, "-d", "--bundle", b.Dir, "--pid-file", pidFile, b.ID}
		}
		b.MustSkiff(args...)
		raw, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		if want := strconv.Itoa(initPid(b)); string(raw) != want {
			t.Fatalf("%s: pid file holds %q, want exactly %q", verb, raw, want)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("%s: temporary files left next to the pid file: %v", verb, entries)
		}
	}
}

func TestProcessPidFileUnwritableFailsAndCleansUp(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	r := b.Skiff("create", "--bundle", b.Dir, "--pid-file", "/nonexistent/dir/p.pid", b.ID)
	if r.Code != 1 {
		t.Fatalf("create with an unwritable pid file must fail:\n%s", r)
	}
	contains(t, r.Stderr, "--pid-file")
	contains(t, r.Stderr, "/nonexistent/dir")
	if r := b.Skiff("state", b.ID); r.Code == 0 {
		t.Fatalf("the container must be gone after the failed create:\n%s", r)
	}
}

// fdTable maps each fd of pid to what it points at.
func fdTable(t *testing.T, pid int) map[int]string {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, e := range entries {
		fd, _ := strconv.Atoi(e.Name())
		l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
		out[fd] = l
	}
	return out
}

func fdNumbers(m map[int]string) []int {
	var fds []int
	for fd := range m {
		fds = append(fds, fd)
	}
	sort.Ints(fds)
	return fds
}

// PITFALLS 2/22 (CVE-2024-21626): the parked init holds nothing of the
// host but its stdio, the exec FIFO and anonymous objects; the workload
// gets exactly its stdio, which is the caller's own (no copying).
func TestProcessNoHostFdReachesTheContainer(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	outF, _ := os.Create(filepath.Join(b.Dir, "container.out"))
	defer outF.Close()
	cmd := b.command("create", "--bundle", b.Dir, b.ID)
	cmd.Stdout = outF
	cmd.Stderr = outF
	if err := cmd.Run(); err != nil {
		t.Fatalf("create: %v", err)
	}
	pid := initPid(b)
	for fd, target := range fdTable(t, pid) {
		if fd <= 2 {
			continue
		}
		switch {
		case strings.HasPrefix(target, "pipe:"), strings.HasPrefix(target, "socket:"), strings.HasPrefix(target, "anon_inode:"):
		case target == filepath.Join(b.Root, b.ID, "exec.fifo"):
		case target == "/" && isProcfs(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)):
			// filepath-securejoin's cached private procfs (subset=pid),
			// mounted by the init in the container's own pid namespace.
		default:
			t.Errorf("the parked init holds fd %d -> %s", fd, target)
		}
	}
	b.MustSkiff("start", b.ID)
	fds := fdTable(t, pid)
	if got := fdNumbers(fds); fmt.Sprint(got) != "[0 1 2]" {
		t.Fatalf("the container's process has fds %v (%v), want exactly 0 1 2", got, fds)
	}
	// Detached: stdout and stderr are the caller's file itself.
	for _, fd := range []int{1, 2} {
		st, err := os.Stat(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
		ours, _ := outF.Stat()
		if err != nil || !os.SameFile(st, ours) {
			t.Errorf("fd %d of the container is %s, not the caller's file", fd, fds[fd])
		}
	}
}

func isProcfs(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

func tempFile(t *testing.T, dir, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// PITFALLS 22: --preserve-fds N passes exactly fds 3..3+N-1, at their
// numbers; a missing one is an error.
func TestProcessPreserveFds(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	f3, f4, f5 := tempFile(t, b.Dir, "fd3"), tempFile(t, b.Dir, "fd4"), tempFile(t, b.Dir, "fd5")
	cmd := b.command("run", "-d", "--preserve-fds", "2", "--bundle", b.Dir, b.ID)
	cmd.ExtraFiles = []*os.File{f3, f4, f5}
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("run -d --preserve-fds 2:\n%s", r)
	}
	fds := fdTable(t, initPid(b))
	if got := fdNumbers(fds); fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("container fds %v (%v), want 0-4", got, fds)
	}
	if fds[3] != f3.Name() || fds[4] != f4.Name() {
		t.Fatalf("preserved fds point at %s and %s, want %s and %s", fds[3], fds[4], f3.Name(), f4.Name())
	}

	b2 := newBundle(t, "sleep", "100")
	cmd = b2.command("run", "-d", "--preserve-fds", "2", "--bundle", b2.Dir, b2.ID)
	cmd.ExtraFiles = []*os.File{f3}
	r := runCmd(t, b2, cmd)
	if r.Code == 0 {
		t.Fatal("--preserve-fds 2 with fd 4 closed must fail")
	}
	contains(t, r.Stderr, "fd 4")
}

// PITFALLS 22: socket activation passes LISTEN_FDS fds first when
// LISTEN_PID is skiff's own pid, and tells the container LISTEN_PID=1.
func TestProcessListenFdsPassthrough(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	l3, p4 := tempFile(t, b.Dir, "listen3"), tempFile(t, b.Dir, "preserved4")
	// $$ survives exec: LISTEN_PID is the pid skiff will have.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"`, "sh",
		skiffBin, "--root", b.Root, "run", "-d", "--preserve-fds", "1", "--bundle", b.Dir, b.ID)
	cmd.Dir = b.Dir
	cmd.ExtraFiles = []*os.File{l3, p4}
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("run -d with LISTEN_FDS:\n%s", r)
	}
	pid := initPid(b)
	fds := fdTable(t, pid)
	if fds[3] != l3.Name() || fds[4] != p4.Name() || len(fds) != 5 {
		t.Fatalf("container fds %v, want 3=%s 4=%s", fds, l3.Name(), p4.Name())
	}
	environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	env := strings.Split(string(environ), "\x00")
	got := strings.Join(env, " ")
	if !strings.Contains(got, "LISTEN_FDS=1") || !strings.Contains(got, "LISTEN_PID=1") {
		t.Fatalf("container env %q lacks LISTEN_FDS=1 LISTEN_PID=1", got)
	}

	// LISTEN_PID of another process: not for skiff, nothing passed.
	b2 := newBundle(t, "sleep", "100")
	cmd = b2.command("run", "-d", "--bundle", b2.Dir, b2.ID)
	cmd.Env = append(os.Environ(), "LISTEN_PID=1", "LISTEN_FDS=1")
	cmd.ExtraFiles = []*os.File{l3}
	if r := runCmd(t, b2, cmd); r.Code != 0 {
		t.Fatalf("run -d:\n%s", r)
	}
	pid = initPid(b2)
	if fds := fdTable(t, pid); len(fds) != 3 {
		t.Fatalf("LISTEN_PID of another process: container fds %v, want 0-2", fds)
	}
	environ, _ = os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	notContains(t, string(environ), "LISTEN_")
}

var (
	sdnotifyOnce sync.Once
	sdnotifyBin  string
	sdnotifyErr  error
)

// sdnotify builds tests/sdnotify (busybox has no sd_notify client) and
// copies it into the bundle's rootfs as /bin/sdnotify.
func sdnotify(t *testing.T, b *Bundle) {
	t.Helper()
	sdnotifyOnce.Do(func() {
		if p := prebuiltHelper("sdnotify"); p != "" {
			sdnotifyBin = p
			return
		}
		// Next to the rootfs template: TestMain removes that directory.
		sdnotifyBin = filepath.Join(filepath.Dir(template), "sdnotify")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(goBin, "build", "-o", sdnotifyBin, "../sdnotify")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			sdnotifyErr = fmt.Errorf("build tests/sdnotify: %v\n%s", err, out)
		}
	})
	if sdnotifyErr != nil {
		t.Fatal(sdnotifyErr)
	}
	data, err := os.ReadFile(sdnotifyBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "rootfs/bin/sdnotify"), data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// fakeSystemd is a service manager's notify socket: it records the
// datagrams and closes each BARRIER=1 pipe after ack.
func fakeSystemd(t *testing.T, ack time.Duration) (string, func() []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(4))
		for {
			n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
			if oobn > 0 {
				msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
				if len(msgs) == 1 {
					if fds, _ := unix.ParseUnixRights(&msgs[0]); len(fds) == 1 {
						time.Sleep(ack)
						unix.Close(fds[0])
					}
				}
			}
		}
	}()
	return path, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// NOTIFY_SOCKET: start waits for the container's READY=1, passes it to the
// service manager with MAINPID, and returns only after the barrier.
func TestProcessNotifySocketProxy(t *testing.T) {
	host, got := fakeSystemd(t, 300*time.Millisecond)
	b := newBundle(t, "sh", "-c", "echo $NOTIFY_SOCKET > /dev/shm/ns; sleep 0.5; sdnotify STATUS=booting; sdnotify READY=1; exec sleep 100")
	sdnotify(t, b)
	b.Save()
	env := append(os.Environ(), "NOTIFY_SOCKET="+host)
	cmd := b.command("create", "--bundle", b.Dir, b.ID)
	cmd.Env = env
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("create with NOTIFY_SOCKET:\n%s", r)
	}
	startAt := time.Now()
	cmd = b.command("start", b.ID)
	cmd.Env = env
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("start with NOTIFY_SOCKET:\n%s", r)
	}
	if d := time.Since(startAt); d < 800*time.Millisecond {
		t.Errorf("start returned after %v: before READY=1 (0.5 s) and the barrier acknowledgement (0.3 s)", d)
	}
	pid := initPid(b)
	want := []string{"READY=1\n", fmt.Sprintf("MAINPID=%d\n", pid), "BARRIER=1"}
	if g := got(); strings.Join(g, "|") != strings.Join(want, "|") {
		t.Fatalf("the service manager got %q, want %q", g, want)
	}
	r := b.MustSkiff("exec", b.ID, "cat", "/dev/shm/ns")
	contains(t, r.Stdout, "/run/notify/notify.sock")
}

func TestProcessNotifySocketRunDetachedAndEarlyExit(t *testing.T) {
	host, got := fakeSystemd(t, 0)
	b := newBundle(t, "sh", "-c", "sdnotify READY=1; exec sleep 100")
	sdnotify(t, b)
	b.Save()
	cmd := b.command("run", "-d", "--bundle", b.Dir, b.ID)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+host)
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("run -d with NOTIFY_SOCKET:\n%s", r)
	}
	waitFor(t, 5*time.Second, "READY forwarded", func() bool { return len(got()) == 3 })
	contains(t, got()[1], fmt.Sprintf("MAINPID=%d", initPid(b)))

	// A container that exits without READY=1 must not hang start.
	b2 := newBundle(t, "true")
	cmd = b2.command("run", "-d", "--bundle", b2.Dir, b2.ID)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+host)
	startAt := time.Now()
	if r := runCmd(t, b2, cmd); r.Code != 0 {
		t.Fatalf("run -d of a container that never notifies:\n%s", r)
	}
	if d := time.Since(startAt); d > 5*time.Second {
		t.Errorf("run -d waited %v for a container that exited", d)
	}
}

// The same for exec: --preserve-fds passes exactly the fds asked for.
func TestProcessPreserveFdsExec(t *testing.T) {
	b := newBundle(t, "sleep", "100")
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	f3, f4 := tempFile(t, b.Dir, "fd3"), tempFile(t, b.Dir, "fd4")
	pidFile := filepath.Join(b.Dir, "exec.pid")
	cmd := b.command("exec", "-d", "--preserve-fds", "1", "--pid-file", pidFile, b.ID, "sleep", "100")
	cmd.ExtraFiles = []*os.File{f3, f4}
	if r := runCmd(t, b, cmd); r.Code != 0 {
		t.Fatalf("exec -d --preserve-fds 1:\n%s", r)
	}
	raw, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(string(raw))
	fds := fdTable(t, pid)
	if got := fdNumbers(fds); fmt.Sprint(got) != "[0 1 2 3]" || fds[3] != f3.Name() {
		t.Fatalf("exec'd process fds %v, want 0-3 with 3=%s", fds, f3.Name())
	}
	cmd = b.command("exec", "-d", "--preserve-fds", "3", b.ID, "true")
	cmd.ExtraFiles = []*os.File{f3, f4}
	r := runCmd(t, b, cmd)
	if r.Code != 255 {
		t.Fatalf("exec --preserve-fds 3 with fd 5 not passed must exit 255:\n%s", r)
	}
	contains(t, r.Stderr, "fd 5")
}
