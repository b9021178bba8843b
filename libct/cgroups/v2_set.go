package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setV2 writes r to a cgroup v2 directory in runc's order: pids, memory,
// io, cpu, devices, cpuset, hugetlb, rdma, and the raw unified map last
// (so that it can override anything before it).
func setV2(dir string, r *specs.LinuxResources, devs []specs.LinuxDevice, o SetOptions, rootless bool) error {
	if r == nil {
		r = &specs.LinuxResources{}
	}
	w := func(file, value, field string) error {
		err := writeFile(dir, file, value, field)
		if err != nil && rootless && permissionErr(err) {
			return nil
		}
		return err
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		if err := w("pids.max", pidsValue(*r.Pids.Limit), res+".pids.limit"); err != nil {
			return err
		}
	}
	if r.Memory != nil {
		if err := setMemoryV2(dir, r.Memory, w); err != nil {
			return err
		}
	}
	if r.BlockIO != nil {
		if err := setIOV2(dir, r.BlockIO, w); err != nil {
			return err
		}
	}
	if r.CPU != nil {
		if err := setCPUV2(r.CPU, w); err != nil {
			return err
		}
	}
	if !o.SkipDevices {
		if err := setDevicesV2(dir, deviceRules(r.Devices, devs)); err != nil {
			if !(rootless && permissionErr(err)) {
				return err
			}
		}
	}
	if c := r.CPU; c != nil {
		if c.Cpus != "" {
			if err := w("cpuset.cpus", c.Cpus, res+".cpu.cpus"); err != nil {
				return err
			}
		}
		if c.Mems != "" {
			if err := w("cpuset.mems", c.Mems, res+".cpu.mems"); err != nil {
				return err
			}
		}
	}
	for i, l := range r.HugepageLimits {
		field := fmt.Sprintf("%s.hugepageLimits[%d]", res, i)
		size, err := parsePageSize(l.Pagesize)
		if err != nil {
			return fmt.Errorf("%s.pageSize: %w", field, err)
		}
		name := pageSizeName(size)
		v := strconv.FormatUint(l.Limit, 10)
		if err := w("hugetlb."+name+".max", v, field+".limit"); err != nil {
			return err
		}
		if rsvd := "hugetlb." + name + ".rsvd.max"; exists(dir + "/" + rsvd) {
			if err := w(rsvd, v, field+".limit"); err != nil {
				return err
			}
		}
	}
	for _, dev := range sortedKeys(r.Rdma) {
		if v := rdmaValue(dev, r.Rdma[dev]); v != "" {
			if err := w("rdma.max", v, fmt.Sprintf("%s.rdma[%q]", res, dev)); err != nil {
				return err
			}
		}
	}
	for _, k := range sortedKeys(r.Unified) {
		if err := w(k, r.Unified[k], fmt.Sprintf("%s.unified[%q]", res, k)); err != nil {
			return err
		}
	}
	return nil
}

type writer func(file, value, field string) error

func setMemoryV2(dir string, m *specs.LinuxMemory, w writer) error {
	limit, swap := i64(m.Limit), i64(m.Swap)
	sw, err := swapV2(swap, limit)
	if err != nil {
		return fmt.Errorf("%s.memory.swap: %w", res, err)
	}
	if sw != "" {
		err := w("memory.swap.max", sw, res+".memory.swap")
		// Without swap accounting, "unlimited" and "none" are what the
		// container gets anyway.
		if err != nil && !(errors.Is(err, os.ErrNotExist) && (sw == "max" || sw == "0")) {
			return err
		}
	}
	if v := memValue(limit, true); v != "" {
		if m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate && limit > 0 {
			if cur, err := readUint(dir, "memory.current"); err == nil && cur > uint64(limit) {
				return fmt.Errorf("%s.memory.limit: %d is below the current usage %d (checkBeforeUpdate is set; free memory first or raise the limit)", res, limit, cur)
			}
		}
		if err := w("memory.max", v, res+".memory.limit"); err != nil {
			return err
		}
	}
	if v := memValue(i64(m.Reservation), true); v != "" {
		if err := w("memory.low", v, res+".memory.reservation"); err != nil {
			return err
		}
	}
	return nil
}

// setIOV2 uses BFQ's io.bfq.weight (same 10..1000 scale as blkio) when the
// scheduler offers it, else io.weight with runc's conversion.
func setIOV2(dir string, b *specs.LinuxBlockIO, w writer) error {
	bfq := exists(dir + "/io.bfq.weight")
	if b.Weight != nil && *b.Weight != 0 {
		var err error
		if bfq {
			err = w("io.bfq.weight", strconv.FormatUint(uint64(*b.Weight), 10), res+".blockIO.weight")
		} else {
			err = w("io.weight", "default "+strconv.FormatUint(blkioToIOWeight(*b.Weight), 10), res+".blockIO.weight")
		}
		if err != nil {
			return err
		}
	}
	for i, wd := range b.WeightDevice {
		if wd.Weight == nil {
			continue
		}
		field := fmt.Sprintf("%s.blockIO.weightDevice[%d].weight", res, i)
		dev := fmt.Sprintf("%d:%d ", wd.Major, wd.Minor)
		var err error
		if bfq {
			err = w("io.bfq.weight", dev+strconv.FormatUint(uint64(*wd.Weight), 10), field)
		} else {
			err = w("io.weight", dev+strconv.FormatUint(blkioToIOWeight(*wd.Weight), 10), field)
		}
		if err != nil {
			return err
		}
	}
	for _, t := range throttleLists(b) {
		for i, td := range t.devs {
			v := fmt.Sprintf("%d:%d %s=%d", td.Major, td.Minor, t.v2Key, td.Rate)
			if td.Rate == 0 {
				v = fmt.Sprintf("%d:%d %s=max", td.Major, td.Minor, t.v2Key)
			}
			if err := w("io.max", v, fmt.Sprintf("%s.blockIO.%s[%d]", res, t.field, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func setCPUV2(c *specs.LinuxCPU, w writer) error {
	if c.Idle != nil {
		if err := w("cpu.idle", strconv.FormatInt(*c.Idle, 10), res+".cpu.idle"); err != nil {
			return err
		}
	}
	if c.Shares != nil && *c.Shares != 0 {
		if err := w("cpu.weight", strconv.FormatUint(sharesToWeight(*c.Shares), 10), res+".cpu.shares"); err != nil {
			return err
		}
	}
	var period uint64
	if c.Period != nil {
		period = *c.Period
	}
	if v := cpuMax(i64(c.Quota), period); v != "" {
		if err := w("cpu.max", v, res+".cpu.quota"); err != nil {
			return err
		}
	}
	if c.Burst != nil {
		if err := w("cpu.max.burst", strconv.FormatUint(*c.Burst, 10), res+".cpu.burst"); err != nil {
			return err
		}
	}
	return nil
}
