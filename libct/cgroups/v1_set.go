package cgroups

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const res = "linux.resources"

// set writes r to the v1 files, controller by controller in v1Order.
// Device rules are programmed unless o.SkipDevices, with devs (linux.devices)
// allowed too.
func (m *v1) set(r *specs.LinuxResources, devs []specs.LinuxDevice, o SetOptions) error {
	if r == nil {
		r = &specs.LinuxResources{}
	}
	need := func(ctrl, field string) (string, error) {
		d := m.paths[ctrl]
		if d == "" {
			if m.rootless {
				return "", nil
			}
			return "", fmt.Errorf("%s: needs the %s controller, which has no hierarchy here", field, ctrl)
		}
		return d, nil
	}
	if c := r.CPU; c != nil && (c.Cpus != "" || c.Mems != "") {
		d, err := need("cpuset", res+".cpu.cpus")
		if err != nil {
			return err
		}
		if d != "" {
			if c.Cpus != "" {
				if err := m.write(d, "cpuset.cpus", c.Cpus, res+".cpu.cpus"); err != nil {
					return err
				}
			}
			if c.Mems != "" {
				if err := m.write(d, "cpuset.mems", c.Mems, res+".cpu.mems"); err != nil {
					return err
				}
			}
		}
	}
	if !o.SkipDevices {
		if d := m.paths["devices"]; d != "" {
			if err := m.setDevicesV1(d, r.Devices, devs); err != nil {
				return err
			}
		}
	}
	if r.Memory != nil {
		d, err := need("memory", res+".memory")
		if err != nil {
			return err
		}
		if d != "" {
			if err := m.setMemory(d, r.Memory); err != nil {
				return err
			}
		}
	}
	if r.CPU != nil {
		if d := m.paths["cpu"]; d != "" {
			if err := m.setCPU(d, r.CPU); err != nil {
				return err
			}
		}
	}
	if r.Pids != nil && r.Pids.Limit != nil {
		d, err := need("pids", res+".pids.limit")
		if err != nil {
			return err
		}
		if d != "" {
			if err := m.write(d, "pids.max", pidsValue(*r.Pids.Limit), res+".pids.limit"); err != nil {
				return err
			}
		}
	}
	if r.BlockIO != nil {
		if d := m.paths["blkio"]; d != "" {
			if err := m.setBlkio(d, r.BlockIO); err != nil {
				return err
			}
		}
	}
	for i, l := range r.HugepageLimits {
		field := fmt.Sprintf("%s.hugepageLimits[%d]", res, i)
		d, err := need("hugetlb", field)
		if err != nil {
			return err
		}
		if d == "" {
			continue
		}
		size, err := parsePageSize(l.Pagesize)
		if err != nil {
			return fmt.Errorf("%s.pageSize: %w", field, err)
		}
		name := pageSizeName(size)
		v := strconv.FormatUint(l.Limit, 10)
		if err := m.write(d, "hugetlb."+name+".limit_in_bytes", v, field+".limit"); err != nil {
			return err
		}
		// Reservations: limit what may be reserved too, or mmap succeeds
		// and the fault kills the process later (runc does both).
		if rsvd := "hugetlb." + name + ".rsvd.limit_in_bytes"; exists(d + "/" + rsvd) {
			if err := m.write(d, rsvd, v, field+".limit"); err != nil {
				return err
			}
		}
	}
	if n := r.Network; n != nil {
		if n.ClassID != nil {
			d, err := need("net_cls", res+".network.classID")
			if err != nil {
				return err
			}
			if d != "" {
				if err := m.write(d, "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10), res+".network.classID"); err != nil {
					return err
				}
			}
		}
		for i, p := range n.Priorities {
			field := fmt.Sprintf("%s.network.priorities[%d]", res, i)
			d, err := need("net_prio", field)
			if err != nil {
				return err
			}
			if d != "" {
				if err := m.write(d, "net_prio.ifpriomap", p.Name+" "+strconv.FormatUint(uint64(p.Priority), 10), field); err != nil {
					return err
				}
			}
		}
	}
	for dev, l := range r.Rdma {
		field := fmt.Sprintf("%s.rdma[%q]", res, dev)
		d, err := need("rdma", field)
		if err != nil {
			return err
		}
		if d == "" {
			continue
		}
		if v := rdmaValue(dev, l); v != "" {
			if err := m.write(d, "rdma.max", v, field); err != nil {
				return err
			}
		}
	}
	if len(r.Unified) > 0 {
		return fmt.Errorf("%s.unified: needs cgroup v2 (this host uses cgroup v1 controllers)", res)
	}
	return nil
}

// write is writeFile, tolerating permission errors in rootless mode.
func (m *v1) write(dir, file, value, field string) error {
	return m.ignoreRootless(writeFile(dir, file, value, field))
}

// ignoreRootless drops a permission error of a rootless container: its
// cgroups are best effort.
func (m *v1) ignoreRootless(err error) error {
	if err != nil && m.rootless && permissionErr(err) {
		return nil
	}
	return err
}

func rdmaValue(dev string, l specs.LinuxRdma) string {
	var parts []string
	if l.HcaHandles != nil {
		parts = append(parts, "hca_handle="+strconv.FormatUint(uint64(*l.HcaHandles), 10))
	}
	if l.HcaObjects != nil {
		parts = append(parts, "hca_object="+strconv.FormatUint(uint64(*l.HcaObjects), 10))
	}
	if len(parts) == 0 {
		return ""
	}
	return dev + " " + strings.Join(parts, " ")
}

func i64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// setMemory writes limit and memory+swap in the order the kernel accepts:
// memsw must never be below the limit, so when the new memsw is above the
// current limit (or unlimited) it goes first (runc's order).
func (m *v1) setMemory(d string, mem *specs.LinuxMemory) error {
	limit, swap := i64(mem.Limit), i64(mem.Swap)
	memsw := exists(d + "/memory.memsw.limit_in_bytes")
	if limit == -1 && swap == 0 && memsw {
		// Unlimited memory means unlimited swap too, or the old memsw
		// keeps limiting it.
		swap = -1
	}
	setLimit := func() error {
		v := memValue(limit, false)
		if v == "" {
			return nil
		}
		err := m.write(d, "memory.limit_in_bytes", v, res+".memory.limit")
		var fe *fileError
		if errors.As(err, &fe) && errors.Is(err, unix.EBUSY) {
			if u, uerr := readUint(d, "memory.usage_in_bytes"); uerr == nil {
				fe.Hint = fmt.Sprintf("usage %d is above the new limit", u)
			}
		}
		return err
	}
	setSwap := func() error {
		v := memValue(swap, false)
		if v == "" {
			return nil
		}
		if !memsw {
			if swap == -1 {
				return nil // unlimited is what the container has without swap accounting
			}
			return fmt.Errorf("%s.memory.swap: the kernel has no swap accounting (memory.memsw.limit_in_bytes; boot with swapaccount=1)", res)
		}
		return m.write(d, "memory.memsw.limit_in_bytes", v, res+".memory.swap")
	}
	first, second := setLimit, setSwap
	if limit != 0 && swap != 0 {
		cur, err := readUint(d, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		if swap == -1 || cur < uint64(swap) {
			first, second = setSwap, setLimit
		}
	}
	if err := first(); err != nil {
		return err
	}
	if err := second(); err != nil {
		return err
	}
	if v := memValue(i64(mem.Reservation), false); v != "" {
		if err := m.write(d, "memory.soft_limit_in_bytes", v, res+".memory.reservation"); err != nil {
			return err
		}
	}
	if v := memValue(i64(mem.KernelTCP), false); v != "" {
		if err := m.write(d, "memory.kmem.tcp.limit_in_bytes", v, res+".memory.kernelTCP"); err != nil {
			return err
		}
	}
	if mem.Swappiness != nil {
		if err := m.write(d, "memory.swappiness", strconv.FormatUint(*mem.Swappiness, 10), res+".memory.swappiness"); err != nil {
			return err
		}
	}
	if mem.DisableOOMKiller != nil {
		v := "0"
		if *mem.DisableOOMKiller {
			v = "1"
		}
		if err := m.write(d, "memory.oom_control", v, res+".memory.disableOOMKiller"); err != nil {
			return err
		}
	}
	return nil
}

// setCPU follows runc: shares (read back, since the kernel clamps
// silently), then period, burst and quota in an order that lets a
// smaller period pass the parent's quota check, then idle and the
// real-time budget (period before runtime).
func (m *v1) setCPU(d string, c *specs.LinuxCPU) error {
	if c.Shares != nil && *c.Shares != 0 {
		v := strconv.FormatUint(*c.Shares, 10)
		if err := m.write(d, "cpu.shares", v, res+".cpu.shares"); err != nil {
			return err
		}
		if got, err := readUint(d, "cpu.shares"); err == nil && got != *c.Shares && !m.rootless {
			return fmt.Errorf("%s.cpu.shares: the kernel set %d instead of %d (allowed range %d..%d)", res, got, *c.Shares, minCPUShares, maxCPUShares)
		}
	}
	quota := i64(c.Quota)
	retryPeriod := false
	if c.Period != nil && *c.Period != 0 {
		err := m.write(d, "cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10), res+".cpu.period")
		if err != nil {
			// A period below the current one can be refused while the
			// old quota/new period exceeds the parent's: retry after
			// the quota.
			if !errors.Is(err, unix.EINVAL) || quota == 0 {
				return err
			}
			retryPeriod = true
		}
	}
	retryBurst := false
	if c.Burst != nil {
		err := m.write(d, "cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10), res+".cpu.burst")
		if err != nil {
			if !errors.Is(err, unix.EINVAL) || quota == 0 {
				return err
			}
			retryBurst = true
		}
	}
	if quota != 0 {
		if err := m.write(d, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10), res+".cpu.quota"); err != nil {
			return err
		}
		if retryPeriod {
			if err := m.write(d, "cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10), res+".cpu.period"); err != nil {
				return err
			}
		}
		if retryBurst {
			if err := m.write(d, "cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10), res+".cpu.burst"); err != nil {
				return err
			}
		}
	}
	if c.Idle != nil {
		if err := m.write(d, "cpu.idle", strconv.FormatInt(*c.Idle, 10), res+".cpu.idle"); err != nil {
			return err
		}
	}
	if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
		if err := m.write(d, "cpu.rt_period_us", strconv.FormatUint(*c.RealtimePeriod, 10), res+".cpu.realtimePeriod"); err != nil {
			return err
		}
	}
	if c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0 {
		if err := m.write(d, "cpu.rt_runtime_us", strconv.FormatInt(*c.RealtimeRuntime, 10), res+".cpu.realtimeRuntime"); err != nil {
			return err
		}
	}
	return nil
}

// blkioFile picks the CFQ file or its BFQ twin (blkio.bfq.*), whichever
// the kernel offers.
func blkioFile(d, name string) string {
	if exists(d + "/blkio." + name) {
		return "blkio." + name
	}
	if exists(d + "/blkio.bfq." + name) {
		return "blkio.bfq." + name
	}
	return "blkio." + name
}

func (m *v1) setBlkio(d string, b *specs.LinuxBlockIO) error {
	if b.Weight != nil && *b.Weight != 0 {
		if err := m.write(d, blkioFile(d, "weight"), strconv.FormatUint(uint64(*b.Weight), 10), res+".blockIO.weight"); err != nil {
			return err
		}
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		if err := m.write(d, "blkio.leaf_weight", strconv.FormatUint(uint64(*b.LeafWeight), 10), res+".blockIO.leafWeight"); err != nil {
			return err
		}
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("%s.blockIO.weightDevice[%d]", res, i)
		dev := fmt.Sprintf("%d:%d", wd.Major, wd.Minor)
		if wd.Weight != nil {
			if err := m.write(d, blkioFile(d, "weight_device"), dev+" "+strconv.FormatUint(uint64(*wd.Weight), 10), field+".weight"); err != nil {
				return err
			}
		}
		if wd.LeafWeight != nil {
			if err := m.write(d, "blkio.leaf_weight_device", dev+" "+strconv.FormatUint(uint64(*wd.LeafWeight), 10), field+".leafWeight"); err != nil {
				return err
			}
		}
	}
	for _, t := range throttleLists(b) {
		for i, td := range t.devs {
			field := fmt.Sprintf("%s.blockIO.%s[%d]", res, t.field, i)
			v := fmt.Sprintf("%d:%d %d", td.Major, td.Minor, td.Rate)
			if err := m.write(d, "blkio.throttle."+t.v1File, v, field); err != nil {
				return err
			}
		}
	}
	return nil
}

type throttleList struct {
	field  string // spec field name
	v1File string // blkio.throttle.<v1File>
	v2Key  string // io.max key
	devs   []specs.LinuxThrottleDevice
}

func throttleLists(b *specs.LinuxBlockIO) []throttleList {
	return []throttleList{
		{"throttleReadBpsDevice", "read_bps_device", "rbps", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "write_bps_device", "wbps", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "read_iops_device", "riops", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "write_iops_device", "wiops", b.ThrottleWriteIOPSDevice},
	}
}
