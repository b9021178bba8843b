// Package rootfs builds a container's root filesystem inside the init's new
// mount namespace: propagation, the spec's mounts in order, /dev, pivot_root,
// then read-only and masked paths.
//
// Every path inside the rootfs is resolved relative to a file descriptor of
// the rootfs (openat2 RESOLVE_IN_ROOT, resolve.go), never by
// joining strings, and every mount is made onto the descriptor that was
// resolved, so a symlink swapped in by a container sharing a volume cannot
// redirect a mount to the host (CVE-2021-30465, CVE-2024-45310).
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/selinux/go-selinux"
	"github.com/opencontainers/selinux/go-selinux/label"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/mountopts"
)

// Config is what the rootfs needs from the init config.
type Config struct {
	Spec    *specs.Spec
	Rootfs  string // absolute host path
	NoPivot bool
	// CgroupPaths maps controller ("" = unified) to the container's cgroup
	// directory on the host.
	CgroupPaths map[string]string
	// UserNS: the init is in a user namespace, where mknod is refused, so
	// device nodes are bind-mounted from the host instead.
	UserNS bool
	// CgroupNS: the init has its own cgroup namespace, so cgroup mounts are
	// fresh cgroup filesystems rooted at the container's cgroup.
	CgroupNS bool
}

// Root is a rootfs being built.
type Root struct {
	c  *Config
	fd *os.File // O_PATH handle of the rootfs
	// roLater are tmpfs mounts asked to be read-only: they are mounted
	// writable so later mounts can create their mount points below them,
	// and made read-only by Finalize.
	roLater []roMount
	// devBound: /dev is a bind mount from the spec; leave it alone.
	devBound bool
}

type roMount struct {
	dest  string
	flags uintptr
	data  string
}

// Prepare runs before pivot_root, in the init's own mount namespace: makes
// sure nothing propagates back to the host, binds the rootfs onto itself,
// performs the spec's mounts in order and populates /dev.
func Prepare(c *Config) (*Root, error) {
	s := c.Spec
	r := &Root{c: c}
	prop, _ := propagationFlag(linuxField(s).RootfsPropagation)
	// Nothing mounted from here on may propagate to the host: recursive
	// slave (or the configured private/slave flavour) on the whole tree.
	first := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if prop&(unix.MS_PRIVATE|unix.MS_SLAVE) != 0 {
		first = prop
	}
	if err := unix.Mount("", "/", "", first, ""); err != nil {
		return nil, fmt.Errorf("make / a %s mount in the container's mount namespace: %w", propName(first), err)
	}
	if err := makeParentPrivate(c.Rootfs); err != nil {
		return nil, err
	}
	// A bind of the rootfs onto itself makes it a mount point, which
	// pivot_root requires, and gives it its own propagation settings.
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("root.path %s: bind the rootfs onto itself: %w", c.Rootfs, err)
	}
	fd, err := os.OpenFile(c.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("root.path %s: %w", c.Rootfs, err)
	}
	r.fd = fd
	for i := range s.Mounts {
		if err := r.mount(i, &s.Mounts[i]); err != nil {
			r.Close()
			return nil, err
		}
	}
	if !r.devBound {
		if err := r.setupDev(); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// Close releases the rootfs handle.
func (r *Root) Close() {
	if r.fd != nil {
		r.fd.Close()
		r.fd = nil
	}
}

func linuxField(s *specs.Spec) *specs.Linux {
	if s.Linux == nil {
		return &specs.Linux{}
	}
	return s.Linux
}

// makeParentPrivate makes the mount that contains the rootfs private:
// pivot_root refuses a new root whose parent mount is shared, and a shared
// parent would also propagate the rootfs bind to the host.
func makeParentPrivate(rootfs string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(rootfs))
	if err != nil {
		return fmt.Errorf("read mountinfo to find the mount holding %s: %w", rootfs, err)
	}
	var best *mountinfo.Info
	for _, m := range mounts {
		if best == nil || len(m.Mountpoint) > len(best.Mountpoint) {
			best = m
		}
	}
	if best == nil || !strings.Contains(best.Optional, "shared:") {
		return nil
	}
	if err := unix.Mount("", best.Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s (the mount holding the rootfs) private: %w", best.Mountpoint, err)
	}
	return nil
}

func propagationFlag(p string) (uintptr, error) {
	switch p {
	case "":
		return 0, nil
	case "private":
		return unix.MS_PRIVATE, nil
	case "rprivate":
		return unix.MS_PRIVATE | unix.MS_REC, nil
	case "slave":
		return unix.MS_SLAVE, nil
	case "rslave":
		return unix.MS_SLAVE | unix.MS_REC, nil
	case "shared":
		return unix.MS_SHARED, nil
	case "rshared":
		return unix.MS_SHARED | unix.MS_REC, nil
	case "unbindable":
		return unix.MS_UNBINDABLE, nil
	case "runbindable":
		return unix.MS_UNBINDABLE | unix.MS_REC, nil
	}
	return 0, fmt.Errorf("linux.rootfsPropagation: unknown value %q", p)
}

func propName(f uintptr) string {
	rec := ""
	if f&unix.MS_REC != 0 {
		rec = "recursive "
	}
	switch {
	case f&unix.MS_PRIVATE != 0:
		return rec + "private"
	case f&unix.MS_SLAVE != 0:
		return rec + "slave"
	case f&unix.MS_SHARED != 0:
		return rec + "shared"
	case f&unix.MS_UNBINDABLE != 0:
		return rec + "unbindable"
	}
	return "propagation " + strconv.Itoa(int(f))
}

// fdPath names an open file so that mount(2) acts on exactly that file.
// Before pivot_root this is the host's procfs, which the container cannot
// touch.
func fdPath(f *os.File) string {
	return "/proc/thread-self/fd/" + strconv.Itoa(int(f.Fd()))
}

// inRoot returns the path of f relative to the rootfs ("/dev/pts"), to
// check where a resolved handle really is.
func (r *Root) inRoot(f *os.File) (string, error) {
	p, err := os.Readlink(fdPath(f))
	if err != nil {
		return "", err
	}
	if p == r.c.Rootfs {
		return "/", nil
	}
	if !strings.HasPrefix(p, r.c.Rootfs+"/") {
		return "", fmt.Errorf("resolved to %s, outside the rootfs", p)
	}
	return p[len(r.c.Rootfs):], nil
}

// mkdirAll creates dir (a path inside the rootfs) and returns an O_PATH
// handle to it, resolving every component inside the rootfs.
func (r *Root) mkdirAll(dir string, mode os.FileMode) (*os.File, error) {
	return mkdirInRoot(r.fd, dir, mode)
}

// createFile creates an empty file at p (inside the rootfs) if nothing is
// there, for a file bind mount, and returns an O_PATH handle to it.
func (r *Root) createFile(p string) (*os.File, error) {
	parent, err := r.mkdirAll(filepath.Dir(p), 0o755)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	base := filepath.Base(p)
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o644)
	if err == nil {
		unix.Close(fd)
	} else if !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.ELOOP) &&
		!errors.Is(err, unix.ENXIO) && !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.EACCES) {
		return nil, err
	}
	return openInRoot(r.fd, p)
}

// open resolves p inside the rootfs to an O_PATH handle.
func (r *Root) open(p string) (*os.File, error) {
	return openInRoot(r.fd, p)
}

func cleanDest(d string) string {
	return filepath.Clean("/" + d)
}

func (r *Root) mount(i int, m *specs.Mount) error {
	field := fmt.Sprintf("mounts[%d]", i)
	dest := cleanDest(m.Destination)
	o, err := mountopts.Parse(*m)
	if err != nil {
		return fmt.Errorf("%s.options: %w", field, err)
	}
	if m.Type == "cgroup" || m.Type == "cgroup2" {
		return r.mountCgroup(field, m, dest, o)
	}
	wantFile := false
	source := m.Source
	if o.Bind {
		if source == "" {
			return fmt.Errorf("%s %s: a bind mount needs a source", field, dest)
		}
		if !filepath.IsAbs(source) {
			// Relative bind sources are relative to the bundle; the parent
			// made root.path absolute, the bundle is its parent's cwd.
			source = filepath.Join(filepath.Dir(r.c.Rootfs), source)
		}
		st, err := os.Stat(source)
		if err != nil {
			return fmt.Errorf("%s %s: bind source %s: %w (create it or drop the mount)", field, dest, source, err)
		}
		wantFile = !st.IsDir()
		if dest == "/dev" {
			r.devBound = true
		}
	}
	var target *os.File
	if wantFile {
		target, err = r.createFile(dest)
	} else {
		target, err = r.mkdirAll(dest, 0o755)
	}
	if err != nil {
		return fmt.Errorf("%s: create mount point %s inside the rootfs: %w", field, dest, err)
	}
	defer target.Close()
	real, err := r.inRoot(target)
	if err != nil {
		return fmt.Errorf("%s %s: %w", field, dest, err)
	}
	if real == "/" {
		return fmt.Errorf("%s: destination %s resolves to the rootfs itself (a symlink to / in the image?)", field, dest)
	}
	if err := checkProcDest(m, real); err != nil {
		return fmt.Errorf("%s %s: %w", field, dest, err)
	}
	if m.Type == "proc" || m.Type == "sysfs" {
		if err := r.checkOrdinaryDir(dest); err != nil {
			return fmt.Errorf("%s: filesystem %q must be mounted on an ordinary directory: %w", field, m.Type, err)
		}
	}

	tp := fdPath(target)
	if o.Bind {
		flags := uintptr(unix.MS_BIND)
		if o.RecursiveBind {
			flags |= unix.MS_REC
		}
		if err := unix.Mount(source, tp, "", flags, ""); err != nil {
			return fmt.Errorf("%s: bind %s on %s: %w", field, source, dest, err)
		}
		if rest := o.Flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 || o.ClearFlags != 0 {
			mounted, err := r.reopenMounted(dest, real)
			if err != nil {
				return fmt.Errorf("%s: %w", field, err)
			}
			err = remountBind(fdPath(mounted), source, rest, o)
			mounted.Close()
			if err != nil {
				return fmt.Errorf("%s: remount bind %s on %s with %s: %w", field, source, dest, strings.Join(m.Options, ","), err)
			}
		}
	} else {
		flags := o.Flags
		data := o.Data
		if m.Type == "tmpfs" && flags&unix.MS_RDONLY != 0 {
			r.roLater = append(r.roLater, roMount{dest: dest, flags: flags, data: data})
			flags &^= unix.MS_RDONLY
		}
		typ := m.Type
		if typ == "" {
			typ = "none"
		}
		// linux.mountLabel labels what the container's own filesystems
		// hold (runc: every mount but proc, sysfs and mqueue). Only SELinux
		// knows the context= option.
		if lbl := linuxField(r.c.Spec).MountLabel; lbl != "" && typ != "proc" && typ != "sysfs" && typ != "mqueue" && selinux.GetEnabled() {
			data = label.FormatMountLabel(data, lbl)
		}
		// tmpcopyup: keep a handle on the directory the tmpfs will cover,
		// to copy its contents into the tmpfs afterwards.
		var under *os.File
		if o.CopyUp {
			if under, err = os.OpenFile(tp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
				return fmt.Errorf("%s: tmpcopyup: open %s: %w", field, dest, err)
			}
			defer under.Close()
		}
		if err := unix.Mount(source, tp, typ, flags, data); err != nil {
			return fmt.Errorf("%s: mount %s (type %s, options %s) on %s: %w%s", field, source, typ, strings.Join(m.Options, ","), dest, err, mountHint(m, err))
		}
		if under != nil {
			if err := r.copyUp(under, dest, real); err != nil {
				return fmt.Errorf("%s: tmpcopyup of %s: %w", field, dest, err)
			}
		}
	}
	// The handle still names the directory that is now covered: reopen
	// the mount point and check it is where the mount went before
	// changing its propagation or attributes.
	if len(o.Propagation) > 0 || o.AttrSet != 0 || o.AttrClr != 0 {
		target.Close()
		if target, err = r.reopenMounted(dest, real); err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		tp = fdPath(target)
	}
	for _, p := range o.Propagation {
		if err := unix.Mount("", tp, "", p, ""); err != nil {
			return fmt.Errorf("%s: set %s propagation on %s: %w", field, propName(p), dest, err)
		}
	}
	if o.AttrSet != 0 || o.AttrClr != 0 {
		attr := &unix.MountAttr{Attr_set: o.AttrSet, Attr_clr: o.AttrClr}
		if err := unix.MountSetattr(int(target.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
			return fmt.Errorf("%s: apply recursive options to %s: mount_setattr: %w", field, dest, err)
		}
	}
	return nil
}

// reopenMounted resolves dest again after a mount on it, and checks it
// still resolves to where the mount was made.
func (r *Root) reopenMounted(dest, want string) (*os.File, error) {
	f, err := r.open(dest)
	if err != nil {
		return nil, fmt.Errorf("reopen %s after mounting: %w", dest, err)
	}
	got, err := r.inRoot(f)
	if err != nil || got != want {
		f.Close()
		return nil, fmt.Errorf("%s moved while it was being mounted (now %q, was %q)", dest, got, want)
	}
	return f, nil
}

func mountHint(m *specs.Mount, err error) string {
	if errors.Is(err, unix.ENODEV) {
		return fmt.Sprintf(" (no filesystem of type %q: missing the \"bind\" option for a bind mount?)", m.Type)
	}
	return ""
}

// remountBind applies flags to a bind mount: MS_BIND ignores every other
// flag, so a second MS_REMOUNT|MS_BIND call sets them. A mount inherited
// from a less privileged user namespace has locked flags (nosuid, nodev,
// noexec, ro, atime) that cannot be cleared; keep them unless the user
// explicitly asked to clear one.
func remountBind(tp, source string, flags uintptr, o *mountopts.Options) error {
	err := unix.Mount("", tp, "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
	if !errors.Is(err, unix.EPERM) {
		return err
	}
	var st unix.Statfs_t
	if serr := unix.Statfs(source, &st); serr != nil {
		return err
	}
	locked := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	if locked&o.ClearFlags != 0 {
		return fmt.Errorf("%w: the source mount has locked flags that the options ask to clear", err)
	}
	return unix.Mount("", tp, "", unix.MS_BIND|unix.MS_REMOUNT|flags|locked, "")
}

// procAllowed are the only files a mount may cover below /proc (lxcfs-style
// emulation); anything else could hide the real file from the runtime's own
// checks or hand the container a host-global knob.
var procAllowed = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/sys/kernel/ns_last_pid": true, "/proc/sys/crypto/fips_enabled": true,
}

func checkProcDest(m *specs.Mount, real string) error {
	if real == "/proc" {
		if m.Type == "proc" || m.Type == "bind" || strings.Contains(strings.Join(m.Options, ","), "bind") {
			return nil
		}
		return fmt.Errorf("only a proc filesystem may be mounted at /proc, not %q", m.Type)
	}
	if strings.HasPrefix(real, "/proc/") && !procAllowed[real] {
		return fmt.Errorf("mounts below /proc are refused (resolved to %s); only lxcfs-style files such as /proc/meminfo may be covered", real)
	}
	return nil
}

// checkOrdinaryDir refuses a destination whose last component is a symlink
// (CVE-2019-16884: a /proc that is a symlink to a directory the container
// controls).
func (r *Root) checkOrdinaryDir(dest string) error {
	parent, err := r.open(filepath.Dir(dest))
	if err != nil {
		return err
	}
	defer parent.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(int(parent.Fd()), filepath.Base(dest), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s is not a directory (a symlink?)", dest)
	}
	return nil
}
