package process

import (
	"errors"
	"fmt"
	"os"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"
)

// AppArmorEnabled reports whether the host runs AppArmor.
func AppArmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.HasPrefix(string(b), "Y")
}

// SELinuxEnabled reports whether the host runs SELinux.
func SELinuxEnabled() bool { return selinux.GetEnabled() }

// ApplyAppArmor makes the next execve of this thread enter profile. The
// write goes through a private procfs instance (never the container's
// /proc, which an image could redirect: CVE-2019-16884, CVE-2025-52881).
func ApplyAppArmor(profile string) error {
	if profile == "" {
		return nil
	}
	if !AppArmorEnabled() {
		return fmt.Errorf("process.apparmorProfile %q: AppArmor is not enabled on this host (drop the field)", profile)
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("process.apparmorProfile %q: open a private procfs: %w", profile, err)
	}
	defer proc.Close()
	// Linux 5.8+ has a per-LSM directory; older kernels only the shared file.
	var last error
	for _, sub := range []string{"attr/apparmor/exec", "attr/exec"} {
		h, closer, err := proc.OpenThreadSelf(sub)
		if err != nil {
			last = err
			continue
		}
		f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
		h.Close()
		if err != nil {
			closer()
			last = err
			continue
		}
		_, err = f.WriteString("exec " + profile)
		f.Close()
		closer()
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("process.apparmorProfile %q: no such profile is loaded (load it with apparmor_parser): %w", profile, err)
			}
			return fmt.Errorf("process.apparmorProfile %q: write `/proc/thread-self/%s`: %w", profile, sub, err)
		}
		return nil
	}
	return fmt.Errorf("process.apparmorProfile %q: open /proc/thread-self/attr/apparmor/exec: %w", profile, last)
}

// SetSELinuxExecLabel makes the next execve of this thread run with
// label. Without SELinux on the host an empty label is a no-op and a set
// one an error (validation refuses it earlier, as runc does).
func SetSELinuxExecLabel(label string) error {
	if label == "" {
		return nil
	}
	if !selinux.GetEnabled() {
		return fmt.Errorf("process.selinuxLabel %q: SELinux is not enabled on this host (drop the field)", label)
	}
	if err := selinux.SetExecLabel(label); err != nil {
		return fmt.Errorf("process.selinuxLabel %q: write `/proc/thread-self/attr/exec`: %w", label, err)
	}
	return nil
}

// SetSELinuxKeyLabel labels the session keyring created next (runc labels
// the container's _ses keyring with the process label); "" resets it.
func SetSELinuxKeyLabel(label string) error {
	if !selinux.GetEnabled() {
		return nil
	}
	if err := selinux.SetKeyLabel(label); err != nil {
		return fmt.Errorf("process.selinuxLabel %q: label the session keyring: write `/proc/self/attr/keycreate`: %w", label, err)
	}
	return nil
}
