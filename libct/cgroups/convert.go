package cgroups

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits of the kernel's interfaces, with their reason.
const (
	// cgroup v1 cpu.shares is clamped by the kernel to 2..262144
	// (MIN_SHARES, MAX_SHARES); runc reports a clamped value as an error.
	minCPUShares = 2
	maxCPUShares = 262144
	// cgroup v2 accepts cpu.weight 1..10000 only.
	minCPUWeight = 1
	maxCPUWeight = 10000
	// blkio.weight and io.bfq.weight: 10..1000 (CFQ/BFQ); io.weight 1..10000.
	minBlkioWeight = 10
	maxBlkioWeight = 1000
	// CFS bandwidth: the period must be 1 ms..1 s, the quota at least 1 ms.
	minCFSPeriod = 1000
	maxCFSPeriod = 1000000
	minCFSQuota  = 1000
	// the kernel's default CFS period, used to convert quota when the
	// spec gives no period (systemd CPUQuotaPerSecUSec).
	defaultCFSPeriod = 100000
)

// sharesToWeight converts v1 cpu.shares to v2 cpu.weight with runc's
// linear mapping of [2, 262144] onto [1, 10000]: 2->1, 1024->39,
// 262144->10000. 0 means "not set".
func sharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	if shares < minCPUShares {
		shares = minCPUShares
	}
	if shares > maxCPUShares {
		shares = maxCPUShares
	}
	return 1 + ((shares-2)*9999)/262142
}

// blkioToIOWeight converts a blkio weight (10..1000) to io.weight
// (1..10000), runc's formula: 10->1, 1000->10000. 0 means "not set".
func blkioToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	if w < minBlkioWeight {
		w = minBlkioWeight
	}
	return 1 + (uint64(w)-10)*9999/990
}

// swapV2 converts the spec's memory.swap (memory+swap, v1 semantics) into
// the value for memory.swap.max (swap alone): swap - limit. It returns the
// string to write, or "" for "leave as is".
//   - swap unset (0) with limit -1: "max" (unlimited memory means unlimited swap);
//   - swap unset: "";   swap -1: "max";
//   - swap set without a limit: an error (there is no memory+swap to subtract from);
//   - swap < limit: an error.
func swapV2(swap, limit int64) (string, error) {
	switch {
	case limit == -1 && swap == 0:
		return "max", nil
	case swap == -1:
		return "max", nil
	case swap == 0:
		return "", nil
	case swap < 0:
		return "", fmt.Errorf("invalid value %d (use -1 for unlimited)", swap)
	case limit == 0 || limit == -1:
		return "", errors.New("needs memory.limit too: cgroup v2 limits swap alone, and skiff computes it as swap - limit")
	case limit < 0:
		return "", fmt.Errorf("invalid memory.limit %d", limit)
	case swap < limit:
		return "", fmt.Errorf("%d is below memory.limit %d: swap is memory+swap and must be >= the limit", swap, limit)
	}
	return strconv.FormatInt(swap-limit, 10), nil
}

// memValue turns a spec memory value into a file value: 0 is "not set"
// (""), -1 unlimited ("max" on v2, "-1" on v1).
func memValue(v int64, v2 bool) string {
	switch {
	case v == 0:
		return ""
	case v < 0:
		if v2 {
			return "max"
		}
		return "-1"
	}
	return strconv.FormatInt(v, 10)
}

// cpuMax builds cpu.max ("$QUOTA $PERIOD") from the spec's quota and
// period; "" means nothing to write. Without a period only the quota is
// written and the kernel keeps its period; quota -1 (or unset with a
// period) is "max".
func cpuMax(quota int64, period uint64) string {
	if quota == 0 && period == 0 {
		return ""
	}
	s := "max"
	if quota > 0 {
		s = strconv.FormatInt(quota, 10)
	}
	if period != 0 {
		s += " " + strconv.FormatUint(period, 10)
	}
	return s
}

// pidsValue is pids.max: a positive limit, or "max" for 0 and -1 (the
// spec's "no limit").
func pidsValue(limit int64) string {
	if limit > 0 {
		return strconv.FormatInt(limit, 10)
	}
	return "max"
}

// quotaPerSecUSec is systemd's CPUQuotaPerSecUSec for a CFS quota and
// period, rounded up to 10 ms as systemd only keeps whole percents and
// rounding down would cut the limit.
func quotaPerSecUSec(quota int64, period uint64) uint64 {
	if quota <= 0 {
		return ^uint64(0) // infinity
	}
	if period == 0 {
		period = defaultCFSPeriod
	}
	v := uint64(quota) * 1000000 / period
	if r := v % 10000; r != 0 {
		v += 10000 - r
	}
	return v
}

// parsePageSize turns "2MB", "1GB", "64KB" (hugepageLimits.pageSize) into
// bytes.
func parsePageSize(s string) (uint64, error) {
	num := strings.TrimRight(s, "KMGTPB")
	unit := s[len(num):]
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q: not a size like 2MB or 1GB", s)
	}
	mult := map[string]uint64{"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unit must be B, KB, MB, GB, TB or PB", s)
	}
	return n * mult, nil
}

// pageSizeName is the kernel's name of a huge page size in hugetlb file
// names ("2MB", "1GB"), from its size in bytes.
func pageSizeName(bytes uint64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	i := 0
	for bytes >= 1024 && bytes%1024 == 0 && i < len(units)-1 {
		bytes /= 1024
		i++
	}
	return strconv.FormatUint(bytes, 10) + units[i]
}

// hugepageDirSize converts a /sys/kernel/mm/hugepages entry name
// ("hugepages-2048kB") to bytes.
func hugepageDirSize(name string) (uint64, bool) {
	s, ok := strings.CutPrefix(name, "hugepages-")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "kB")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return n << 10, true
}
