package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/spec"
)

// Check reports every linux.resources field (and the cgroupsPath) that
// this host and driver cannot apply, and every invalid value, each with
// its JSON path. Nothing is silently dropped: a limit the container asked
// for and would not get is an error.
func Check(c Config) []spec.Problem {
	var errs spec.Errors
	h, err := getHost()
	if err != nil {
		errs.Add("linux.cgroupsPath", "%v", err)
		return errs
	}
	if c.Systemd {
		if _, err := parseSystemdPath(c.Path, c.ID, c.Rootless); err != nil {
			errs.Add("linux.cgroupsPath", "%v", err)
		}
		if _, err := annotationProperties(c.Annotations); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			errs.Add(field, "%s", msg)
		}
	} else if err := checkCgroupsPath(c.Path); err != nil {
		errs.Add("linux.cgroupsPath", "%q: %v", c.Path, err)
	}
	errs.Merge(checkResources(h, c.Resources))
	return errs
}

// problemsErr turns problems into one error (for Set, which update calls
// without a Check).
func problemsErr(ps []spec.Problem) error {
	if len(ps) == 0 {
		return nil
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return errors.New(strings.Join(parts, "; "))
}

// caps answers "can this host apply X" for checkResources; a seam so the
// value rules can be tested without a host.
type caps interface {
	v2() bool
	// has reports a controller (v1: a mounted hierarchy; v2: listed in
	// the root's cgroup.controllers).
	has(ctrl string) bool
	// file reports whether a controller file exists in a non-root cgroup;
	// unknown is reported as true (Set will say what failed).
	file(name string) bool
	onlineCPUs() []uint16
	onlineMems() []uint16
	hugePageSizes() []uint64
}

func checkResources(h *host, r *specs.LinuxResources) []spec.Problem {
	return checkWith(hostCaps{h: h}, r)
}

// checkWith validates r against what c offers.
func checkWith(c caps, r *specs.LinuxResources) []spec.Problem {
	var e spec.Errors
	if r == nil {
		return nil
	}
	ver := "cgroup v1"
	if c.v2() {
		ver = "cgroup v2"
	}
	need := func(path, ctrl string) bool {
		if c.has(ctrl) {
			return true
		}
		e.Add(path, "not supported on this host: no %s controller (%s)", ctrl, ver)
		return false
	}
	for i, d := range r.Devices {
		for _, msg := range checkDevCgroup(d) {
			e.Add(fmt.Sprintf("%s.devices[%d]", res, i), "%s", msg)
		}
	}
	if m := r.Memory; m != nil {
		checkMemory(&e, c, m, need)
	}
	if cpu := r.CPU; cpu != nil {
		checkCPU(&e, c, cpu, need)
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		if *p.Limit < -1 {
			e.Add(res+".pids.limit", "%d: must be positive, or -1 (or 0) for no limit", *p.Limit)
		}
		need(res+".pids.limit", "pids")
	}
	if b := r.BlockIO; b != nil {
		checkBlockIO(&e, c, b, need)
	}
	for i, l := range r.HugepageLimits {
		field := fmt.Sprintf("%s.hugepageLimits[%d]", res, i)
		size, err := parsePageSize(l.Pagesize)
		if err != nil {
			e.Add(field+".pageSize", "%v", err)
			continue
		}
		if !need(field, "hugetlb") {
			continue
		}
		if !containsU64(c.hugePageSizes(), size) {
			e.Add(field+".pageSize", "%q: the kernel has no huge pages of this size (see /sys/kernel/mm/hugepages)", l.Pagesize)
		}
	}
	if n := r.Network; n != nil {
		if n.ClassID != nil {
			if c.v2() {
				e.Add(res+".network.classID", "not supported on cgroup v2 (there is no net_cls controller; classify traffic with eBPF or nftables cgroupv2 matches)")
			} else {
				need(res+".network.classID", "net_cls")
			}
		}
		for i := range n.Priorities {
			field := fmt.Sprintf("%s.network.priorities[%d]", res, i)
			if c.v2() {
				e.Add(field, "not supported on cgroup v2 (there is no net_prio controller)")
			} else {
				need(field, "net_prio")
			}
		}
	}
	if len(r.Rdma) > 0 {
		for _, dev := range sortedKeys(r.Rdma) {
			need(fmt.Sprintf("%s.rdma[%q]", res, dev), "rdma")
		}
	}
	if len(r.Unified) > 0 {
		if !c.v2() {
			e.Add(res+".unified", "needs cgroup v2: this host uses cgroup v1 controllers (set the v1 fields instead)")
		} else {
			for _, k := range sortedKeys(r.Unified) {
				if msg := checkUnifiedKey(c, k); msg != "" {
					e.Add(fmt.Sprintf("%s.unified[%q]", res, k), "%s", msg)
				}
			}
		}
	}
	return e
}

func checkMemory(e *spec.Errors, c caps, m *specs.LinuxMemory, need func(string, string) bool) {
	f := res + ".memory"
	any := false
	for _, v := range []struct {
		name string
		p    *int64
	}{{"limit", m.Limit}, {"reservation", m.Reservation}, {"swap", m.Swap}, {"kernelTCP", m.KernelTCP}} {
		if v.p == nil {
			continue
		}
		any = true
		if *v.p < -1 {
			e.Add(f+"."+v.name, "%d: must be positive, or -1 for unlimited", *v.p)
		}
	}
	limit, swap := i64(m.Limit), i64(m.Swap)
	if m.Swap != nil && swap != 0 {
		if c.v2() {
			if _, err := swapV2(swap, limit); err != nil {
				e.Add(f+".swap", "%v", err)
			} else if swap > 0 && swap != limit && !c.file("memory.swap.max") {
				e.Add(f+".swap", "not supported on this host: no memory.swap.max (the kernel has no swap accounting)")
			}
		} else {
			if swap > 0 && limit > 0 && swap < limit {
				e.Add(f+".swap", "%d is below memory.limit %d: swap is memory+swap and must be >= the limit", swap, limit)
			}
			if swap > 0 && !c.file("memory.memsw.limit_in_bytes") {
				e.Add(f+".swap", "not supported on this host: no memory.memsw.limit_in_bytes (boot with swapaccount=1)")
			}
		}
	}
	if m.Kernel != nil && *m.Kernel > 0 {
		e.Add(f+".kernel", "not supported: Linux ignores kernel memory limits since 5.16 and cgroup v2 never had them (drop the field)")
	}
	if m.KernelTCP != nil && *m.KernelTCP > 0 && c.v2() {
		e.Add(f+".kernelTCP", "not supported on cgroup v2 (TCP memory is part of memory.max there; drop the field)")
	}
	if m.Swappiness != nil && int64(*m.Swappiness) != -1 {
		any = true
		switch {
		case *m.Swappiness > 100:
			e.Add(f+".swappiness", "%d: must be 0..100", *m.Swappiness)
		case c.v2():
			e.Add(f+".swappiness", "not supported on cgroup v2 (there is no per-cgroup swappiness; drop the field)")
		}
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
		any = true
		if c.v2() {
			e.Add(f+".disableOOMKiller", "not supported on cgroup v2 (the OOM killer cannot be disabled per cgroup)")
		}
	}
	if m.UseHierarchy != nil && !*m.UseHierarchy {
		e.Add(f+".useHierarchy", "false is not supported: the kernel always accounts memory hierarchically")
	}
	if any {
		need(f, "memory")
	}
}

func checkCPU(e *spec.Errors, c caps, cpu *specs.LinuxCPU, need func(string, string) bool) {
	f := res + ".cpu"
	usesCPU := false
	if cpu.Shares != nil && *cpu.Shares != 0 {
		usesCPU = true
		if *cpu.Shares < minCPUShares || *cpu.Shares > maxCPUShares {
			e.Add(f+".shares", "%d: must be %d..%d", *cpu.Shares, minCPUShares, maxCPUShares)
		}
	}
	quota := i64(cpu.Quota)
	if cpu.Quota != nil && quota != 0 {
		usesCPU = true
		if quota < -1 || (quota > 0 && quota < minCFSQuota) {
			e.Add(f+".quota", "%d: must be at least %d (1 ms), or -1 for no limit", quota, minCFSQuota)
		}
	}
	if cpu.Period != nil && *cpu.Period != 0 {
		usesCPU = true
		if *cpu.Period < minCFSPeriod || *cpu.Period > maxCFSPeriod {
			e.Add(f+".period", "%d: must be %d..%d (1 ms to 1 s)", *cpu.Period, minCFSPeriod, maxCFSPeriod)
		}
	}
	if cpu.Burst != nil {
		usesCPU = true
		file := "cpu.cfs_burst_us"
		if c.v2() {
			file = "cpu.max.burst"
		}
		if quota > 0 && int64(*cpu.Burst) > quota {
			e.Add(f+".burst", "%d is above the quota %d (the kernel allows burst <= quota)", *cpu.Burst, quota)
		} else if !c.file(file) {
			e.Add(f+".burst", "not supported on this host: no %s (Linux >= 5.14 with CONFIG_CFS_BANDWIDTH)", file)
		}
	}
	for _, rt := range []struct {
		name string
		set  bool
	}{{"realtimeRuntime", cpu.RealtimeRuntime != nil && *cpu.RealtimeRuntime != 0}, {"realtimePeriod", cpu.RealtimePeriod != nil && *cpu.RealtimePeriod != 0}} {
		if !rt.set {
			continue
		}
		usesCPU = true
		if c.v2() {
			e.Add(f+"."+rt.name, "not supported on cgroup v2 (no real-time group scheduling there)")
		} else if !c.file("cpu.rt_runtime_us") {
			e.Add(f+"."+rt.name, "not supported on this host: no cpu.rt_runtime_us (kernel without CONFIG_RT_GROUP_SCHED)")
		}
	}
	if cpu.Idle != nil {
		usesCPU = true
		if *cpu.Idle != 0 && *cpu.Idle != 1 {
			e.Add(f+".idle", "%d: must be 0 or 1", *cpu.Idle)
		} else if !c.file("cpu.idle") {
			e.Add(f+".idle", "not supported on this host: no cpu.idle (Linux >= 5.15)")
		}
	}
	if usesCPU {
		need(f, "cpu")
	}
	for _, s := range []struct{ name, val string }{{"cpus", cpu.Cpus}, {"mems", cpu.Mems}} {
		if s.val == "" {
			continue
		}
		ids, err := parseCPUSet(s.val)
		if err != nil {
			e.Add(f+"."+s.name, "%v", err)
			continue
		}
		if len(ids) == 0 {
			e.Add(f+"."+s.name, "%q: names no %s", s.val, s.name)
			continue
		}
		if !need(f+"."+s.name, "cpuset") {
			continue
		}
		online := c.onlineCPUs()
		what := "CPU"
		if s.name == "mems" {
			online, what = c.onlineMems(), "memory node"
		}
		if len(online) > 0 {
			if id, ok := subsetOf(ids, online); !ok {
				e.Add(f+"."+s.name, "%q: %s %d is not online here (online: %s)", s.val, what, id, formatIDs(online))
			}
		}
	}
}

func checkBlockIO(e *spec.Errors, c caps, b *specs.LinuxBlockIO, need func(string, string) bool) {
	f := res + ".blockIO"
	ctrl := "blkio"
	if c.v2() {
		ctrl = "io"
	}
	weightFile := func(name string) bool {
		if c.v2() {
			return c.file("io."+name) || c.file("io.bfq."+name)
		}
		return c.file("blkio."+name) || c.file("blkio.bfq."+name)
	}
	checkWeight := func(field string, w uint16) bool {
		if w < minBlkioWeight || w > maxBlkioWeight {
			e.Add(field, "%d: must be %d..%d", w, minBlkioWeight, maxBlkioWeight)
			return false
		}
		return true
	}
	if b.Weight != nil && *b.Weight != 0 && checkWeight(f+".weight", *b.Weight) && need(f+".weight", ctrl) && !weightFile("weight") {
		e.Add(f+".weight", "not supported on this host: no %s weight file (needs the BFQ I/O scheduler)", ctrl)
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		if c.v2() {
			e.Add(f+".leafWeight", "not supported on cgroup v2 (CFQ only; drop the field)")
		} else if checkWeight(f+".leafWeight", *b.LeafWeight) && need(f+".leafWeight", ctrl) && !c.file("blkio.leaf_weight") {
			e.Add(f+".leafWeight", "not supported on this host: no blkio.leaf_weight (CFQ was removed in Linux 5.0)")
		}
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("%s.weightDevice[%d]", f, i)
		if wd.Major < 0 || wd.Minor < 0 {
			e.Add(field, "major and minor must be >= 0")
		}
		if wd.Weight != nil && checkWeight(field+".weight", *wd.Weight) && need(field, ctrl) {
			file := "weight_device"
			if c.v2() {
				file = "weight"
			}
			if !weightFile(file) {
				e.Add(field+".weight", "not supported on this host: no %s per-device weight file (needs the BFQ I/O scheduler)", ctrl)
			}
		}
		if wd.LeafWeight != nil {
			if c.v2() {
				e.Add(field+".leafWeight", "not supported on cgroup v2 (CFQ only)")
			} else if checkWeight(field+".leafWeight", *wd.LeafWeight) && !c.file("blkio.leaf_weight_device") {
				e.Add(field+".leafWeight", "not supported on this host: no blkio.leaf_weight_device (CFQ was removed in Linux 5.0)")
			}
		}
	}
	for _, t := range throttleLists(b) {
		for i, td := range t.devs {
			field := fmt.Sprintf("%s.%s[%d]", f, t.field, i)
			if td.Major < 0 || td.Minor < 0 {
				e.Add(field, "major and minor must be >= 0")
			}
			if !need(field, ctrl) {
				continue
			}
			if c.v2() {
				if !c.file("io.max") {
					e.Add(field, "not supported on this host: no io.max")
				}
			} else if !c.file("blkio.throttle." + t.v1File) {
				e.Add(field, "not supported on this host: no blkio.throttle.%s (kernel without CONFIG_BLK_DEV_THROTTLING)", t.v1File)
			}
		}
	}
}

// unifiedForbidden are cgroup core files a container must not write:
// they would move processes, kill or freeze them, or change the tree
// the runtime manages.
var unifiedForbidden = map[string]bool{
	"cgroup.procs": true, "cgroup.threads": true, "cgroup.kill": true, "cgroup.freeze": true,
	"cgroup.subtree_control": true, "cgroup.type": true, "cgroup.events": true, "cgroup.controllers": true,
	"cgroup.stat": true,
}

func checkUnifiedKey(c caps, k string) string {
	if k == "" || strings.ContainsAny(k, "/\x00") || k == "." || k == ".." {
		return "must be a file name in the container's cgroup, without a slash"
	}
	ctrl, _, ok := strings.Cut(k, ".")
	if !ok {
		return "must be <controller>.<file>, e.g. memory.high"
	}
	if ctrl == "cgroup" {
		if unifiedForbidden[k] {
			return "skiff manages this file itself; it cannot be set from the config"
		}
		return ""
	}
	if !c.has(ctrl) {
		return fmt.Sprintf("no %s controller on this host (cgroup.controllers)", ctrl)
	}
	return ""
}

func containsU64(a []uint64, x uint64) bool {
	for _, v := range a {
		if v == x {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func formatIDs(ids []uint16) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprint(ids[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// hostCaps answers caps from the real host.
type hostCaps struct{ h *host }

func (c hostCaps) v2() bool { return c.h.unified }

func (c hostCaps) has(ctrl string) bool {
	if c.h.unified {
		return c.h.v2Controllers()[ctrl]
	}
	return c.h.v1Hier(ctrl) != nil
}

// file looks for a controller file where it exists: on v1 at the
// hierarchy's root (which has the same files as its children for what is
// checked here); on v2 in the runtime's own cgroup or an ancestor below
// the root, as the root cgroup lacks most controller files.
func (c hostCaps) file(name string) bool {
	ctrl, _, _ := strings.Cut(name, ".")
	if !c.h.unified {
		m := c.h.v1Hier(ctrl)
		if m == nil {
			return false
		}
		return exists(m.mountpoint + "/" + name)
	}
	own := c.h.own[""]
	for d := own; d != "/" && d != "." && d != ""; d = filepath.Dir(d) {
		if exists(filepath.Join(c.h.v2.mountpoint, relToRoot(c.h.v2.root, d))) {
			return exists(filepath.Join(c.h.v2.mountpoint, relToRoot(c.h.v2.root, d), name))
		}
	}
	return true
}

func (c hostCaps) cpusetFile(v1name, v2name string) []uint16 {
	var p string
	if c.h.unified {
		p = c.h.v2.mountpoint + "/" + v2name
	} else if m := c.h.v1Hier("cpuset"); m != nil {
		p = m.mountpoint + "/" + v1name
	} else {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	ids, _ := parseCPUSet(string(b))
	return ids
}

func (c hostCaps) onlineCPUs() []uint16 {
	return c.cpusetFile("cpuset.effective_cpus", "cpuset.cpus.effective")
}

func (c hostCaps) onlineMems() []uint16 {
	return c.cpusetFile("cpuset.effective_mems", "cpuset.mems.effective")
}

func (c hostCaps) hugePageSizes() []uint64 { return hostHugePageSizes() }

// hostHugePageSizes lists the huge page sizes the kernel offers.
func hostHugePageSizes() []uint64 {
	ents, err := os.ReadDir("/sys/kernel/mm/hugepages")
	if err != nil {
		return nil
	}
	var out []uint64
	for _, e := range ents {
		if n, ok := hugepageDirSize(e.Name()); ok {
			out = append(out, n)
		}
	}
	return out
}

// checkName refuses a cgroupsPath the cgroupfs drivers cannot use, or a
// cgroup with neither a path nor an id to name it.
func checkName(c Config) error {
	if err := checkCgroupsPath(c.Path); err != nil {
		return fmt.Errorf("linux.cgroupsPath %q: %w", c.Path, err)
	}
	if c.Path == "" && c.ID == "" {
		return errors.New("cgroups: neither linux.cgroupsPath nor a container id to name the cgroup")
	}
	return nil
}

// checkFits refuses resources the host cannot apply (Set of every driver).
func checkFits(r *specs.LinuxResources) error {
	h, err := getHost()
	if err != nil {
		return err
	}
	return problemsErr(checkResources(h, r))
}
