package cgroups

import (
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeCaps is a host for checkWith.
type fakeCaps struct {
	isV2  bool
	ctrls map[string]bool
	files map[string]bool
}

func (f fakeCaps) v2() bool                { return f.isV2 }
func (f fakeCaps) has(c string) bool       { return f.ctrls[c] }
func (f fakeCaps) file(n string) bool      { return f.files[n] }
func (f fakeCaps) onlineCPUs() []uint16    { return []uint16{0, 1} }
func (f fakeCaps) onlineMems() []uint16    { return []uint16{0} }
func (f fakeCaps) hugePageSizes() []uint64 { return []uint64{2 << 20} }

// thisHostV1 is the dev host: v1 hybrid, no hugetlb/net_cls/net_prio/rdma,
// no BFQ weights.
var thisHostV1 = fakeCaps{
	ctrls: map[string]bool{"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true, "freezer": true, "blkio": true, "pids": true},
	files: map[string]bool{"memory.memsw.limit_in_bytes": true, "cpu.cfs_burst_us": true, "cpu.idle": true, "cpu.rt_runtime_us": true,
		"blkio.throttle.read_bps_device": true, "blkio.throttle.write_bps_device": true, "blkio.throttle.read_iops_device": true, "blkio.throttle.write_iops_device": true},
}

var vmV2 = fakeCaps{
	isV2:  true,
	ctrls: map[string]bool{"cpuset": true, "cpu": true, "io": true, "memory": true, "hugetlb": true, "pids": true, "rdma": true, "misc": true},
	files: map[string]bool{"memory.swap.max": true, "cpu.max.burst": true, "cpu.idle": true, "io.max": true, "io.weight": false},
}

func u64p(v uint64) *uint64 { return &v }
func u16p(v uint16) *uint16 { return &v }
func u32p(v uint32) *uint32 { return &v }
func boolp(v bool) *bool    { return &v }

func paths(t *testing.T, c caps, r *specs.LinuxResources) []string {
	t.Helper()
	var out []string
	for _, p := range checkWith(c, r) {
		out = append(out, p.Path)
		if p.Msg == "" || strings.ToLower(p.Msg[:1]) != p.Msg[:1] && p.Msg[0] != '"' {
			t.Errorf("%s: message %q should start lowercase", p.Path, p.Msg)
		}
	}
	sort.Strings(out)
	return out
}

func TestCheckResources(t *testing.T) {
	for _, c := range []struct {
		name string
		caps caps
		r    *specs.LinuxResources
		want []string
	}{
		{"nil", thisHostV1, nil, nil},
		{"good v1", thisHostV1, &specs.LinuxResources{
			Memory: &specs.LinuxMemory{Limit: i64p(64 << 20), Swap: i64p(128 << 20), Reservation: i64p(32 << 20), KernelTCP: i64p(1 << 20), Swappiness: u64p(10), DisableOOMKiller: boolp(true)},
			CPU:    &specs.LinuxCPU{Shares: u64p(512), Quota: i64p(50000), Period: u64p(100000), Cpus: "0-1", Mems: "0", Idle: i64p(0)},
			Pids:   &specs.LinuxPids{Limit: i64p(100)},
			BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}}},
		}, nil},
		{"unsupported on this host", thisHostV1, &specs.LinuxResources{
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}},
			Network:        &specs.LinuxNetwork{ClassID: u32p(0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 1}}},
			Rdma:           map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32p(1)}},
			BlockIO:        &specs.LinuxBlockIO{Weight: u16p(500), LeafWeight: u16p(500)},
			Unified:        map[string]string{"memory.high": "1G"},
			Memory:         &specs.LinuxMemory{Kernel: i64p(1 << 20)},
		}, []string{
			"linux.resources.blockIO.leafWeight", "linux.resources.blockIO.weight",
			"linux.resources.hugepageLimits[0]", "linux.resources.memory.kernel",
			"linux.resources.network.classID", "linux.resources.network.priorities[0]",
			`linux.resources.rdma["mlx5_0"]`, "linux.resources.unified",
		}},
		{"bad values", thisHostV1, &specs.LinuxResources{
			Memory:         &specs.LinuxMemory{Limit: i64p(100 << 20), Swap: i64p(50 << 20), Reservation: i64p(-5), Swappiness: u64p(101), UseHierarchy: boolp(false)},
			CPU:            &specs.LinuxCPU{Shares: u64p(1), Quota: i64p(10), Period: u64p(100), Cpus: "0-", Mems: "5", Idle: i64p(2), Burst: u64p(50000)},
			Pids:           &specs.LinuxPids{Limit: i64p(-3)},
			Devices:        []specs.LinuxDeviceCgroup{{Type: "z", Access: "rw"}},
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2M"}},
		}, []string{
			"linux.resources.cpu.burst", "linux.resources.cpu.cpus", "linux.resources.cpu.idle",
			"linux.resources.cpu.mems", "linux.resources.cpu.period", "linux.resources.cpu.quota", "linux.resources.cpu.shares",
			"linux.resources.devices[0]", "linux.resources.hugepageLimits[0].pageSize",
			"linux.resources.memory.reservation", "linux.resources.memory.swap", "linux.resources.memory.swappiness",
			"linux.resources.memory.useHierarchy", "linux.resources.pids.limit",
		}},
		{"v2 rejects v1-only", vmV2, &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: i64p(64 << 20), Swap: i64p(32 << 20), KernelTCP: i64p(1), Swappiness: u64p(10), DisableOOMKiller: boolp(true)},
			CPU:     &specs.LinuxCPU{RealtimeRuntime: i64p(1000), RealtimePeriod: u64p(10000)},
			BlockIO: &specs.LinuxBlockIO{Weight: u16p(100), LeafWeight: u16p(100)},
			Network: &specs.LinuxNetwork{ClassID: u32p(1)},
			Unified: map[string]string{"memory.high": "1G", "cgroup.procs": "1", "nope.x": "1", "a/b": "1"},
		}, []string{
			"linux.resources.blockIO.leafWeight", "linux.resources.blockIO.weight",
			"linux.resources.cpu.realtimePeriod", "linux.resources.cpu.realtimeRuntime",
			"linux.resources.memory.disableOOMKiller", "linux.resources.memory.kernelTCP",
			"linux.resources.memory.swap", "linux.resources.memory.swappiness",
			"linux.resources.network.classID",
			`linux.resources.unified["a/b"]`, `linux.resources.unified["cgroup.procs"]`, `linux.resources.unified["nope.x"]`,
		}},
		{"v2 good", vmV2, &specs.LinuxResources{
			Memory:         &specs.LinuxMemory{Limit: i64p(64 << 20), Swap: i64p(128 << 20), Swappiness: u64p(^uint64(0))},
			CPU:            &specs.LinuxCPU{Shares: u64p(1024), Quota: i64p(-1), Burst: u64p(0), Idle: i64p(1)},
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}},
			Unified:        map[string]string{"memory.high": "1G", "cgroup.max.depth": "3"},
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := paths(t, c.caps, c.r)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("problems at:\n%s\nwant:\n%s\nall: %v", strings.Join(got, "\n"), strings.Join(c.want, "\n"), checkWith(c.caps, c.r))
			}
		})
	}
}
