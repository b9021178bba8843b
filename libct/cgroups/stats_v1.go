package cgroups

import (
	"math"
	"os"
	"strconv"
	"strings"
)

// Stats reads every v1 controller the container has. A missing optional
// file (swap accounting off, no hugetlb) leaves its fields zero.
func (m *v1) Stats() (*Stats, error) {
	s := newStats()
	if d := m.paths["cpuacct"]; d != "" {
		if err := cpuacctStats(d, &s.CPU.Usage); err != nil {
			return nil, err
		}
	}
	if d := m.paths["cpu"]; d != "" {
		if st, err := readFile(d, "cpu.stat"); err == nil {
			kv := parseFlatKeyed(st)
			s.CPU.Throttling = Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
		}
	}
	if d := m.paths["cpuset"]; d != "" {
		cpusetStats(d, &s.CPUSet)
	}
	if d := m.paths["memory"]; d != "" {
		if err := memoryStatsV1(d, &s.Memory); err != nil {
			return nil, err
		}
	}
	if d := m.paths["pids"]; d != "" {
		s.Pids.Current, _ = readUint(d, "pids.current")
		if l, err := readUint(d, "pids.max"); err == nil && l != math.MaxUint64 {
			s.Pids.Limit = l
		}
	}
	if d := m.paths["blkio"]; d != "" {
		blkioStatsV1(d, &s.Blkio)
	}
	if d := m.paths["hugetlb"]; d != "" {
		for _, size := range hostHugePageSizes() {
			name := pageSizeName(size)
			var h Hugetlb
			h.Usage, _ = readUint(d, "hugetlb."+name+".usage_in_bytes")
			h.Max, _ = readUint(d, "hugetlb."+name+".max_usage_in_bytes")
			h.Failcnt, _ = readUint(d, "hugetlb."+name+".failcnt")
			s.Hugetlb[name] = h
		}
	}
	return s, nil
}

func cpuacctStats(d string, u *CPUUsage) error {
	var err error
	if u.Total, err = readUint(d, "cpuacct.usage"); err != nil {
		return err
	}
	if v, err := readFile(d, "cpuacct.usage_percpu"); err == nil {
		u.Percpu = parseUintList(v)
	}
	if v, err := readFile(d, "cpuacct.usage_percpu_sys"); err == nil {
		u.PercpuKernel = parseUintList(v)
	}
	if v, err := readFile(d, "cpuacct.usage_percpu_user"); err == nil {
		u.PercpuUser = parseUintList(v)
	}
	// usage_sys/usage_user are nanoseconds; cpuacct.stat counts ticks.
	sys, err1 := readUint(d, "cpuacct.usage_sys")
	usr, err2 := readUint(d, "cpuacct.usage_user")
	if err1 == nil && err2 == nil {
		u.Kernel, u.User = sys, usr
		return nil
	}
	if v, err := readFile(d, "cpuacct.stat"); err == nil {
		kv := parseFlatKeyed(v)
		// USER_HZ is 100 on every Linux ABI.
		const nsPerTick = 1e9 / 100
		u.User = kv["user"] * nsPerTick
		u.Kernel = kv["system"] * nsPerTick
	}
	return nil
}

func cpusetStats(d string, c *CPUSet) {
	if v, err := readFile(d, "cpuset.cpus"); err == nil {
		c.CPUs, _ = parseCPUSet(v)
	}
	if v, err := readFile(d, "cpuset.mems"); err == nil {
		c.Mems, _ = parseCPUSet(v)
	}
	for _, f := range []struct {
		file string
		dst  *uint64
	}{
		{"cpuset.cpu_exclusive", &c.CPUExclusive},
		{"cpuset.mem_hardwall", &c.MemHardwall},
		{"cpuset.mem_exclusive", &c.MemExclusive},
		{"cpuset.memory_migrate", &c.MemoryMigrate},
		{"cpuset.memory_spread_page", &c.MemorySpreadPage},
		{"cpuset.memory_spread_slab", &c.MemorySpreadSlab},
		{"cpuset.memory_pressure", &c.MemoryPressure},
		{"cpuset.sched_load_balance", &c.SchedLoadBalance},
	} {
		*f.dst, _ = readUint(d, f.file)
	}
	if v, err := readFile(d, "cpuset.sched_relax_domain_level"); err == nil {
		c.SchedRelaxDomainLevel, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	}
}

// memEntryV1 reads one counter family: <prefix>usage_in_bytes,
// max_usage_in_bytes, failcnt, limit_in_bytes.
func memEntryV1(d, prefix string) (MemoryEntry, bool) {
	var e MemoryEntry
	var err error
	if e.Usage, err = readUint(d, prefix+"usage_in_bytes"); err != nil {
		return e, false
	}
	e.Max, _ = readUint(d, prefix+"max_usage_in_bytes")
	e.Failcnt, _ = readUint(d, prefix+"failcnt")
	e.Limit, _ = readUint(d, prefix+"limit_in_bytes")
	return e, true
}

func memoryStatsV1(d string, mem *Memory) error {
	st, err := readFile(d, "memory.stat")
	if err != nil {
		return err
	}
	mem.Raw = parseFlatKeyed(st)
	mem.Cache = mem.Raw["cache"]
	mem.Usage, _ = memEntryV1(d, "memory.")
	mem.Swap, _ = memEntryV1(d, "memory.memsw.")
	mem.Kernel, _ = memEntryV1(d, "memory.kmem.")
	mem.KernelTCP, _ = memEntryV1(d, "memory.kmem.tcp.")
	return nil
}

func blkioStatsV1(d string, b *Blkio) {
	// CFQ files first, then BFQ's, then the throttling layer's, which
	// counts every I/O but has no time or queue figures (runc's order).
	read := func(name string) []BlkioEntry {
		v, err := os.ReadFile(d + "/" + name)
		if err != nil {
			return nil
		}
		return parseBlkioV1(string(v))
	}
	for _, prefix := range []string{"blkio.", "blkio.bfq."} {
		if !exists(d + "/" + prefix + "io_service_bytes_recursive") {
			continue
		}
		b.IoServiceBytesRecursive = read(prefix + "io_service_bytes_recursive")
		b.IoServicedRecursive = read(prefix + "io_serviced_recursive")
		b.IoQueuedRecursive = read(prefix + "io_queued_recursive")
		b.IoServiceTimeRecursive = read(prefix + "io_service_time_recursive")
		b.IoWaitTimeRecursive = read(prefix + "io_wait_time_recursive")
		b.IoMergedRecursive = read(prefix + "io_merged_recursive")
		b.IoTimeRecursive = read(prefix + "time_recursive")
		b.SectorsRecursive = read(prefix + "sectors_recursive")
		if len(b.IoServiceBytesRecursive) > 0 {
			return
		}
	}
	b.IoServiceBytesRecursive = read("blkio.throttle.io_service_bytes_recursive")
	b.IoServicedRecursive = read("blkio.throttle.io_serviced_recursive")
}
