package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setDevicesV1 programs the v1 device controller of a new cgroup: deny
// everything, then the rules in order (the kernel applies each write to
// the list as it stands, which is the rules' meaning). Create calls it on
// a cgroup no process has joined yet, so the brief deny-all is invisible;
// update never rewrites devices (rules added by hooks must survive).
func (m *v1) setDevicesV1(d string, rs []specs.LinuxDeviceCgroup, devs []specs.LinuxDevice) error {
	if err := m.write(d, "devices.deny", "a", res+".devices"); err != nil {
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
		if err := m.write(d, file, r.v1String(), field); err != nil {
			return err
		}
	}
	return nil
}
