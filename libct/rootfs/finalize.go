package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Finalize runs after pivot_root: tmpfs mounts that asked for ro become
// read-only, then root.readonly, readonlyPaths and maskedPaths.
//
// Everything here works on file descriptors with the new mount API
// (open_tree, move_mount, mount_setattr, fsmount): no path string is ever
// handed to mount(2), so nothing inside the container can redirect it.
func (r *Root) Finalize() error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's root: %w", err)
	}
	defer root.Close()

	for _, m := range r.roLater {
		f, err := openInRoot(root, m.dest)
		if err != nil {
			return fmt.Errorf("make %s read-only: %w", m.dest, err)
		}
		err = unix.MountSetattr(int(f.Fd()), "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
		f.Close()
		if err != nil {
			return fmt.Errorf("make %s read-only: mount_setattr: %w", m.dest, err)
		}
	}
	s := r.c.Spec
	if s.Root != nil && s.Root.Readonly {
		if err := remountRootReadonly(); err != nil {
			return err
		}
	}
	lx := linuxField(s)
	for i, p := range lx.ReadonlyPaths {
		if err := readonlyPath(root, p); err != nil {
			return fmt.Errorf("linux.readonlyPaths[%d] %s: %w", i, p, err)
		}
	}
	if len(lx.MaskedPaths) > 0 {
		if err := maskPaths(root, lx.MaskedPaths); err != nil {
			return err
		}
	}
	return nil
}

func remountRootReadonly() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("root.readonly: statfs /: %w", err)
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, ""); err != nil {
		return fmt.Errorf("root.readonly: remount / read-only: %w", err)
	}
	return nil
}

// readonlyPath covers p with a read-only recursive bind of itself. A
// missing path is not an error (the spec lists paths that may not exist).
func readonlyPath(root *os.File, p string) error {
	f, err := openInRoot(root, p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	tree, err := unix.OpenTree(int(f.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(tree)
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return fmt.Errorf("mount_setattr read-only: %w", err)
	}
	if err := unix.MoveMount(tree, "", int(f.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// maskPaths hides files behind the container's /dev/null and directories
// behind an empty read-only tmpfs (one instance, cloned per directory).
//
// CVE-2025-31133: /dev/null is opened once, verified to be the 1:3
// character device, and bound from that descriptor, so an image whose
// /dev/null is a symlink to a writable procfs file cannot turn masking into
// exposure.
func maskPaths(root *os.File, paths []string) error {
	var devNull, tmpfs int = -1, -1
	defer func() {
		if devNull >= 0 {
			unix.Close(devNull)
		}
		if tmpfs >= 0 {
			unix.Close(tmpfs)
		}
	}()
	for i, p := range paths {
		f, err := openInRoot(root, p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("linux.maskedPaths[%d] %s: %w", i, p, err)
		}
		var st unix.Stat_t
		err = unix.Fstat(int(f.Fd()), &st)
		if err == nil {
			var src int
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				if tmpfs < 0 {
					tmpfs, err = emptyReadonlyTmpfs()
				}
				src = tmpfs
			} else {
				if devNull < 0 {
					devNull, err = openDevNull(root)
				}
				src = devNull
			}
			if err == nil {
				err = cloneOnto(src, int(f.Fd()))
				if errors.Is(err, unix.EINVAL) && src == tmpfs {
					// Linux before 6.x cannot clone a detached mount
					// (open_tree EINVAL): move this instance itself
					// and make a new one for the next directory.
					err = moveOnto(tmpfs, int(f.Fd()))
					unix.Close(tmpfs)
					tmpfs = -1
				}
			}
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("linux.maskedPaths[%d] %s: %w", i, p, err)
		}
	}
	return nil
}

func cloneOnto(src, target int) error {
	tree, err := unix.OpenTree(src, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(tree)
	return moveOnto(tree, target)
}

func moveOnto(tree, target int) error {
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

func openDevNull(root *os.File) (int, error) {
	f, err := openInRoot(root, "/dev/null")
	if err != nil {
		return -1, fmt.Errorf("open the container's /dev/null: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		f.Close()
		return -1, errors.New("the container's /dev/null is not the 1:3 character device: refusing to mask with it")
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	return fd, err
}

// emptyReadonlyTmpfs makes a detached tmpfs that can hold nothing: one
// block and one inode (the root), read-only.
func emptyReadonlyTmpfs() (int, error) {
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fs)
	for _, kv := range [][2]string{{"nr_blocks", "1"}, {"nr_inodes", "1"}} {
		if err := unix.FsconfigSetString(fs, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("configure the masking tmpfs (%s=%s): %w", kv[0], kv[1], err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("create the masking tmpfs: %w", err)
	}
	m, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsmount the masking tmpfs: %w", err)
	}
	return m, nil
}
