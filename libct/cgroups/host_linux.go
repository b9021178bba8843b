package cgroups

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where the host's cgroup filesystems are expected.
const cgroupRoot = "/sys/fs/cgroup"

// host is what this machine's cgroup layout looks like. It is read once
// per process: the layout does not change under a running skiff, and
// create calls Check and New back to back.
type host struct {
	// unified: /sys/fs/cgroup itself is cgroup2 (pure v2).
	unified bool
	// v1 hierarchies, sorted by mountpoint.
	v1 []mountEntry
	// v2 is the cgroup2 mount (pure v2, or hybrid's "unified"), if any.
	v2 *mountEntry
	// own is /proc/self/cgroup.
	own map[string]string
}

var getHost = sync.OnceValues(detectHost)

func detectHost() (*host, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %s (is a cgroup filesystem mounted?)", cgroupRoot, errnoText(err))
	}
	h := &host{unified: st.Type == unix.CGROUP2_SUPER_MAGIC}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read the cgroup mounts: %w", err)
	}
	pc, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read skiff's own cgroup: %w", err)
	}
	h.own = parseProcCgroup(string(pc))
	seen := map[string]bool{}
	for _, m := range preferSysFs(parseMountinfo(string(mi))) {
		if m.v2 {
			if h.v2 == nil {
				m := m
				h.v2 = &m
			}
			continue
		}
		if h.unified {
			continue // a v1 mount elsewhere on a pure v2 host is not ours
		}
		key := strings.Join(m.controllers, ",")
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		h.v1 = append(h.v1, m)
	}
	if h.unified && (h.v2 == nil || h.v2.mountpoint != cgroupRoot) {
		h.v2 = &mountEntry{mountpoint: cgroupRoot, root: "/", v2: true}
	}
	if !h.unified && len(h.v1) == 0 {
		return nil, fmt.Errorf("no cgroup v1 hierarchy is mounted under %s and it is not cgroup2 either", cgroupRoot)
	}
	sort.Slice(h.v1, func(i, j int) bool { return h.v1[i].mountpoint < h.v1[j].mountpoint })
	return h, nil
}

// preferSysFs puts mounts under /sys/fs/cgroup first, so that a hierarchy
// mounted twice is used where everyone expects it.
func preferSysFs(ms []mountEntry) []mountEntry {
	var a, b []mountEntry
	for _, m := range ms {
		if m.mountpoint == cgroupRoot || strings.HasPrefix(m.mountpoint, cgroupRoot+"/") {
			a = append(a, m)
		} else {
			b = append(b, m)
		}
	}
	return append(a, b...)
}

// v1Hier finds the v1 hierarchy holding a controller.
func (h *host) v1Hier(ctrl string) *mountEntry {
	for i := range h.v1 {
		for _, c := range h.v1[i].controllers {
			if c == ctrl {
				return &h.v1[i]
			}
		}
	}
	return nil
}

// v2Controllers lists what the cgroup2 root offers (cgroup.controllers).
func (h *host) v2Controllers() map[string]bool {
	out := map[string]bool{}
	if h.v2 == nil {
		return out
	}
	b, err := os.ReadFile(h.v2.mountpoint + "/cgroup.controllers")
	if err != nil {
		return out
	}
	for _, c := range strings.Fields(string(b)) {
		out[c] = true
	}
	return out
}
