package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func addMount(b *Bundle, m specs.Mount) {
	b.Spec.Mounts = append(b.Spec.Mounts, m)
}

func TestTmpfsMountWithOptions(t *testing.T) {
	b := newBundle(t, "sh", "-c", "grep ' /data ' /proc/self/mounts; stat -c %a /data; touch /data/x && echo writable")
	addMount(b, specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=1770", "nosuid", "nodev"}})
	out := b.MustRun()
	contains(t, out, "tmpfs /data tmpfs rw,nosuid,nodev")
	contains(t, out, "size=1024k")
	contains(t, out, "1770")
	contains(t, out, "writable")
}

// tmpcopyup (runc's extension; podman sets it on the tmpfs mounts of
// --read-only and --tmpfs) copies what the covered directory holds.
func TestTmpfsCopyUp(t *testing.T) {
	b := newBundle(t, "sh", "-c", "cat /cu/sub/file; readlink /cu/link; stat -c '%a %u' /cu /cu/sub/file; grep -c ' /cu tmpfs ' /proc/self/mounts; touch /cu/new && echo writable")
	rfs := filepath.Join(b.Dir, "rootfs")
	os.MkdirAll(filepath.Join(rfs, "cu/sub"), 0o755)
	os.Chmod(filepath.Join(rfs, "cu"), 0o777|os.ModeSticky)
	os.WriteFile(filepath.Join(rfs, "cu/sub/file"), []byte("from the image\n"), 0o640)
	os.Chown(filepath.Join(rfs, "cu/sub/file"), 1000, 0)
	os.Symlink("sub/file", filepath.Join(rfs, "cu/link"))
	addMount(b, specs.Mount{Destination: "/cu", Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "nosuid", "nodev", "tmpcopyup"}})
	out := b.MustRun()
	for _, want := range []string{"from the image", "sub/file", "1777 0", "640 1000", "1\n", "writable"} {
		contains(t, out, want)
	}
	if _, err := os.Stat(filepath.Join(rfs, "cu/new")); err == nil {
		t.Fatal("a file written to the tmpfs reached the rootfs")
	}
}

func TestBindMounts(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "file"), []byte("from the host\n"), 0o644)
	b := newBundle(t, "sh", "-c", "cat /rw/file /onefile; echo inside > /rw/new; touch /ro/x 2>&1; grep ' /ro ' /proc/self/mounts")
	addMount(b, specs.Mount{Destination: "/rw", Type: "bind", Source: host, Options: []string{"rbind"}})
	addMount(b, specs.Mount{Destination: "/ro", Source: host, Options: []string{"bind", "ro", "nosuid"}})
	addMount(b, specs.Mount{Destination: "/onefile", Source: filepath.Join(host, "file"), Options: []string{"bind"}})
	out := b.MustRun()
	contains(t, out, "from the host\nfrom the host")
	contains(t, out, "Read-only file system")
	contains(t, out, " ro,nosuid")
	data, err := os.ReadFile(filepath.Join(host, "new"))
	if err != nil || string(data) != "inside\n" {
		t.Fatalf("a write through the rw bind must reach the host: %q %v", data, err)
	}
}

func TestRelativeBindSourceIsBundleRelative(t *testing.T) {
	b := newBundle(t, "cat", "/etc/marker")
	os.WriteFile(filepath.Join(b.Dir, "marker"), []byte("bundle-relative\n"), 0o644)
	addMount(b, specs.Mount{Destination: "/etc/marker", Source: "marker", Options: []string{"bind"}})
	contains(t, b.MustRun(), "bundle-relative")
}

// A root.path through symlinks (the rootfs itself, and a directory above
// it) runs the container from the real directory; state records it.
func TestRootfsThroughSymlinks(t *testing.T) {
	b := newBundle(t, "cat", "/etc/marker")
	os.WriteFile(filepath.Join(b.Dir, "rootfs", "etc", "marker"), []byte("real-rootfs\n"), 0o644)
	os.Rename(filepath.Join(b.Dir, "rootfs"), filepath.Join(b.Dir, "real"))
	os.Symlink("real", filepath.Join(b.Dir, "rootfs"))
	os.Symlink(b.Dir, filepath.Join(b.Dir, "up"))
	for _, p := range []string{"rootfs", filepath.Join(b.Dir, "up", "rootfs")} {
		b.Spec.Root.Path = p
		b.Save()
		contains(t, b.MustRun(), "real-rootfs")
	}
	b.Spec.Process.Args = []string{"sleep", "100"}
	b.Save()
	b.MustSkiff("create", "--bundle", b.Dir, b.ID)
	want, _ := filepath.EvalSymlinks(filepath.Join(b.Dir, "real"))
	if got := b.State()["rootfs"]; got != want {
		t.Errorf("state rootfs = %v, want %s", got, want)
	}
	b.MustSkiff("delete", "--force", b.ID)
	b.NoLeaks()
}

// PITFALLS 3: mount destinations through symlinks that point out of the
// rootfs land inside it.
func TestMountDestinationSymlinksStayInRootfs(t *testing.T) {
	b := newBundle(t, "sh", "-c", "grep -c tmpfs /proc/self/mounts")
	rootfs := filepath.Join(b.Dir, "rootfs")
	os.Symlink("/", filepath.Join(rootfs, "abs"))
	os.Symlink("../../../../../../..", filepath.Join(rootfs, "rel"))
	marker := "skiff-escape-" + b.ID
	addMount(b, specs.Mount{Destination: "/abs/" + marker + "-a", Type: "tmpfs", Source: "tmpfs"})
	addMount(b, specs.Mount{Destination: "/rel/" + marker + "-b", Type: "tmpfs", Source: "tmpfs"})
	b.MustRun()
	for _, p := range []string{"/" + marker + "-a", "/" + marker + "-b"} {
		if _, err := os.Stat(p); err == nil {
			os.Remove(p)
			t.Errorf("mount point %s was created on the host", p)
		}
		if _, err := os.Stat(filepath.Join(rootfs, p)); err != nil {
			t.Errorf("mount point %s must be inside the rootfs: %v", p, err)
		}
	}
}

// PITFALLS 7: nothing may be mounted below /proc except lxcfs-style files.
func TestMountBelowProcRefused(t *testing.T) {
	host := filepath.Join(t.TempDir(), "f")
	os.WriteFile(host, []byte("x"), 0o644)
	b := newBundle(t, "true")
	addMount(b, specs.Mount{Destination: "/proc/sys/kernel/core_pattern", Source: host, Options: []string{"bind"}})
	r := b.Run()
	if r.Code == 0 {
		t.Fatal("a bind mount over /proc/sys/kernel/core_pattern must be refused")
	}
	contains(t, r.Stderr, "/proc/sys/kernel/core_pattern")

	b2 := newBundle(t, "cat", "/proc/meminfo")
	os.WriteFile(host, []byte("MemTotal: 42 kB\n"), 0o644)
	addMount(b2, specs.Mount{Destination: "/proc/meminfo", Source: host, Options: []string{"bind"}})
	contains(t, b2.MustRun(), "MemTotal: 42 kB")
}

// PITFALLS 4: proc must be mounted on an ordinary directory.
func TestProcOnSymlinkRefused(t *testing.T) {
	b := newBundle(t, "true")
	rootfs := filepath.Join(b.Dir, "rootfs")
	os.Remove(filepath.Join(rootfs, "proc"))
	os.Mkdir(filepath.Join(rootfs, "bad-proc"), 0o755)
	os.Symlink("/bad-proc", filepath.Join(rootfs, "proc"))
	r := b.Run()
	if r.Code == 0 {
		t.Fatal("proc on a symlink must be refused")
	}
	contains(t, r.Stderr, "ordinary directory")
}

func TestMaskedAndReadonlyPaths(t *testing.T) {
	b := newBundle(t, "sh", "-c", `exec 2>&1
echo "acpi entries: $(ls -A /proc/acpi | wc -l)"
echo "keys: $(stat -c '%t:%T' /proc/keys)"
echo "timer_list bytes: $(wc -c < /proc/timer_list)"
(echo x > /proc/sys/kernel/domainname) || true
touch /proc/acpi/x || true
grep -E ' /proc/(sys|bus|acpi|keys) ' /proc/self/mounts`)
	out := b.MustRun()
	for _, want := range []string{
		"acpi entries: 0", "keys: 1:3", "timer_list bytes: 0",
		"/proc/sys/kernel/domainname: Read-only file system",
		"/proc/acpi/x: Read-only file system",
		"proc /proc/sys proc ro,", " /proc/acpi tmpfs ro,",
	} {
		contains(t, out, want)
	}
}

func TestReadonlyRoot(t *testing.T) {
	b := newBundle(t, "sh", "-c", "touch /x 2>&1; touch /dev/shm/y && echo shm-writable")
	b.Spec.Root.Readonly = true
	out := b.MustRun()
	contains(t, out, "Read-only file system")
	contains(t, out, "shm-writable")
}

func TestRootfsPropagation(t *testing.T) {
	// The host's mounts here are private (no systemd), so rslave has
	// nothing to follow: it only must not be shared.
	for prop, want := range map[string]string{"rshared": "shared:", "rslave": "", "rprivate": ""} {
		t.Run(prop, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo")
			b.Spec.Linux.RootfsPropagation = prop
			out := b.MustRun()
			if want != "" {
				contains(t, out, want)
			} else {
				notContains(t, out, "shared:")
			}
		})
	}
}

// A bind mount with rslave sees mounts made later on the host below its
// (shared) source; rprivate does not.
func TestBindMountPropagationFromHost(t *testing.T) {
	src := t.TempDir()
	run(t, "mount", "--bind", src, src)
	run(t, "mount", "--make-shared", src)
	t.Cleanup(func() { run(t, "umount", "-R", src) })
	os.Mkdir(filepath.Join(src, "slave-sub"), 0o755)
	b := newBundle(t, "sh", "-c", "i=0; while [ $i -lt 100 ] && ! grep -q ' /vol/slave-sub ' /proc/self/mounts; do sleep 0.05; i=$((i+1)); done; grep ' /vol/slave-sub ' /proc/self/mounts && echo seen")
	addMount(b, specs.Mount{Destination: "/vol", Source: src, Options: []string{"rbind", "rslave"}})
	b.Save()
	cmd := b.command("run", "--bundle", b.Dir, b.ID)
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "container running", func() bool {
		r := b.Skiff("state", b.ID)
		return strings.Contains(r.Stdout, `"running"`)
	})
	run(t, "mount", "-t", "tmpfs", "skiff-prop-test", filepath.Join(src, "slave-sub"))
	cmd.Wait()
	contains(t, out.String(), "seen")
}

// PITFALLS 9: the container's mounts never reach the host.
func TestMountsDoNotPropagateToHost(t *testing.T) {
	before, _ := os.ReadFile("/proc/self/mountinfo")
	b := newBundle(t, "sleep", "100")
	for i := 0; i < 5; i++ {
		addMount(b, specs.Mount{Destination: "/extra" + string(rune('a'+i)), Type: "tmpfs", Source: "tmpfs"})
	}
	b.MustSkiff("run", "-d", "--bundle", b.Dir, b.ID)
	b.Save()
	during, _ := os.ReadFile("/proc/self/mountinfo")
	// Only mounts of this container count: other processes on the host
	// (engine tests, the VM's services) may mount things meanwhile.
	old := map[string]bool{}
	for _, l := range strings.Split(string(before), "\n") {
		old[l] = true
	}
	for _, l := range strings.Split(string(during), "\n") {
		if old[l] {
			continue
		}
		if f := strings.Fields(l); len(f) > 4 && (strings.Contains(f[4], b.Dir) || strings.Contains(f[4], "/extra")) {
			t.Errorf("a container mount reached the host: %s", l)
		}
	}
}

func TestDevices(t *testing.T) {
	b := newBundle(t, "sh", "-c", `
for d in null zero full random urandom tty fuse; do stat -c "%n %F %t:%T %a %u:%g" /dev/$d; done
for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done
echo ok > /dev/null && head -c 4 /dev/zero | wc -c`)
	mode := os.FileMode(0o640)
	uid, gid := uint32(1000), uint32(1000)
	b.Spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid}}
	b.Spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(10), Minor: i64(229), Access: "rwm"}}}
	out := b.MustRun()
	for _, want := range []string{
		"/dev/null character special file 1:3 666 0:0",
		"/dev/zero character special file 1:5",
		"/dev/tty character special file 5:0",
		"/dev/fuse character special file a:e5 640 1000:1000",
		"pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2",
	} {
		contains(t, out, want)
	}
	contains(t, out, "\n4\n")
}

func i64(v int64) *int64 { return &v }

func TestCgroupMountShowsOnlyTheContainer(t *testing.T) {
	pids, files := "/sys/fs/cgroup/pids", "memory"
	if hostV2() {
		// One unified tree: the container's own directory is the root.
		pids, files = "/sys/fs/cgroup", "memory.max"
	}
	b := newBundle(t, "sh", "-c", "ls /sys/fs/cgroup/; cat "+pids+"/pids.max; ls "+pids+" | grep -c cgroup.procs; touch "+pids+"/x 2>&1; true")
	b.Spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(42)}}
	out := b.MustRun()
	contains(t, out, files)
	contains(t, out, "42")
	contains(t, out, "Read-only file system")
}

func TestNoPivot(t *testing.T) {
	b := newBundle(t, "sh", "-c", "cat /proc/self/mountinfo | wc -l; ls /")
	b.Save()
	r := b.Skiff("run", "--no-pivot", "--bundle", b.Dir, b.ID)
	if r.Code != 0 {
		t.Fatalf("run --no-pivot:\n%s", r)
	}
	contains(t, r.Stdout, "bin")
}
