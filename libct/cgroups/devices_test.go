package cgroups

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64p(v int64) *int64 { return &v }

func TestDeviceRulesV1Strings(t *testing.T) {
	rules := deviceRules([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64p(10), Minor: i64p(229), Access: "rw"},
		{Allow: true, Type: "b", Major: i64p(8), Access: "wr"},
	}, []specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
		{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0},
		{Path: "/dev/fifo", Type: "p"},
		{Path: "/dev/kmsg", Type: "u", Major: 1, Minor: 11},
	})
	var got []string
	for _, r := range rules {
		verb := "deny "
		if r.Allow {
			verb = "allow "
		}
		got = append(got, verb+r.v1String())
	}
	want := []string{
		"deny a",
		"allow c 10:229 rw",
		"allow b 8:* rw",
		"allow c *:* m", "allow b *:* m",
		"allow c 1:3 rwm", "allow c 1:8 rwm", "allow c 1:7 rwm", "allow c 5:0 rwm",
		"allow c 1:5 rwm", "allow c 1:9 rwm", "allow c 136:* rwm", "allow c 5:2 rwm", "allow c 10:200 rwm",
		"allow c 10:229 rwm", "allow b 8:0 rwm", "allow c 1:11 rwm",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDevAllowed(t *testing.T) {
	rules := deviceRules([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64p(4), Access: "r"},
		{Allow: false, Type: "c", Major: i64p(4), Minor: i64p(7), Access: "w"},
	}, nil)
	for _, c := range []struct {
		typ          byte
		major, minor int64
		access       string
		want         bool
	}{
		{'c', 1, 3, "rw", true},     // /dev/null, default
		{'c', 136, 4, "rw", true},   // a pty
		{'b', 8, 0, "r", false},     // a disk: default deny
		{'b', 8, 0, "m", true},      // mknod is allowed for all
		{'c', 4, 1, "r", true},      // the spec's c 4:* r
		{'c', 4, 1, "rw", false},    // ...which does not give w
		{'c', 4, 7, "r", true},      // deny w only for 4:7
		{'c', 4, 7, "w", false},     //
		{'c', 5, 1, "rw", false},    // the host console is not a default
		{'c', 10, 200, "rw", true},  // tun
		{'c', 99, 99, "rwm", false}, // nothing matches
	} {
		if got := devAllowed(rules, c.typ, c.major, c.minor, c.access); got != c.want {
			t.Errorf("devAllowed(%c %d:%d %s) = %v, want %v", c.typ, c.major, c.minor, c.access, got, c.want)
		}
	}
	// A later allow-all wins over everything before it.
	all := deviceRules([]specs.LinuxDeviceCgroup{{Allow: false}, {Allow: true, Type: "a"}}, nil)
	if !devAllowed(all, 'b', 8, 0, "rw") {
		t.Error("allow-all did not allow b 8:0")
	}
}

func TestCheckDevCgroup(t *testing.T) {
	if bad := checkDevCgroup(specs.LinuxDeviceCgroup{Type: "x", Access: "rwz", Major: i64p(-2)}); len(bad) != 3 {
		t.Errorf("checkDevCgroup found %v", bad)
	}
	if bad := checkDevCgroup(specs.LinuxDeviceCgroup{Type: "c", Access: "rw", Major: i64p(1), Minor: i64p(3)}); len(bad) != 0 {
		t.Errorf("checkDevCgroup rejected a good rule: %v", bad)
	}
	if normAccess("mwr") != "rwm" || normAccess("") != "rwm" || normAccess("w") != "w" {
		t.Error("normAccess")
	}
}
