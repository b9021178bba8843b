package cgroups

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// devRule is one device cgroup rule. Major and Minor -1 match any.
type devRule struct {
	Type   byte // 'a' (any), 'b' or 'c'
	Major  int64
	Minor  int64
	Access string // letters of "rwm"
	Allow  bool
}

const wildcard = -1

// defaultDevRules are appended after the spec's rules, as runc does
// (PITFALLS 8): they cannot be turned off, for compatibility. mknod of any
// node is allowed (creating a node is harmless; opening it is what the
// rules guard), then the safe pseudo devices, pty slaves and the pty
// multiplexer, and tun (runc dropped it in 1.2.0 and restored it in 1.2.4
// because containers broke). /dev/console (5:1) is deliberately absent: it
// is the host's console; a container's console is a pty (136:*).
var defaultDevRules = []devRule{
	{Type: 'c', Major: wildcard, Minor: wildcard, Access: "m", Allow: true},
	{Type: 'b', Major: wildcard, Minor: wildcard, Access: "m", Allow: true},
	{Type: 'c', Major: 1, Minor: 3, Access: "rwm", Allow: true},          // null
	{Type: 'c', Major: 1, Minor: 8, Access: "rwm", Allow: true},          // random
	{Type: 'c', Major: 1, Minor: 7, Access: "rwm", Allow: true},          // full
	{Type: 'c', Major: 5, Minor: 0, Access: "rwm", Allow: true},          // tty
	{Type: 'c', Major: 1, Minor: 5, Access: "rwm", Allow: true},          // zero
	{Type: 'c', Major: 1, Minor: 9, Access: "rwm", Allow: true},          // urandom
	{Type: 'c', Major: 136, Minor: wildcard, Access: "rwm", Allow: true}, // pts/*
	{Type: 'c', Major: 5, Minor: 2, Access: "rwm", Allow: true},          // ptmx
	{Type: 'c', Major: 10, Minor: 200, Access: "rwm", Allow: true},       // net/tun
}

// checkDevCgroup validates one linux.resources.devices entry.
func checkDevCgroup(d specs.LinuxDeviceCgroup) []string {
	var bad []string
	switch d.Type {
	case "", "a", "b", "c":
	default:
		bad = append(bad, fmt.Sprintf("type %q: must be a (all), b (block) or c (char)", d.Type))
	}
	for _, c := range d.Access {
		if !strings.ContainsRune("rwm", c) {
			bad = append(bad, fmt.Sprintf("access %q: only the letters r, w and m are allowed", d.Access))
			break
		}
	}
	if d.Major != nil && *d.Major < wildcard {
		bad = append(bad, fmt.Sprintf("major %d: must be >= 0 (or omitted for any)", *d.Major))
	}
	if d.Minor != nil && *d.Minor < wildcard {
		bad = append(bad, fmt.Sprintf("minor %d: must be >= 0 (or omitted for any)", *d.Minor))
	}
	return bad
}

// specDevRule converts a spec rule: an empty type means all devices, an
// empty access means rwm, a missing number any (runc's reading).
func specDevRule(d specs.LinuxDeviceCgroup) devRule {
	r := devRule{Type: 'a', Major: wildcard, Minor: wildcard, Access: normAccess(d.Access), Allow: d.Allow}
	if d.Type != "" {
		r.Type = d.Type[0]
	}
	if d.Major != nil {
		r.Major = *d.Major
	}
	if d.Minor != nil {
		r.Minor = *d.Minor
	}
	return r
}

// normAccess orders and dedups access letters; empty means all.
func normAccess(a string) string {
	if a == "" {
		return "rwm"
	}
	var b strings.Builder
	for _, c := range "rwm" {
		if strings.ContainsRune(a, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// deviceRules is the full rule list of a container, in order: the spec's
// rules, the defaults, one allow per linux.devices node (fifos need none).
func deviceRules(rs []specs.LinuxDeviceCgroup, devs []specs.LinuxDevice) []devRule {
	out := make([]devRule, 0, len(rs)+len(defaultDevRules)+len(devs))
	for _, r := range rs {
		out = append(out, specDevRule(r))
	}
	out = append(out, defaultDevRules...)
	for _, d := range devs {
		var t byte
		switch d.Type {
		case "c", "u":
			t = 'c'
		case "b":
			t = 'b'
		default:
			continue
		}
		out = append(out, devRule{Type: t, Major: d.Major, Minor: d.Minor, Access: "rwm", Allow: true})
	}
	return out
}

// v1String is the rule as written to devices.allow or devices.deny.
func (r devRule) v1String() string {
	if r.Type == 'a' {
		// "a" alone: the kernel resets the whole list to allow or deny.
		return "a"
	}
	num := func(n int64) string {
		if n == wildcard {
			return "*"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("%c %s:%s %s", r.Type, num(r.Major), num(r.Minor), r.Access)
}

// matches reports whether the rule is about a device of this type and
// number.
func (r devRule) matches(typ byte, major, minor int64) bool {
	return (r.Type == 'a' || r.Type == typ) &&
		(r.Major == wildcard || r.Major == major) &&
		(r.Minor == wildcard || r.Minor == minor)
}

// devAllowed evaluates a rule list the way the eBPF program does: the last
// rule that decides wins, default deny. An allow rule decides when it
// grants every requested access; a deny rule when it covers any of them.
// For the lists containers use (deny all first, then allows) this is the
// v1 kernel's outcome too.
func devAllowed(rules []devRule, typ byte, major, minor int64, access string) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		if !r.matches(typ, major, minor) {
			continue
		}
		if r.Allow && accessSubset(access, r.Access) {
			return true
		}
		if !r.Allow && accessOverlap(access, r.Access) {
			return false
		}
	}
	return false
}

func accessSubset(a, of string) bool {
	for _, c := range a {
		if !strings.ContainsRune(of, c) {
			return false
		}
	}
	return true
}

func accessOverlap(a, b string) bool {
	return strings.ContainsAny(a, b)
}
