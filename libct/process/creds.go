package process

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SetgroupsAllowed reports whether setgroups(2) may be called: a user
// namespace whose /proc/self/setgroups says "deny" refuses it.
func SetgroupsAllowed() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	if err != nil {
		return true
	}
	return string(b) != "deny\n"
}

// SwitchUser changes to the process user on the current thread, keeping
// the permitted capabilities across the uid change (PR_SET_KEEPCAPS); the
// caller then sets the final capability sets.
func SwitchUser(u specs.User) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("keep capabilities across setuid: %w", err)
	}
	if SetgroupsAllowed() {
		gids := make([]int, len(u.AdditionalGids))
		for i, g := range u.AdditionalGids {
			gids[i] = int(g)
		}
		if err := setgroups(gids); err != nil {
			return fmt.Errorf("process.user.additionalGids %v: setgroups: %w", u.AdditionalGids, err)
		}
	} else if len(u.AdditionalGids) > 0 {
		return fmt.Errorf("process.user.additionalGids %v: setgroups is denied in this user namespace (/proc/self/setgroups is \"deny\"): drop additionalGids or map more than one gid", u.AdditionalGids)
	}
	if err := unix.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("process.user.gid %d: cannot setgid to an unmapped gid (add it to linux.gidMappings): %w", u.GID, err)
		}
		return fmt.Errorf("process.user.gid %d: setgid: %w", u.GID, err)
	}
	if err := unix.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("process.user.uid %d: cannot setuid to an unmapped uid (add it to linux.uidMappings): %w", u.UID, err)
		}
		return fmt.Errorf("process.user.uid %d: setuid: %w", u.UID, err)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear keep-capabilities: %w", err)
	}
	return nil
}

// setgroups calls setgroups(2) on this thread only: the Go standard
// library's version changes every thread, which is right for Go programs
// but needless here (only the thread that execs matters) and slower.
func setgroups(gids []int) error {
	var p *uint32
	g32 := make([]uint32, len(gids))
	for i, g := range gids {
		g32[i] = uint32(g)
	}
	if len(g32) > 0 {
		p = &g32[0]
	}
	_, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(g32)), uintptr(unsafePointer(p)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// NoNewPrivileges sets no_new_privs.
func NoNewPrivileges() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	return nil
}
