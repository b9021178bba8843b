package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyUp fills the tmpfs just mounted on dest with the contents of the
// directory it covers (under, opened before the mount): runc's "tmpcopyup"
// extension, which podman sets on the tmpfs mounts of --read-only and
// --tmpfs so that /run, /tmp, /var/tmp keep what the image put there.
// Everything is done relative to directory fds with O_NOFOLLOW, so a
// symlink in the image is copied as a symlink and never followed.
func (r *Root) copyUp(under *os.File, dest, real string) error {
	tmpfs, err := r.reopenMounted(dest, real)
	if err != nil {
		return err
	}
	defer tmpfs.Close()
	to, err := os.OpenFile(fdPath(tmpfs), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer to.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(under.Fd()), &st); err != nil {
		return err
	}
	// The tmpfs root takes the covered directory's owner and mode, as runc
	// does (a 1777 /tmp stays 1777).
	if err := unix.Fchown(int(to.Fd()), int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dest, err)
	}
	if err := unix.Fchmod(int(to.Fd()), st.Mode&07777); err != nil {
		return fmt.Errorf("chmod %s: %w", dest, err)
	}
	return copyDir(int(under.Fd()), int(to.Fd()), dest)
}

// copyDir copies the entries of directory fd from into directory fd to.
func copyDir(from, to int, path string) error {
	// Dup: reading the entries through an *os.File closes its fd.
	dfd, err := unix.Dup(from)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dfd), path)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	for _, name := range names {
		p := path + "/" + name
		if err := copyEntry(from, to, name, p); err != nil {
			return err
		}
	}
	return nil
}

func copyEntry(from, to int, name, p string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(from, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	mode := uint32(st.Mode & 07777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(to, name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s: %w", p, err)
		}
		src, err := unix.Openat(from, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		defer unix.Close(src)
		dst, err := unix.Openat(to, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s on the tmpfs: %w", p, err)
		}
		defer unix.Close(dst)
		if err := copyDir(src, dst, p); err != nil {
			return err
		}
	case unix.S_IFREG:
		src, err := unix.Openat(from, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		in := os.NewFile(uintptr(src), p)
		defer in.Close()
		dst, err := unix.Openat(to, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("create %s on the tmpfs: %w", p, err)
		}
		out := os.NewFile(uintptr(dst), p)
		defer out.Close()
		if _, err := io.Copy(out, in); err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(from, name, buf)
		if err != nil {
			return fmt.Errorf("readlink %s: %w", p, err)
		}
		if err := unix.Symlinkat(string(buf[:n]), to, name); err != nil {
			return fmt.Errorf("symlink %s: %w", p, err)
		}
		return lchownAt(to, name, st, p)
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		if err := unix.Mknodat(to, name, st.Mode&unix.S_IFMT|0o600, int(st.Rdev)); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
	default:
		// sockets are not copied (runc's copy skips them too)
		return nil
	}
	if err := lchownAt(to, name, st, p); err != nil {
		return err
	}
	if err := unix.Fchmodat(to, name, mode, 0); err != nil {
		return fmt.Errorf("chmod %s: %w", p, err)
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(to, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", p, err)
	}
	return nil
}

func lchownAt(dir int, name string, st unix.Stat_t, p string) error {
	if err := unix.Fchownat(dir, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %s: %w", p, err)
	}
	return nil
}
