package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/mountopts"
)

// mountCgroup gives the container a view of its own cgroups only, never the
// host's whole tree (PITFALLS 15):
//   - with its own cgroup namespace: fresh cgroup filesystems, whose root is
//     the container's cgroup;
//   - without: the container's cgroup directories bind-mounted.
//
// On cgroup v1 (and hybrid) /sys/fs/cgroup becomes a tmpfs with one
// directory per hierarchy, as on the host.
func (r *Root) mountCgroup(field string, m *specs.Mount, dest string, o *mountopts.Options) error {
	hier, err := hostHierarchies()
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	target, err := r.mkdirAll(dest, 0o755)
	if err != nil {
		return fmt.Errorf("%s: create mount point %s inside the rootfs: %w", field, dest, err)
	}
	defer target.Close()
	flags := o.Flags &^ (unix.MS_BIND | unix.MS_REC)
	ro := flags&unix.MS_RDONLY != 0

	unifiedOnly := len(hier) == 1 && hier[0].unified
	if unifiedOnly {
		if r.c.CgroupNS {
			if err := unix.Mount("cgroup2", fdPath(target), "cgroup2", flags, ""); err != nil {
				return fmt.Errorf("%s: mount cgroup2 on %s: %w", field, dest, err)
			}
			return nil
		}
		return r.bindCgroup(field, target, dest, r.c.CgroupPaths[""], flags)
	}

	// v1 or hybrid: a tmpfs holding one mount per hierarchy. It is made
	// read-only last, after the hierarchy mount points exist in it.
	if err := unix.Mount("tmpfs", fdPath(target), "tmpfs", flags&^unix.MS_RDONLY, "mode=755"); err != nil {
		return fmt.Errorf("%s: mount the tmpfs for cgroup hierarchies on %s: %w", field, dest, err)
	}
	real, err := r.inRoot(target)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	tmp, err := r.reopenMounted(dest, real)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	defer tmp.Close()
	// The tmpfs was just mounted in the init's own mount namespace, where no
	// other process can reach it: its entries are made and opened relative
	// to its fd, one component each, without the in-rootfs resolution
	// checks (which cost ~0.1 ms a hierarchy, 10 of them here).
	for _, h := range hier {
		sub, err := tmpDir(tmp, h.name)
		if err != nil {
			return fmt.Errorf("%s: create %s/%s: %w", field, dest, h.name, err)
		}
		if r.c.CgroupNS {
			typ, data := "cgroup", strings.Join(h.opts, ",")
			if h.unified {
				typ, data = "cgroup2", ""
			}
			err = unix.Mount(typ, fdPath(sub), typ, flags, data)
			if err != nil {
				err = fmt.Errorf("%s: mount cgroup hierarchy %s on %s/%s: %w", field, h.name, dest, h.name, err)
			}
		} else {
			err = bindCgroupIn(field, tmp, sub, h.name, filepath.Join(dest, h.name), h.containerPath(r.c.CgroupPaths), flags)
		}
		sub.Close()
		if err != nil {
			return err
		}
		// Joined controllers ("cpu,cpuacct") are also reachable by each name.
		if strings.Contains(h.name, ",") {
			for _, c := range strings.Split(h.name, ",") {
				_ = unix.Symlinkat(h.name, int(tmp.Fd()), c)
			}
		}
	}
	if ro {
		if err := unix.Mount("", fdPath(tmp), "", unix.MS_REMOUNT|flags, "mode=755"); err != nil {
			return fmt.Errorf("%s: make %s read-only: %w", field, dest, err)
		}
	}
	return nil
}

// tmpDir makes the directory name in the tmpfs dir and opens it.
func tmpDir(dir *os.File, name string) (*os.File, error) {
	if err := unix.Mkdirat(int(dir.Fd()), name, 0o755); err != nil && err != unix.EEXIST {
		return nil, err
	}
	return openIn(dir, name)
}

func openIn(dir *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// bindCgroupIn is bindCgroup for a mount point in the private tmpfs: the
// remount opens the new mount by name relative to the tmpfs.
func bindCgroupIn(field string, tmp, target *os.File, name, dest, src string, flags uintptr) error {
	if src == "" {
		// No cgroup in this hierarchy (rootless without delegation):
		// leave the directory empty rather than expose the host's tree.
		return nil
	}
	if err := unix.Mount(src, fdPath(target), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("%s: bind the container's cgroup %s on %s: %w", field, src, dest, err)
	}
	if flags == 0 {
		return nil
	}
	mounted, err := openIn(tmp, name)
	if err != nil {
		return fmt.Errorf("%s: reopen %s after mounting: %w", field, dest, err)
	}
	defer mounted.Close()
	if err := unix.Mount("", fdPath(mounted), "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
		return fmt.Errorf("%s: remount %s with the cgroup mount's options: %w", field, dest, err)
	}
	return nil
}

func (r *Root) bindCgroup(field string, target *os.File, dest, src string, flags uintptr) error {
	if src == "" {
		// The container has no cgroup in this hierarchy (rootless without
		// delegation): leave the directory empty rather than expose the
		// host's tree.
		return nil
	}
	if err := unix.Mount(src, fdPath(target), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("%s: bind the container's cgroup %s on %s: %w", field, src, dest, err)
	}
	if flags != 0 {
		real, err := r.inRoot(target)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		mounted, err := r.reopenMounted(dest, real)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		defer mounted.Close()
		if err := unix.Mount("", fdPath(mounted), "", unix.MS_BIND|unix.MS_REMOUNT|flags, ""); err != nil {
			return fmt.Errorf("%s: remount %s with the cgroup mount's options: %w", field, dest, err)
		}
	}
	return nil
}

type hierarchy struct {
	name       string   // directory name under /sys/fs/cgroup: "cpu,cpuacct", "unified"
	mountpoint string   // host mount point
	opts       []string // v1 mount options naming the controllers
	unified    bool
}

// containerPath finds the container's directory in this hierarchy among
// the cgroup manager's paths (keyed by controller name, "" for unified).
func (h hierarchy) containerPath(paths map[string]string) string {
	for _, p := range paths {
		if p == h.mountpoint || strings.HasPrefix(p, h.mountpoint+"/") {
			return p
		}
	}
	return ""
}

func hostHierarchies() ([]hierarchy, error) {
	all, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, fmt.Errorf("read the host's cgroup mounts: %w", err)
	}
	// A cgroup mount covered by a later mount of another type is not
	// visible (a tmpfs over the hybrid "unified" mount): the cgroup
	// manager skips it too.
	top := map[string]string{}
	for _, m := range all {
		top[m.Mountpoint] = m.FSType
	}
	var out []hierarchy
	seen := map[string]bool{}
	for _, m := range all {
		if (m.FSType != "cgroup" && m.FSType != "cgroup2") || (top[m.Mountpoint] != "cgroup" && top[m.Mountpoint] != "cgroup2") {
			continue
		}
		if seen[m.Mountpoint] {
			continue
		}
		seen[m.Mountpoint] = true
		h := hierarchy{mountpoint: m.Mountpoint, name: filepath.Base(m.Mountpoint)}
		if m.FSType == "cgroup2" {
			h.unified = true
		} else {
			for _, opt := range strings.Split(m.VFSOptions, ",") {
				switch {
				case opt == "rw" || opt == "ro":
				case strings.HasPrefix(opt, "name="), !strings.Contains(opt, "="):
					h.opts = append(h.opts, opt)
				}
			}
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].mountpoint < out[j].mountpoint })
	if len(out) == 0 {
		return nil, fmt.Errorf("no cgroup filesystem is mounted on the host")
	}
	return out, nil
}
