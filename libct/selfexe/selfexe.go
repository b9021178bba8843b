// Package selfexe gives the parent a handle to its own binary that a
// container cannot write through.
//
// CVE-2019-5736: while `skiff init` (or an exec'd process's init stage) runs
// inside the container, /proc/<pid>/exe is a magic link to the binary it was
// executed from. A container process could open it and, once skiff exits,
// reopen it for writing and replace the host's skiff. So the init is never
// executed from the installed file: it is executed from a read-only view of
// it that nothing can write.
//
// Privileged: a detached, read-only overlayfs mount whose lower layer is the
// directory holding the binary. It is never attached to any mount tree (so no
// mount-table churn, the problem that sank runc's bind-mount approach), costs
// no copy, and disappears when the last fd to it is closed.
// Otherwise: a copy in a sealed memfd (F_SEAL_SEAL|SHRINK|GROW|WRITE).
package selfexe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// BuildID returns the running binary's GNU build ID in hex, "" when it
// has none (the init package's constructor reads it; nil without it).
var BuildID func() string

// View is the sealed binary: File is what the child executes.
type View struct {
	File  *os.File
	mount int // the detached overlay mount, or -1
}

// Close releases the view. Closing the overlay mount's last fd unmounts it,
// which waits for an RCU grace period (0.2-0.7 ms here): a caller with a
// child to wait for does it meanwhile, in a goroutine.
func (v *View) Close() error {
	err := v.File.Close()
	if v.mount >= 0 {
		unix.Close(v.mount)
		v.mount = -1
	}
	return err
}

// Open returns an O_PATH handle (overlay) or a sealed memfd (fallback) for
// the running binary. scratchDir is an existing directory used as the second
// overlay lower layer (overlayfs needs two lower layers when it has no upper
// layer); its contents are never visible through the binary's path.
func Open(scratchDir string) (*View, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/exe: %w", err)
	}
	if isSealedMemfd() {
		// Someone already re-executed us from a sealed copy.
		f, err := os.OpenFile("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		return &View{File: f, mount: -1}, nil
	}
	if v, err := overlayView(exe, scratchDir); err == nil {
		return v, nil
	}
	f, err := sealedCopy()
	if err != nil {
		return nil, err
	}
	return &View{File: f, mount: -1}, nil
}

func overlayView(exe, scratchDir string) (*View, error) {
	dir, base := filepath.Split(exe)
	dir = filepath.Clean(dir)
	// The legacy "lowerdir" syntax uses ':' as the separator and '\' as the
	// escape; such paths are rare enough to leave to the memfd fallback.
	if strings.ContainsAny(dir+scratchDir, ":\\,") || strings.HasSuffix(exe, " (deleted)") {
		return nil, errors.New("binary path not usable as an overlay layer")
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "lowerdir", dir+":"+scratchDir); err != nil {
		return nil, err
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, err
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(mfd, base, unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		unix.Close(mfd)
		return nil, err
	}
	// The mount fd stays open until Close: its close is the unmount.
	return &View{File: os.NewFile(uintptr(fd), "skiff-sealed-exe"), mount: mfd}, nil
}

const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

func sealedCopy() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open /proc/self/exe: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("skiff", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		// Kernels before 6.3 do not know MFD_EXEC.
		fd, err = unix.MemfdCreate("skiff", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create for the sealed copy of skiff: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "skiff-sealed-exe")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, fmt.Errorf("copy skiff into a sealed memfd: %w", err)
	}
	s := seals
	if _, err := unix.FcntlInt(dst.Fd(), unix.F_ADD_SEALS, s|unix.F_SEAL_EXEC); err != nil {
		if _, err := unix.FcntlInt(dst.Fd(), unix.F_ADD_SEALS, s); err != nil {
			dst.Close()
			return nil, fmt.Errorf("seal the memfd copy of skiff: %w", err)
		}
	}
	return dst, nil
}

func isSealedMemfd() bool {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return false
	}
	defer f.Close()
	got, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	return err == nil && got&seals == seals
}
