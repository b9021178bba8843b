package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are created in every container, as runc does.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// DefaultDevices returns the devices every container gets (the cgroup code
// allows them too).
func DefaultDevices() []specs.LinuxDevice { return defaultDevices }

func (r *Root) setupDev() error {
	s := r.c.Spec
	seen := map[string]bool{}
	var devs []specs.LinuxDevice
	for _, d := range linuxField(s).Devices {
		devs = append(devs, d)
		seen[cleanDest(d.Path)] = true
	}
	for _, d := range defaultDevices {
		if !seen[d.Path] {
			devs = append(devs, d)
		}
	}
	for i, d := range devs {
		if err := r.createDevice(d); err != nil {
			field := "default device"
			if i < len(linuxField(s).Devices) {
				field = fmt.Sprintf("linux.devices[%d]", i)
			}
			return fmt.Errorf("%s %s: %w", field, d.Path, err)
		}
	}
	dev, err := r.mkdirAll("/dev", 0o755)
	if err != nil {
		return fmt.Errorf("create /dev in the rootfs: %w", err)
	}
	defer dev.Close()
	links := [][2]string{
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
		{"pts/ptmx", "ptmx"},
	}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "core"})
	}
	for _, l := range links {
		if l[1] == "ptmx" {
			// /dev/ptmx must be the container's own devpts multiplexer:
			// replace whatever the image has.
			_ = unix.Unlinkat(int(dev.Fd()), "ptmx", 0)
		}
		if err := unix.Symlinkat(l[0], int(dev.Fd()), l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create symlink /dev/%s -> %s: %w", l[1], l[0], err)
		}
	}
	return nil
}

func devType(t string) (uint32, error) {
	switch t {
	case "c", "u":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	case "p":
		return unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("unknown device type %q", t)
}

// createDevice makes one device node inside the rootfs: mknodat relative to
// the verified parent directory, then a check of what was made. In a user
// namespace (or where mknod is refused) the host node is bind-mounted.
func (r *Root) createDevice(d specs.LinuxDevice) error {
	p := cleanDest(d.Path)
	typ, err := devType(d.Type)
	if err != nil {
		return err
	}
	parent, err := r.mkdirAll(filepath.Dir(p), 0o755)
	if err != nil {
		return err
	}
	defer parent.Close()
	base := filepath.Base(p)
	mode := uint32(0o666)
	if d.FileMode != nil {
		mode = uint32(*d.FileMode) & 0o7777
	}
	dev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if !r.c.UserNS {
		_ = unix.Unlinkat(int(parent.Fd()), base, 0)
		err = unix.Mknodat(int(parent.Fd()), base, typ|mode, int(dev))
		if err == nil {
			return r.fixDevice(parent, base, d, typ, dev, mode)
		}
		if !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("mknod: %w", err)
		}
	}
	return r.bindDevice(parent, base, p)
}

func (r *Root) fixDevice(parent *os.File, base string, d specs.LinuxDevice, typ uint32, dev uint64, mode uint32) error {
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the new node: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != typ || (typ != unix.S_IFIFO && st.Rdev != dev) {
		return errors.New("the node created is not the device requested (raced with the container?)")
	}
	p := "/proc/thread-self/fd/" + strconv.Itoa(fd)
	// mknod applied the umask; set the mode asked for.
	if err := unix.Chmod(p, mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("chown to %d:%d: %w", uid, gid, err)
	}
	return nil
}

func (r *Root) bindDevice(parent *os.File, base, p string) error {
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create the mount point for the host device: %w", err)
	}
	if err == nil {
		unix.Close(fd)
	}
	target, err := r.open(p)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Mount(p, fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the host's %s: %w", p, err)
	}
	return nil
}
