package cgroups

import (
	"testing"
)

func TestSharesToWeight(t *testing.T) {
	for _, c := range []struct{ in, want uint64 }{
		{0, 0}, {1, 1}, {2, 1}, {512, 20}, {1024, 39}, {2048, 79}, {262144, 10000}, {300000, 10000},
	} {
		if got := sharesToWeight(c.in); got != c.want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestBlkioToIOWeight(t *testing.T) {
	for _, c := range []struct {
		in   uint16
		want uint64
	}{{0, 0}, {10, 1}, {100, 910}, {500, 4950}, {1000, 10000}} {
		if got := blkioToIOWeight(c.in); got != c.want {
			t.Errorf("blkioToIOWeight(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestSwapV2(t *testing.T) {
	for _, c := range []struct {
		swap, limit int64
		want        string
		err         bool
	}{
		{0, 0, "", false},
		{0, 100, "", false},
		{0, -1, "max", false},
		{-1, 100, "max", false},
		{-1, 0, "max", false},
		{200, 100, "100", false},
		{100, 100, "0", false},
		{50, 100, "", true},
		{100, 0, "", true},
		{100, -1, "", true},
		{-5, 100, "", true},
	} {
		got, err := swapV2(c.swap, c.limit)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("swapV2(%d, %d) = %q, %v; want %q, err %v", c.swap, c.limit, got, err, c.want, c.err)
		}
	}
}

func TestCPUMax(t *testing.T) {
	for _, c := range []struct {
		quota  int64
		period uint64
		want   string
	}{
		{0, 0, ""},
		{50000, 0, "50000"},
		{50000, 100000, "50000 100000"},
		{-1, 0, "max"},
		{-1, 250000, "max 250000"},
		{0, 250000, "max 250000"},
	} {
		if got := cpuMax(c.quota, c.period); got != c.want {
			t.Errorf("cpuMax(%d, %d) = %q, want %q", c.quota, c.period, got, c.want)
		}
	}
}

func TestMemAndPidsValue(t *testing.T) {
	for _, c := range []struct {
		v      int64
		v1, v2 string
	}{{0, "", ""}, {-1, "-1", "max"}, {4096, "4096", "4096"}} {
		if got := memValue(c.v, false); got != c.v1 {
			t.Errorf("memValue(%d, v1) = %q, want %q", c.v, got, c.v1)
		}
		if got := memValue(c.v, true); got != c.v2 {
			t.Errorf("memValue(%d, v2) = %q, want %q", c.v, got, c.v2)
		}
	}
	for _, c := range []struct {
		v    int64
		want string
	}{{0, "max"}, {-1, "max"}, {10, "10"}} {
		if got := pidsValue(c.v); got != c.want {
			t.Errorf("pidsValue(%d) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestQuotaPerSecUSec(t *testing.T) {
	for _, c := range []struct {
		quota  int64
		period uint64
		want   uint64
	}{
		{50000, 100000, 500000},
		{50000, 0, 500000},
		{12345, 100000, 130000}, // 123450 rounded up to 10 ms
		{200000, 100000, 2000000},
		{-1, 100000, ^uint64(0)},
	} {
		if got := quotaPerSecUSec(c.quota, c.period); got != c.want {
			t.Errorf("quotaPerSecUSec(%d, %d) = %d, want %d", c.quota, c.period, got, c.want)
		}
	}
}

func TestPageSizes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		name string
		err  bool
	}{
		{"2MB", 2 << 20, "2MB", false},
		{"1GB", 1 << 30, "1GB", false},
		{"64KB", 64 << 10, "64KB", false},
		{"2048KB", 2 << 20, "2MB", false},
		{"2M", 0, "", true},
		{"MB", 0, "", true},
		{"0MB", 0, "", true},
		{"2XB", 0, "", true},
	} {
		got, err := parsePageSize(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("parsePageSize(%q) = %d, %v; want %d, err %v", c.in, got, err, c.want, c.err)
			continue
		}
		if err == nil && pageSizeName(got) != c.name {
			t.Errorf("pageSizeName(%d) = %q, want %q", got, pageSizeName(got), c.name)
		}
	}
	if n, ok := hugepageDirSize("hugepages-2048kB"); !ok || n != 2<<20 {
		t.Errorf("hugepageDirSize = %d, %v", n, ok)
	}
	if _, ok := hugepageDirSize("foo"); ok {
		t.Error("hugepageDirSize accepted foo")
	}
}

func TestParseCPUSet(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []uint16
		err  bool
	}{
		{"", nil, false},
		{"0", []uint16{0}, false},
		{"0-3", []uint16{0, 1, 2, 3}, false},
		{"0-1,5,7-8\n", []uint16{0, 1, 5, 7, 8}, false},
		{"3,1,1", []uint16{1, 3}, false},
		{"3-1", nil, true},
		{"a", nil, true},
		{"0,,1", nil, true},
		{"-1", nil, true},
		{"1-", nil, true},
		{"0 - 1", nil, true},
		{"9000", nil, true},
	} {
		got, err := parseCPUSet(c.in)
		if (err != nil) != c.err || !equalU16(got, c.want) {
			t.Errorf("parseCPUSet(%q) = %v, %v; want %v, err %v", c.in, got, err, c.want, c.err)
		}
	}
	if id, ok := subsetOf([]uint16{0, 2}, []uint16{0, 1}); ok || id != 2 {
		t.Errorf("subsetOf: %d %v", id, ok)
	}
	if got := formatIDs([]uint16{0, 1, 2, 5, 7, 8}); got != "0-2,5,7-8" {
		t.Errorf("formatIDs = %q", got)
	}
	if got := cpuSetBits([]uint16{0, 3, 9}); len(got) != 2 || got[0] != 0b1001 || got[1] != 0b10 {
		t.Errorf("cpuSetBits = %08b", got)
	}
}

func equalU16(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
