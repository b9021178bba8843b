// Package process applies a runtime-spec process's credentials,
// capabilities, rlimits and other per-process attributes inside the init,
// and resolves what to execute.
//
// Capabilities, credentials and no_new_privs are per thread: every function
// here must run on the init's locked OS thread, the one that calls execve.
package process

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capNames maps every capability name the kernel headers know to its number.
var capNames = map[string]int{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
	"CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
	"CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
	"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
	"CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
	"CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
	"CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
	"CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
	"CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

// CapNames returns every capability name known to skiff, in number order.
func CapNames() []string {
	out := make([]string, len(capNames))
	for n, v := range capNames {
		out[v] = n
	}
	return out
}

// CapValue returns the number of a capability name ("CAP_SYS_ADMIN").
func CapValue(name string) (int, bool) {
	v, ok := capNames[strings.ToUpper(name)]
	return v, ok
}

var lastCap = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return v
		}
	}
	return 40
})

// LastCap is the highest capability number the running kernel knows.
func LastCap() int { return lastCap() }

// capSet is a 64-bit capability mask.
type capSet uint64

func toSet(field string, names []string) (capSet, error) {
	var s capSet
	for i, n := range names {
		v, ok := CapValue(n)
		if !ok {
			return 0, fmt.Errorf("process.capabilities.%s[%d]: unknown capability %q", field, i, n)
		}
		if v > lastCap() {
			// The kernel is older than the capability: like runc, it cannot
			// be granted, and asking for it is not an error.
			continue
		}
		s |= 1 << uint(v)
	}
	return s, nil
}

// Caps is a resolved capability configuration.
type Caps struct {
	Bounding, Effective, Inheritable, Permitted, Ambient capSet
}

// ResolveCaps turns a spec's capability names into masks.
func ResolveCaps(c *specs.LinuxCapabilities) (*Caps, error) {
	if c == nil {
		return &Caps{}, nil
	}
	var r Caps
	var err error
	if r.Bounding, err = toSet("bounding", c.Bounding); err != nil {
		return nil, err
	}
	if r.Effective, err = toSet("effective", c.Effective); err != nil {
		return nil, err
	}
	if r.Inheritable, err = toSet("inheritable", c.Inheritable); err != nil {
		return nil, err
	}
	if r.Permitted, err = toSet("permitted", c.Permitted); err != nil {
		return nil, err
	}
	if r.Ambient, err = toSet("ambient", c.Ambient); err != nil {
		return nil, err
	}
	return &r, nil
}

// DropBounding removes every capability not in the bounding set. It needs
// CAP_SETPCAP, so it runs before the switch to the container user.
func (c *Caps) DropBounding() error {
	for v := 0; v <= lastCap(); v++ {
		if c.Bounding&(1<<uint(v)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(v), 0, 0, 0); err != nil {
			if err == unix.EINVAL {
				continue // unknown to this kernel
			}
			return fmt.Errorf("drop capability %d from the bounding set: %w", v, err)
		}
	}
	return nil
}

// AmbientSkipped lists ambient capabilities that cannot be raised because
// they are not also permitted and inheritable. runc's example config asks
// for such ambient capabilities, and runc (for compatibility with its old
// capability library, which ignored these errors) skips them with a
// warning; so does skiff.
func (c *Caps) AmbientSkipped() []string {
	var out []string
	names := CapNames()
	for v := 0; v <= lastCap(); v++ {
		bit := capSet(1) << uint(v)
		if c.Ambient&bit != 0 && (c.Permitted&bit == 0 || c.Inheritable&bit == 0) {
			out = append(out, names[v])
		}
	}
	return out
}

// Apply sets the effective, permitted and inheritable sets, then raises the
// ambient ones that are also permitted and inheritable.
func (c *Caps) Apply() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	data[0].Effective = uint32(c.Effective)
	data[1].Effective = uint32(c.Effective >> 32)
	data[0].Permitted = uint32(c.Permitted)
	data[1].Permitted = uint32(c.Permitted >> 32)
	data[0].Inheritable = uint32(c.Inheritable)
	data[1].Inheritable = uint32(c.Inheritable >> 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities (effective %#x, permitted %#x, inheritable %#x): %w (is every effective capability also permitted?)",
			uint64(c.Effective), uint64(c.Permitted), uint64(c.Inheritable), err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for v := 0; v <= lastCap(); v++ {
		bit := capSet(1) << uint(v)
		if c.Ambient&bit == 0 || c.Permitted&bit == 0 || c.Inheritable&bit == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(v), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %s: %w (ambient capabilities must also be permitted and inheritable)", CapNames()[v], err)
		}
	}
	return nil
}
