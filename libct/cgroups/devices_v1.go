package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setDevicesV1 programs the v1 device controller of a new cgroup: deny
// everything, then the rules in order (the kernel applies each write to
// the list as it stands, which is the rules' meaning). Create calls it on
// a cgroup no process has joined yet, so the brief deny-all is invisible;
// update never rewrites devices (rules added by hooks must survive).
func (m *v1) setDevicesV1(d string, rs []specs.LinuxDeviceCgroup, devs []specs.LinuxDevice) error {
	// One open file per kind, a write per rule (the kernel takes one rule
	// a write): 2 opens instead of one open and close per rule.
	fds := map[string]int{}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	write := func(file, value, field string) error {
		p := d + "/" + file
		fd, ok := fds[file]
		if !ok {
			var err error
			if fd, err = unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
				return m.ignoreRootless(newFileError(field, "write "+quoteValue(value)+" to", p, err))
			}
			fds[file] = fd
		}
		for {
			_, err := unix.Write(fd, []byte(value))
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return m.ignoreRootless(newFileError(field, "write "+quoteValue(value)+" to", p, err))
			}
			return nil
		}
	}
	if err := write("devices.deny", "a", res+".devices"); err != nil {
		return err
	}
	rules := deviceRules(rs, devs)
	for i, r := range rules {
		var field string
		switch {
		case i < len(rs):
			field = fmt.Sprintf("%s.devices[%d]", res, i)
		case i < len(rs)+len(defaultDevRules):
			field = "default device rule " + r.v1String()
		default:
			field = "linux.devices (" + r.v1String() + ")"
		}
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := write(file, r.v1String(), field); err != nil {
			return err
		}
	}
	return nil
}
