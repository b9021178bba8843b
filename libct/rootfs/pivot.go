package rootfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Pivot makes the rootfs the container's root: pivot_root, or with
// --no-pivot a move of the rootfs onto / and a chroot (for a rootfs on
// ramfs, where pivot_root is impossible). Then the configured root
// propagation that could not be set before (shared, unbindable).
func (r *Root) Pivot() error {
	var err error
	if r.c.NoPivot {
		err = r.moveRoot()
	} else {
		err = r.pivotRoot()
	}
	if err != nil {
		return err
	}
	prop, _ := propagationFlag(linuxField(r.c.Spec).RootfsPropagation)
	if prop&(unix.MS_SHARED|unix.MS_UNBINDABLE) != 0 {
		if err := unix.Mount("", "/", "", prop, ""); err != nil {
			return fmt.Errorf("linux.rootfsPropagation %q: apply to the new root: %w", linuxField(r.c.Spec).RootfsPropagation, err)
		}
	}
	return nil
}

func (r *Root) pivotRoot() error {
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the old root: %w", err)
	}
	defer unix.Close(oldroot)
	newroot, err := unix.Open(r.c.Rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the rootfs %s: %w", r.c.Rootfs, err)
	}
	defer unix.Close(newroot)
	if err := unix.Fchdir(newroot); err != nil {
		return fmt.Errorf("chdir into the rootfs: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one, so
	// no put_old directory is needed in the image.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into %s: %w (rootfs on a ramfs/initramfs? use --no-pivot)", r.c.Rootfs, err)
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return fmt.Errorf("chdir to the old root: %w", err)
	}
	// Do not let the unmount below propagate to the host.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make the old root a slave mount: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to the new root: %w", err)
	}
	return nil
}

func (r *Root) moveRoot() error {
	// Full proc and sysfs mounts outside the rootfs would keep the host's
	// procfs reachable and let the kernel allow new procfs mounts: cover
	// them before moving (PITFALLS 9).
	if err := hideHostProcSys(r.c.Rootfs); err != nil {
		return err
	}
	if err := unix.Chdir(r.c.Rootfs); err != nil {
		return fmt.Errorf("chdir into the rootfs %s: %w", r.c.Rootfs, err)
	}
	if err := unix.Mount(r.c.Rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("--no-pivot: move the rootfs onto /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("--no-pivot: chroot: %w", err)
	}
	return unix.Chdir("/")
}

func hideHostProcSys(rootfs string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	for _, mp := range procSysMounts(string(b), rootfs) {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
			if err := unix.Mount("tmpfs", mp, "tmpfs", unix.MS_RDONLY, "size=0"); err != nil {
				return fmt.Errorf("--no-pivot: cannot unmount or cover the host's %s: %w", mp, err)
			}
		}
	}
	return nil
}
