package cgroups

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// mountEntry is one cgroup filesystem from /proc/self/mountinfo.
type mountEntry struct {
	mountpoint string
	root       string // the hierarchy's directory shown at mountpoint
	v2         bool
	// controllers of a v1 hierarchy, "name=systemd" included.
	controllers []string
}

// parseMountinfo returns the cgroup and cgroup2 mounts of a mountinfo
// file, the first mount of each mountpoint only, and none that a later
// mount of another type covers (a tmpfs over the hybrid "unified" mount, as
// bench/run.sh makes for crun, or a runtime's view of a nested host).
func parseMountinfo(data string) []mountEntry {
	var out []mountEntry
	seen := map[string]bool{}
	lines := strings.Split(data, "\n")
	top := map[string]string{} // mountpoint -> type of its last mount
	for _, line := range lines {
		pre, post, ok := strings.Cut(line, " - ")
		if f, t := strings.Fields(pre), strings.Fields(post); ok && len(f) >= 5 && len(t) >= 1 {
			top[unescapeMount(f[4])] = t[0]
		}
	}
	for _, line := range lines {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		t := strings.Fields(post)
		if len(f) < 5 || len(t) < 1 || (t[0] != "cgroup" && t[0] != "cgroup2") {
			continue
		}
		m := mountEntry{root: unescapeMount(f[3]), mountpoint: unescapeMount(f[4]), v2: t[0] == "cgroup2"}
		if seen[m.mountpoint] || (top[m.mountpoint] != "cgroup" && top[m.mountpoint] != "cgroup2") {
			continue
		}
		seen[m.mountpoint] = true
		if !m.v2 && len(t) >= 3 {
			for _, o := range strings.Split(t[2], ",") {
				switch {
				case o == "rw" || o == "ro":
				case strings.HasPrefix(o, "name="):
					m.controllers = append(m.controllers, o)
				case !strings.Contains(o, "="):
					// clone_children, noprefix, xattr are options, not
					// controllers.
					if o != "clone_children" && o != "noprefix" && o != "xattr" && o != "cpuset_v2_mode" && o != "favordynmods" {
						m.controllers = append(m.controllers, o)
					}
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// parseProcCgroup reads /proc/<pid>/cgroup: controller (each of a joined
// list, "name=systemd" as is) -> path; "" is the unified hierarchy.
func parseProcCgroup(data string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(data, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

// checkCgroupsPath rejects what runc would silently rewrite: ".." would
// leave the hierarchy (or the runtime's own cgroup), and a comma or a
// colon would be misread later.
func checkCgroupsPath(p string) error {
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return errors.New(`must not contain ".." (use a path below the hierarchy root)`)
		}
	}
	if strings.ContainsAny(p, "\n\x00") {
		return errors.New("must not contain a newline or NUL")
	}
	return nil
}

// hierDir is the container's directory in one hierarchy mounted at mount
// (showing the hierarchy's directory root there). An absolute cgroupsPath
// is relative to the hierarchy's root; a relative or empty one (empty
// means the container id) is nested inside base, the runtime's own cgroup
// in that hierarchy (its parent on pure v2, see ownBase).
func hierDir(mount, root, base, cgPath, id string) string {
	if cgPath == "" {
		cgPath = id
	}
	if path.IsAbs(cgPath) {
		return path.Join(mount, cgPath)
	}
	return path.Join(mount, relToRoot(root, base), cgPath)
}

// relToRoot makes a path of /proc/self/cgroup relative to the mount's
// root (they differ when a sub-tree is bind-mounted). A base outside the
// mounted sub-tree yields the mount itself.
func relToRoot(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	if p == root {
		return "/"
	}
	if strings.HasPrefix(p, root+"/") {
		return p[len(root):]
	}
	return "/"
}

// ownBase is where relative cgroupsPaths are nested on pure cgroup v2:
// the parent of the runtime's own cgroup, because the own cgroup has
// processes (skiff itself) and the "no internal processes" rule would
// forbid enabling controllers in it (runc does the same).
func ownBase(own string) string {
	if own == "" || own == "/" {
		return "/"
	}
	return path.Dir(own)
}

// systemdPath is a parsed "slice:prefix:name" cgroupsPath.
type systemdPath struct {
	Slice, Prefix, Name string
}

// defaultScopePrefix is used when the caller named no unit (CONTRACT: runc
// uses "runc", skiff its own name).
const defaultScopePrefix = "skiff"

// parseSystemdPath parses the systemd driver's cgroupsPath. Empty means
// unit skiff-<id>.scope in the default slice.
func parseSystemdPath(p, id string, rootless bool) (systemdPath, error) {
	def := "system.slice"
	if rootless {
		def = "user.slice"
	}
	if p == "" {
		return systemdPath{Slice: def, Prefix: defaultScopePrefix, Name: id}, nil
	}
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return systemdPath{}, fmt.Errorf("%q: the systemd cgroup driver needs \"slice:prefix:name\" (e.g. system.slice:docker:abc), exactly 3 parts", p)
	}
	sp := systemdPath{Slice: parts[0], Prefix: parts[1], Name: parts[2]}
	if sp.Slice == "" {
		sp.Slice = def
	}
	if sp.Name == "" {
		sp.Name = id
	}
	if sp.Prefix == "" && !strings.HasSuffix(sp.Name, ".slice") {
		sp.Prefix = defaultScopePrefix
	}
	if _, err := expandSlice(sp.Slice); err != nil {
		return systemdPath{}, fmt.Errorf("%q: %w", p, err)
	}
	for _, s := range []string{sp.Prefix, sp.Name} {
		if strings.ContainsAny(s, "/\\") {
			return systemdPath{}, fmt.Errorf("%q: prefix and name must not contain a slash", p)
		}
	}
	return sp, nil
}

// Unit is the unit name: <prefix>-<name>.scope, or name itself when it
// is a slice.
func (sp systemdPath) Unit() string {
	if strings.HasSuffix(sp.Name, ".slice") {
		return sp.Name
	}
	return sp.Prefix + "-" + sp.Name + ".scope"
}

// expandSlice turns a slice name into its cgroup path, the way systemd
// nests slices by dashes: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice";
// "-.slice" is the root.
func expandSlice(slice string) (string, error) {
	const suffix = ".slice"
	if !strings.HasSuffix(slice, suffix) || len(slice) < len(suffix) {
		return "", fmt.Errorf("slice %q: a slice name ends in .slice", slice)
	}
	if strings.Contains(slice, "/") {
		return "", fmt.Errorf("slice %q: must not contain a slash", slice)
	}
	if slice == "-.slice" {
		return "/", nil
	}
	name := strings.TrimSuffix(slice, suffix)
	if name == "" || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") || strings.Contains(name, "--") {
		return "", fmt.Errorf("slice %q: dashes separate parent slices; no leading, trailing or double dash", slice)
	}
	var b strings.Builder
	prefix := ""
	for _, comp := range strings.Split(name, "-") {
		b.WriteString("/" + prefix + comp + suffix)
		prefix += comp + "-"
	}
	return b.String(), nil
}

// parseSubCgroups parses exec --cgroup values (runc syntax): "path" (all
// controllers; the only form on v2) or "ctrl[,ctrl]:path". It returns
// controller -> path below the container's cgroup, "" for all.
func parseSubCgroups(args []string, v2 bool) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		ctrls, p, ok := strings.Cut(a, ":")
		if !ok {
			p, ctrls = a, ""
		}
		if err := checkSubPath(p); err != nil {
			return nil, fmt.Errorf("--cgroup %q: %w", a, err)
		}
		if ctrls == "" {
			if _, dup := out[""]; dup {
				return nil, fmt.Errorf("--cgroup %q: only one path without controllers may be given", a)
			}
			out[""] = p
			continue
		}
		if v2 {
			return nil, fmt.Errorf("--cgroup %q: cgroup v2 has one hierarchy: give a path without controllers", a)
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c == "" {
				return nil, fmt.Errorf("--cgroup %q: empty controller name", a)
			}
			if _, dup := out[c]; dup {
				return nil, fmt.Errorf("--cgroup %q: controller %s given twice", a, c)
			}
			out[c] = p
		}
	}
	return out, nil
}

// checkSubPath keeps an exec's sub-cgroup inside the container's cgroup.
func checkSubPath(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	for _, c := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if c == ".." {
			return errors.New(`the path must stay below the container's cgroup (no "..")`)
		}
	}
	return nil
}

// subFor picks the sub-path for a hierarchy with the given controllers:
// an explicit controller entry wins over the path for all.
func subFor(subs map[string]string, controllers []string) (string, bool) {
	for _, c := range controllers {
		if p, ok := subs[c]; ok {
			return p, true
		}
	}
	p, ok := subs[""]
	return p, ok
}
