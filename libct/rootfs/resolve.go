package rootfs

import (
	"errors"
	"os"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Resolution inside the rootfs. The kernel's openat2 RESOLVE_IN_ROOT is the
// guarantee: every component, symlinks and ".." included, is resolved as if
// the rootfs were "/", and a rename racing a ".." makes the call fail with
// EAGAIN rather than escape. filepath-securejoin adds a readlink of
// /proc/thread-self/fd/N on top of each lookup (and walks component by
// component to create directories); in the init that was ~30 % of its CPU
// for a default config's 20-odd paths. So the common cases go to openat2
// directly: a path that exists (open, mkdirAll) and a directory whose parent
// exists (mkdirAll, one mkdirat below a resolved parent, then a lookup that
// refuses symlinks). Anything else takes securejoin's slower path, with
// its error messages.

const inRootFlags = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openat2 resolves p under root with flags, retrying a lookup that a
// concurrent rename invalidated.
func openat2(root int, p string, flags uint64, resolve uint64) (int, error) {
	how := unix.OpenHow{Flags: flags | unix.O_PATH | unix.O_CLOEXEC, Resolve: resolve}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(root, p, &how)
		if err == unix.EINTR || (err == unix.EAGAIN && i < 16) {
			continue
		}
		return fd, err
	}
}

// openInRoot returns an O_PATH handle of p (a path inside the rootfs root).
func openInRoot(root *os.File, p string) (*os.File, error) {
	fd, err := openat2(int(root.Fd()), p, 0, inRootFlags)
	switch {
	case err == nil:
		return os.NewFile(uintptr(fd), p), nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return nil, &os.PathError{Op: "open in the rootfs", Path: p, Err: err}
	}
	return pathrs.OpenatInRoot(root, p)
}

// mkdirInRoot creates the directory dir inside the rootfs root (and its
// parents) and returns an O_PATH handle to it.
func mkdirInRoot(root *os.File, dir string, mode os.FileMode) (*os.File, error) {
	dir = filepath.Clean("/" + dir)
	rfd := int(root.Fd())
	fd, err := openat2(rfd, dir, unix.O_DIRECTORY, inRootFlags)
	if err == nil {
		return os.NewFile(uintptr(fd), dir), nil
	}
	if errors.Is(err, unix.ENOENT) && dir != "/" {
		parent, base := filepath.Split(dir)
		pfd, perr := openat2(rfd, parent, unix.O_DIRECTORY, inRootFlags)
		if perr == nil {
			defer unix.Close(pfd)
			merr := unix.Mkdirat(pfd, base, uint32(mode.Perm()))
			if merr == nil || errors.Is(merr, unix.EEXIST) {
				// One component, beneath the resolved parent, no symlink:
				// what was just made, or a directory someone else made.
				fd, err = openat2(pfd, base, unix.O_DIRECTORY, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS)
				if err == nil {
					return os.NewFile(uintptr(fd), dir), nil
				}
			}
		}
	}
	return pathrs.MkdirAllHandle(root, dir, mode)
}
