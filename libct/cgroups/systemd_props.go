package cgroups

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// systemdPropertyPrefix marks annotations that are passed to the unit
// as properties (runc's convention, used by podman and CRI-O).
const systemdPropertyPrefix = "org.systemd.property."

// infinity is systemd's "no limit" for the uint64 limit properties.
const infinity = uint64(math.MaxUint64)

func prop(name string, v any) sdbus.Property {
	return sdbus.Property{Name: name, Value: dbus.MakeVariant(v)}
}

// resourceProperties translates what systemd can express of r into unit
// properties, so that systemd's own view of the unit agrees with the
// files (and it does not reset them on a daemon-reload). The files are
// written afterwards anyway, for what systemd cannot express.
func resourceProperties(r *specs.LinuxResources, legacy bool) ([]sdbus.Property, error) {
	var ps []sdbus.Property
	if r == nil {
		return nil, nil
	}
	if m := r.Memory; m != nil {
		if l := i64(m.Limit); l != 0 {
			v := infinity
			if l > 0 {
				v = uint64(l)
			}
			if legacy {
				ps = append(ps, prop("MemoryLimit", v))
			} else {
				ps = append(ps, prop("MemoryMax", v))
			}
		}
		if !legacy {
			if l := i64(m.Reservation); l > 0 {
				ps = append(ps, prop("MemoryLow", uint64(l)))
			}
			sw, err := swapV2(i64(m.Swap), i64(m.Limit))
			if err != nil {
				return nil, fmt.Errorf("%s.memory.swap: %w", res, err)
			}
			switch sw {
			case "":
			case "max":
				ps = append(ps, prop("MemorySwapMax", infinity))
			default:
				n, _ := strconv.ParseUint(sw, 10, 64)
				ps = append(ps, prop("MemorySwapMax", n))
			}
		}
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			if legacy {
				ps = append(ps, prop("CPUShares", *c.Shares))
			} else {
				ps = append(ps, prop("CPUWeight", sharesToWeight(*c.Shares)))
			}
		}
		var period uint64
		if c.Period != nil {
			period = *c.Period
		}
		if q := i64(c.Quota); q != 0 || period != 0 {
			if period != 0 {
				ps = append(ps, prop("CPUQuotaPeriodUSec", period))
			}
			ps = append(ps, prop("CPUQuotaPerSecUSec", quotaPerSecUSec(q, period)))
		}
		if !legacy {
			for _, s := range []struct{ name, val string }{{"AllowedCPUs", c.Cpus}, {"AllowedMemoryNodes", c.Mems}} {
				if s.val == "" {
					continue
				}
				ids, err := parseCPUSet(s.val)
				if err != nil {
					return nil, err
				}
				ps = append(ps, prop(s.name, cpuSetBits(ids)))
			}
		}
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		v := infinity
		if *p.Limit > 0 {
			v = uint64(*p.Limit)
		}
		ps = append(ps, prop("TasksMax", v))
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		if legacy {
			ps = append(ps, prop("BlockIOWeight", uint64(*b.Weight)))
		} else {
			ps = append(ps, prop("IOWeight", blkioToIOWeight(*b.Weight)))
		}
	}
	return ps, nil
}

// annotationProperties parses org.systemd.property.NAME=VALUE annotations;
// VALUE is in D-Bus variant text form (e.g. "uint64 10", "true",
// "'string'"). As runc does, NAME ending in "Sec" (a time in seconds) is
// converted to the "USec" property systemd takes over D-Bus.
func annotationProperties(ann map[string]string) ([]sdbus.Property, error) {
	var keys []string
	for k := range ann {
		if strings.HasPrefix(k, systemdPropertyPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var ps []sdbus.Property
	for _, k := range keys {
		name := strings.TrimPrefix(k, systemdPropertyPrefix)
		field := fmt.Sprintf("annotations[%q]", k)
		if name == "" || strings.ContainsAny(name, " .=") {
			return nil, fmt.Errorf("%s: %q is not a systemd property name", field, name)
		}
		v, err := dbus.ParseVariant(ann[k], dbus.Signature{})
		if err != nil {
			return nil, fmt.Errorf("%s: value %q is not a D-Bus variant (e.g. \"uint64 10\", \"true\", \"'text'\"): %v", field, ann[k], err)
		}
		if strings.HasSuffix(name, "Sec") && !strings.HasSuffix(name, "USec") {
			usec, err := secToUSec(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", field, err)
			}
			name = strings.TrimSuffix(name, "Sec") + "USec"
			v = dbus.MakeVariant(usec)
		}
		ps = append(ps, sdbus.Property{Name: name, Value: v})
	}
	return ps, nil
}

func secToUSec(v dbus.Variant) (uint64, error) {
	switch x := v.Value().(type) {
	case uint8:
		return uint64(x) * 1e6, nil
	case uint16:
		return uint64(x) * 1e6, nil
	case uint32:
		return uint64(x) * 1e6, nil
	case uint64:
		return x * 1e6, nil
	case int16:
		if x >= 0 {
			return uint64(x) * 1e6, nil
		}
	case int32:
		if x >= 0 {
			return uint64(x) * 1e6, nil
		}
	case int64:
		if x >= 0 {
			return uint64(x) * 1e6, nil
		}
	case float64:
		if x >= 0 && !math.IsInf(x, 0) && !math.IsNaN(x) {
			return uint64(math.Round(x * 1e6)), nil
		}
	}
	return 0, fmt.Errorf("a time in seconds must be a non-negative number, not %s", v.String())
}

// mergeProperties puts user (annotation) properties over ours: the user
// asked for them explicitly.
func mergeProperties(ours, user []sdbus.Property) []sdbus.Property {
	set := map[string]bool{}
	for _, p := range user {
		set[p.Name] = true
	}
	out := make([]sdbus.Property, 0, len(ours)+len(user))
	for _, p := range ours {
		if !set[p.Name] {
			out = append(out, p)
		}
	}
	return append(out, user...)
}
