// Package mountopts turns the options of a spec mount into mount(2) flags,
// propagation changes, recursive mount_setattr(2) attributes and the
// filesystem's own data string. It is pure: no syscalls, table-tested.
package mountopts

import (
	"fmt"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Options is one mount's options, decoded.
type Options struct {
	// Flags are the MS_* flags to set (MS_BIND and MS_REC for binds).
	Flags uintptr
	// ClearFlags are flags the options explicitly clear ("rw", "suid",
	// "dev", "exec", ...): a locked flag of the source that the user asked
	// to clear must fail the mount instead of being kept silently.
	ClearFlags uintptr
	// Data is the filesystem-specific part ("size=64m,mode=755").
	Data string
	// Bind is a bind mount ("bind", "rbind" or type "bind");
	// RecursiveBind also binds the submounts ("rbind").
	Bind          bool
	RecursiveBind bool
	// Propagation changes, applied in order after the mount.
	Propagation []uintptr
	// AttrSet/AttrClr are MOUNT_ATTR_* applied recursively with
	// mount_setattr(AT_RECURSIVE) for the "r"-prefixed options (rro, ...).
	AttrSet uint64
	AttrClr uint64
	// CopyUp ("tmpcopyup", a runc extension podman sets on the tmpfs
	// mounts of --read-only and --tmpfs): fill the new tmpfs with what the
	// directory it covers holds.
	CopyUp bool
}

type flagOpt struct {
	set   bool // true: sets flag; false: clears it
	flag  uintptr
	atime bool // an atime mode: clears the other atime modes
}

// atimeFlags are the mutually exclusive atime modes of mount(2).
const atimeFlags = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME

var flagOpts = map[string]flagOpt{
	"ro":            {true, unix.MS_RDONLY, false},
	"rw":            {false, unix.MS_RDONLY, false},
	"nosuid":        {true, unix.MS_NOSUID, false},
	"suid":          {false, unix.MS_NOSUID, false},
	"nodev":         {true, unix.MS_NODEV, false},
	"dev":           {false, unix.MS_NODEV, false},
	"noexec":        {true, unix.MS_NOEXEC, false},
	"exec":          {false, unix.MS_NOEXEC, false},
	"sync":          {true, unix.MS_SYNCHRONOUS, false},
	"async":         {false, unix.MS_SYNCHRONOUS, false},
	"dirsync":       {true, unix.MS_DIRSYNC, false},
	"remount":       {true, unix.MS_REMOUNT, false},
	"mand":          {true, unix.MS_MANDLOCK, false},
	"nomand":        {false, unix.MS_MANDLOCK, false},
	"noatime":       {true, unix.MS_NOATIME, true},
	"atime":         {false, unix.MS_NOATIME, false},
	"nodiratime":    {true, unix.MS_NODIRATIME, false},
	"diratime":      {false, unix.MS_NODIRATIME, false},
	"relatime":      {true, unix.MS_RELATIME, true},
	"norelatime":    {false, unix.MS_RELATIME, false},
	"strictatime":   {true, unix.MS_STRICTATIME, true},
	"nostrictatime": {false, unix.MS_STRICTATIME, false},
	"lazytime":      {true, unix.MS_LAZYTIME, false},
	"nolazytime":    {false, unix.MS_LAZYTIME, false},
	"silent":        {true, unix.MS_SILENT, false},
	"loud":          {false, unix.MS_SILENT, false},
	"nosymfollow":   {true, unix.MS_NOSYMFOLLOW, false},
	"symfollow":     {false, unix.MS_NOSYMFOLLOW, false},
}

var propagationOpts = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

type attrOpt struct {
	set, clr uint64
}

// recursiveOpts are runtime-spec 1.1's recursive options, applied with
// mount_setattr(AT_RECURSIVE) so that submounts of an rbind get them too.
var recursiveOpts = map[string]attrOpt{
	"rro":          {unix.MOUNT_ATTR_RDONLY, 0},
	"rrw":          {0, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":      {unix.MOUNT_ATTR_NOSUID, 0},
	"rsuid":        {0, unix.MOUNT_ATTR_NOSUID},
	"rnodev":       {unix.MOUNT_ATTR_NODEV, 0},
	"rdev":         {0, unix.MOUNT_ATTR_NODEV},
	"rnoexec":      {unix.MOUNT_ATTR_NOEXEC, 0},
	"rexec":        {0, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":  {unix.MOUNT_ATTR_NODIRATIME, 0},
	"rdiratime":    {0, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow": {unix.MOUNT_ATTR_NOSYMFOLLOW, 0},
	"rsymfollow":   {0, unix.MOUNT_ATTR_NOSYMFOLLOW},
	// atime modes are a 2-bit field: clear the field, set the mode.
	"rrelatime":    {unix.MOUNT_ATTR_RELATIME, unix.MOUNT_ATTR__ATIME},
	"rnoatime":     {unix.MOUNT_ATTR_NOATIME, unix.MOUNT_ATTR__ATIME},
	"rstrictatime": {unix.MOUNT_ATTR_STRICTATIME, unix.MOUNT_ATTR__ATIME},
	"ratime":       {unix.MOUNT_ATTR_RELATIME, unix.MOUNT_ATTR__ATIME},
}

// unsupported are options of the spec that skiff does not implement: an
// error, never a silent no-op.
var unsupported = map[string]string{
	"idmap":  "id-mapped mounts are not supported by skiff (features says so)",
	"ridmap": "id-mapped mounts are not supported by skiff (features says so)",
}

// Known lists every option Parse understands, for `features`.
func Known() []string {
	var out []string
	for k := range flagOpts {
		out = append(out, k)
	}
	for k := range propagationOpts {
		out = append(out, k)
	}
	for k := range recursiveOpts {
		out = append(out, k)
	}
	out = append(out, "bind", "rbind", "tmpcopyup")
	sort.Strings(out)
	return out
}

// IsBind says whether a mount is a bind mount.
func IsBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// Parse decodes m.Options. Options it does not know become the
// filesystem's data string, except on bind mounts, where the kernel would
// ignore them (so they are refused).
func Parse(m specs.Mount) (*Options, error) {
	o := &Options{}
	var data []string
	for _, opt := range m.Options {
		if opt == "" {
			continue
		}
		if why, ok := unsupported[opt]; ok {
			return nil, fmt.Errorf("%q: %s", opt, why)
		}
		if f, ok := flagOpts[opt]; ok {
			if f.set {
				if f.atime {
					o.Flags &^= atimeFlags
					o.ClearFlags |= atimeFlags &^ f.flag
				}
				o.Flags |= f.flag
				o.ClearFlags &^= f.flag
			} else {
				o.Flags &^= f.flag
				o.ClearFlags |= f.flag
			}
			continue
		}
		if p, ok := propagationOpts[opt]; ok {
			o.Propagation = append(o.Propagation, p)
			continue
		}
		if a, ok := recursiveOpts[opt]; ok {
			o.AttrClr |= a.clr
			o.AttrSet &^= a.clr
			o.AttrSet |= a.set
			o.AttrClr &^= a.set
			continue
		}
		switch opt {
		case "bind":
			o.Bind = true
			continue
		case "rbind":
			o.Bind, o.RecursiveBind = true, true
			continue
		case "tmpcopyup":
			o.CopyUp = true
			continue
		}
		if strings.ContainsAny(opt, "\n\x00") {
			return nil, fmt.Errorf("%q: an option must not contain a newline or NUL", opt)
		}
		data = append(data, opt)
	}
	if m.Type == "bind" {
		o.Bind = true
	}
	if o.Bind {
		o.Flags |= unix.MS_BIND
		if o.RecursiveBind {
			o.Flags |= unix.MS_REC
		}
		if len(data) > 0 {
			return nil, fmt.Errorf("unknown option %q for a bind mount (filesystem options have no effect on a bind mount; known options: see `skiff features`)", strings.Join(data, ","))
		}
	}
	if o.CopyUp && (o.Bind || m.Type != "tmpfs") {
		return nil, fmt.Errorf("%q applies to tmpfs mounts only, not to type %q", "tmpcopyup", m.Type)
	}
	o.Data = strings.Join(data, ",")
	return o, nil
}
