package cgroups

import (
	"errors"
	"math"
	"os"
)

// statsV2 maps cgroup v2 files onto runc's v1-shaped schema, as runc
// does: swap is reported as memory+swap, usage and limits in bytes, CPU
// times in nanoseconds.
func statsV2(dir string) (*Stats, error) {
	s := newStats()
	if st, err := readFile(dir, "cpu.stat"); err == nil {
		kv := parseFlatKeyed(st)
		s.CPU.Usage.Total = kv["usage_usec"] * 1000
		s.CPU.Usage.User = kv["user_usec"] * 1000
		s.CPU.Usage.Kernel = kv["system_usec"] * 1000
		s.CPU.Throttling = Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_usec"] * 1000}
	} else if !exists(dir) {
		return nil, err
	}
	s.CPU.PSI = readPSI(dir, "cpu.pressure")
	if exists(dir + "/cpuset.cpus.effective") {
		if v, err := readFile(dir, "cpuset.cpus.effective"); err == nil {
			s.CPUSet.CPUs, _ = parseCPUSet(v)
		}
		if v, err := readFile(dir, "cpuset.mems.effective"); err == nil {
			s.CPUSet.Mems, _ = parseCPUSet(v)
		}
	}
	if err := memoryStatsV2(dir, &s.Memory); err != nil {
		return nil, err
	}
	if cur, err := readUint(dir, "pids.current"); err == nil {
		s.Pids.Current = cur
		if l, err := readUint(dir, "pids.max"); err == nil && l != math.MaxUint64 {
			s.Pids.Limit = l
		}
	}
	if v, err := readFile(dir, "io.stat"); err == nil {
		s.Blkio.IoServiceBytesRecursive, s.Blkio.IoServicedRecursive = parseIOStatV2(v)
	}
	s.Blkio.PSI = readPSI(dir, "io.pressure")
	for _, size := range hostHugePageSizes() {
		name := pageSizeName(size)
		cur, err := readUint(dir, "hugetlb."+name+".current")
		if err != nil {
			continue
		}
		h := Hugetlb{Usage: cur}
		if v, err := readFile(dir, "hugetlb."+name+".events"); err == nil {
			h.Failcnt = parseFlatKeyed(v)["max"]
		}
		s.Hugetlb[name] = h
	}
	return s, nil
}

func readPSI(dir, file string) *PSIStats {
	b, err := os.ReadFile(dir + "/" + file)
	if err != nil {
		return nil
	}
	return parsePSI(string(b))
}

func memoryStatsV2(dir string, mem *Memory) error {
	st, err := readFile(dir, "memory.stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // memory controller not delegated here
		}
		return err
	}
	mem.Raw = parseFlatKeyed(st)
	mem.Cache = mem.Raw["file"]
	mem.Usage.Usage, _ = readUint(dir, "memory.current")
	mem.Usage.Limit, _ = readUint(dir, "memory.max")
	mem.Usage.Max, _ = readUint(dir, "memory.peak")
	if ev, err := readFile(dir, "memory.events"); err == nil {
		mem.Usage.Failcnt = parseFlatKeyed(ev)["max"]
	}
	if swap, err := readUint(dir, "memory.swap.current"); err == nil {
		mem.Swap.Usage = swap + mem.Usage.Usage
		if l, err := readUint(dir, "memory.swap.max"); err == nil {
			if l == math.MaxUint64 || mem.Usage.Limit == math.MaxUint64 {
				mem.Swap.Limit = math.MaxUint64
			} else {
				mem.Swap.Limit = l + mem.Usage.Limit
			}
		}
	}
	mem.Kernel.Usage = mem.Raw["kernel"]
	mem.PSI = readPSI(dir, "memory.pressure")
	return nil
}
