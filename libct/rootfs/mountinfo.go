package rootfs

import (
	"sort"
	"strings"
)

// procSysMounts lists proc and sysfs mount points outside rootfs, deepest
// first, from the text of /proc/self/mountinfo.
func procSysMounts(mountinfo, rootfs string) []string {
	var out []string
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f := strings.Fields(pre)
		t := strings.Fields(post)
		if len(f) < 5 || len(t) < 1 {
			continue
		}
		mp := unescape(f[4])
		if (t[0] == "proc" || t[0] == "sysfs") && mp != rootfs && !strings.HasPrefix(mp, rootfs+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unescape decodes mountinfo's octal escapes (\040 for a space...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			v := (s[i+1]-'0')*64 + (s[i+2]-'0')*8 + (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
