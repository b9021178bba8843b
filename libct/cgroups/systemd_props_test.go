package cgroups

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func propString(ps []sdbus.Property) string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s=%v", p.Name, p.Value.Value()))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestResourceProperties(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64p(64 << 20), Swap: i64p(96 << 20), Reservation: i64p(32 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64p(1024), Quota: i64p(50000), Period: u64p(100000), Cpus: "0-1", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i64p(-1)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16p(1000)},
	}
	ps, err := resourceProperties(r, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "AllowedCPUs=[3] AllowedMemoryNodes=[1] CPUQuotaPerSecUSec=500000 CPUQuotaPeriodUSec=100000 CPUWeight=39 IOWeight=10000 MemoryLow=33554432 MemoryMax=67108864 MemorySwapMax=33554432 TasksMax=18446744073709551615"
	if got := propString(ps); got != want {
		t.Errorf("v2 properties:\n got %s\nwant %s", got, want)
	}
	ps, err = resourceProperties(r, true)
	if err != nil {
		t.Fatal(err)
	}
	want = "BlockIOWeight=1000 CPUQuotaPerSecUSec=500000 CPUQuotaPeriodUSec=100000 CPUShares=1024 MemoryLimit=67108864 TasksMax=18446744073709551615"
	if got := propString(ps); got != want {
		t.Errorf("legacy properties:\n got %s\nwant %s", got, want)
	}
}

func TestAnnotationProperties(t *testing.T) {
	ps, err := annotationProperties(map[string]string{
		"org.systemd.property.TimeoutStopSec": "uint64 5",
		"org.systemd.property.CollectMode":    "'inactive-or-failed'",
		"org.systemd.property.CPUWeight":      "uint64 7",
		"unrelated":                           "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := propString(ps), "CPUWeight=7 CollectMode=inactive-or-failed TimeoutStopUSec=5000000"; got != want {
		t.Errorf("annotation properties: %s, want %s", got, want)
	}
	merged := mergeProperties([]sdbus.Property{prop("CPUWeight", uint64(39)), prop("TasksMax", uint64(5))}, ps)
	if got := propString(merged); !strings.Contains(got, "CPUWeight=7") || strings.Contains(got, "CPUWeight=39") {
		t.Errorf("the user's CPUWeight did not win: %s", got)
	}
	for _, bad := range []map[string]string{
		{"org.systemd.property.Foo": "not a variant ("},
		{"org.systemd.property.": "true"},
		{"org.systemd.property.TimeoutStopSec": "'five'"},
	} {
		if _, err := annotationProperties(bad); err == nil {
			t.Errorf("annotationProperties(%v) accepted", bad)
		}
	}
}
