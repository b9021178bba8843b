package libct

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/cgroups"
	"github.com/skiff-runtime/skiff/libct/state"
)

// Update merges r into the container's resources, applies the result and
// saves it. Devices, hugepage limits, network and rdma are not updated
// (runc skips devices so rules added by hooks, such as GPU ones, survive).
// On failure the previous values are applied again.
func (c *Container) Update(r *specs.LinuxResources) error {
	d, err := state.Open(c.opts.Root, c.ID, true)
	if err != nil {
		return err
	}
	defer d.Unlock()
	if c.Status() == StatusStopped {
		return errNotRunning
	}
	s, err := c.Spec()
	if err != nil {
		return err
	}
	m, err := c.Cgroup()
	if err != nil {
		return err
	}
	if m == nil {
		return errors.New("container has no cgroup to update")
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	old := s.Linux.Resources
	merged := MergeResources(old, r)
	if err := m.Set(merged, cgroups.SetOptions{SkipDevices: true}); err != nil {
		if old != nil {
			_ = m.Set(old, cgroups.SetOptions{SkipDevices: true})
		}
		return fmt.Errorf("update container %s: %w", c.ID, err)
	}
	s.Linux.Resources = merged
	return d.SaveConfig(s)
}

// MergeResources returns old with every field set in upd replaced, the
// way `runc update` treats a partial LinuxResources. Per-device block I/O
// entries are merged by major:minor, the last one winning.
func MergeResources(old, upd *specs.LinuxResources) *specs.LinuxResources {
	out := specs.LinuxResources{}
	if old != nil {
		out = *old
	}
	if upd == nil {
		return &out
	}
	if m := upd.Memory; m != nil {
		dst := specs.LinuxMemory{}
		if out.Memory != nil {
			dst = *out.Memory
		}
		setI64(&dst.Limit, m.Limit)
		setI64(&dst.Reservation, m.Reservation)
		setI64(&dst.Swap, m.Swap)
		setI64(&dst.Kernel, m.Kernel)
		setI64(&dst.KernelTCP, m.KernelTCP)
		if m.Swappiness != nil {
			dst.Swappiness = m.Swappiness
		}
		if m.DisableOOMKiller != nil {
			dst.DisableOOMKiller = m.DisableOOMKiller
		}
		if m.CheckBeforeUpdate != nil {
			dst.CheckBeforeUpdate = m.CheckBeforeUpdate
		}
		out.Memory = &dst
	}
	if c := upd.CPU; c != nil {
		dst := specs.LinuxCPU{}
		if out.CPU != nil {
			dst = *out.CPU
		}
		if c.Shares != nil {
			dst.Shares = c.Shares
		}
		setI64(&dst.Quota, c.Quota)
		if c.Burst != nil {
			dst.Burst = c.Burst
		}
		if c.Period != nil {
			dst.Period = c.Period
		}
		setI64(&dst.RealtimeRuntime, c.RealtimeRuntime)
		if c.RealtimePeriod != nil {
			dst.RealtimePeriod = c.RealtimePeriod
		}
		if c.Cpus != "" {
			dst.Cpus = c.Cpus
		}
		if c.Mems != "" {
			dst.Mems = c.Mems
		}
		if c.Idle != nil {
			dst.Idle = c.Idle
		}
		out.CPU = &dst
	}
	if p := upd.Pids; p != nil {
		out.Pids = p
	}
	if b := upd.BlockIO; b != nil {
		dst := specs.LinuxBlockIO{}
		if out.BlockIO != nil {
			dst = *out.BlockIO
		}
		if b.Weight != nil {
			dst.Weight = b.Weight
		}
		if b.LeafWeight != nil {
			dst.LeafWeight = b.LeafWeight
		}
		dst.WeightDevice = mergeWeightDevices(dst.WeightDevice, b.WeightDevice)
		dst.ThrottleReadBpsDevice = mergeThrottle(dst.ThrottleReadBpsDevice, b.ThrottleReadBpsDevice)
		dst.ThrottleWriteBpsDevice = mergeThrottle(dst.ThrottleWriteBpsDevice, b.ThrottleWriteBpsDevice)
		dst.ThrottleReadIOPSDevice = mergeThrottle(dst.ThrottleReadIOPSDevice, b.ThrottleReadIOPSDevice)
		dst.ThrottleWriteIOPSDevice = mergeThrottle(dst.ThrottleWriteIOPSDevice, b.ThrottleWriteIOPSDevice)
		out.BlockIO = &dst
	}
	if len(upd.Unified) > 0 {
		u := map[string]string{}
		for k, v := range out.Unified {
			u[k] = v
		}
		for k, v := range upd.Unified {
			u[k] = v
		}
		out.Unified = u
	}
	return &out
}

func setI64(dst **int64, v *int64) {
	if v != nil {
		x := *v
		*dst = &x
	}
}

func mergeWeightDevices(old, upd []specs.LinuxWeightDevice) []specs.LinuxWeightDevice {
	out := append([]specs.LinuxWeightDevice{}, old...)
	for _, u := range upd {
		replaced := false
		for i := range out {
			if out[i].Major == u.Major && out[i].Minor == u.Minor {
				out[i] = u
				replaced = true
			}
		}
		if !replaced {
			out = append(out, u)
		}
	}
	return out
}

func mergeThrottle(old, upd []specs.LinuxThrottleDevice) []specs.LinuxThrottleDevice {
	out := append([]specs.LinuxThrottleDevice{}, old...)
	for _, u := range upd {
		replaced := false
		for i := range out {
			if out[i].Major == u.Major && out[i].Minor == u.Minor {
				out[i] = u
				replaced = true
			}
		}
		if !replaced {
			out = append(out, u)
		}
	}
	return out
}
