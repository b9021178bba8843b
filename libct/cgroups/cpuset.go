package cgroups

import (
	"fmt"
	"strconv"
	"strings"
)

// maxCPUSetID bounds list entries: the kernel's NR_CPUS is at most 8192,
// and a larger number is a typo that would make a huge bitmask.
const maxCPUSetID = 8191

// parseCPUSet parses a kernel cpu or memory-node list ("0-3,8,10-11")
// into ascending ids. Whitespace around the list (file contents) is
// ignored; an empty list is valid (no ids).
func parseCPUSet(s string) ([]uint16, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var ids []uint16
	seen := map[uint16]bool{}
	for _, item := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := parseCPUID(lo)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = parseCPUID(hi); err != nil {
				return nil, fmt.Errorf("%q: %w", s, err)
			}
			if b < a {
				return nil, fmt.Errorf("%q: range %s is reversed", s, item)
			}
		}
		for i := a; i <= b; i++ {
			if !seen[i] {
				seen[i] = true
				ids = append(ids, i)
			}
		}
	}
	sortU16(ids)
	return ids, nil
}

func parseCPUID(s string) (uint16, error) {
	if s == "" || strings.TrimSpace(s) != s {
		return 0, fmt.Errorf("%q is not a number (the format is like 0-3,5)", s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number (the format is like 0-3,5)", s)
	}
	if n > maxCPUSetID {
		return 0, fmt.Errorf("%d is above the kernel's limit of %d", n, maxCPUSetID)
	}
	return uint16(n), nil
}

func sortU16(a []uint16) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// subsetOf reports the first id of a not in b (ok when none).
func subsetOf(a, b []uint16) (uint16, bool) {
	in := map[uint16]bool{}
	for _, x := range b {
		in[x] = true
	}
	for _, x := range a {
		if !in[x] {
			return x, false
		}
	}
	return 0, true
}

// cpuSetBits is the bitmask systemd's AllowedCPUs/AllowedMemoryNodes take
// (D-Bus "ay"): byte i bit j is id 8*i+j.
func cpuSetBits(ids []uint16) []byte {
	if len(ids) == 0 {
		return nil
	}
	max := ids[len(ids)-1]
	b := make([]byte, max/8+1)
	for _, id := range ids {
		b[id/8] |= 1 << (id % 8)
	}
	return b
}
