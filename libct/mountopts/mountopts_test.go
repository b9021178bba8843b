package mountopts

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name       string
		m          specs.Mount
		flags      uintptr
		clear      uintptr
		data       string
		bind, rec  bool
		prop       []uintptr
		set, clr   uint64
		errContain string
	}{
		{name: "proc", m: specs.Mount{Type: "proc", Options: []string{"nosuid", "noexec", "nodev"}}, flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV},
		{name: "tmpfs data", m: specs.Mount{Type: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}}, flags: unix.MS_NOSUID | unix.MS_STRICTATIME, clear: unix.MS_NOATIME | unix.MS_RELATIME, data: "mode=755,size=65536k"},
		{name: "rbind ro", m: specs.Mount{Type: "none", Options: []string{"rbind", "ro", "rprivate"}}, flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, bind: true, rec: true, prop: []uintptr{unix.MS_PRIVATE | unix.MS_REC}},
		{name: "type bind", m: specs.Mount{Type: "bind", Options: []string{"nodev"}}, flags: unix.MS_BIND | unix.MS_NODEV, bind: true},
		{name: "later wins", m: specs.Mount{Type: "tmpfs", Options: []string{"ro", "rw"}}, clear: unix.MS_RDONLY},
		{name: "rro", m: specs.Mount{Type: "bind", Options: []string{"rbind", "rro", "rnosuid"}}, flags: unix.MS_BIND | unix.MS_REC, bind: true, rec: true, set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID},
		{name: "rrelatime", m: specs.Mount{Type: "bind", Options: []string{"rbind", "rrelatime"}}, flags: unix.MS_BIND | unix.MS_REC, bind: true, rec: true, set: unix.MOUNT_ATTR_RELATIME, clr: unix.MOUNT_ATTR__ATIME},
		{name: "bind with data", m: specs.Mount{Type: "none", Options: []string{"bind", "size=1m"}}, errContain: `unknown option "size=1m" for a bind mount`},
		{name: "idmap", m: specs.Mount{Type: "bind", Options: []string{"idmap"}}, errContain: "id-mapped"},
		{name: "tmpcopyup", m: specs.Mount{Type: "tmpfs", Options: []string{"rw", "nosuid", "tmpcopyup"}}, flags: unix.MS_NOSUID, clear: unix.MS_RDONLY},
		{name: "tmpcopyup on bind", m: specs.Mount{Type: "bind", Options: []string{"rbind", "tmpcopyup"}}, errContain: "tmpfs mounts only"},
		{name: "newline", m: specs.Mount{Type: "tmpfs", Options: []string{"size=1\nmode=0"}}, errContain: "newline"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := Parse(c.m)
			if c.errContain != "" {
				if err == nil || !strings.Contains(err.Error(), c.errContain) {
					t.Fatalf("want error with %q, got %v", c.errContain, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Flags != c.flags || o.ClearFlags != c.clear || o.Data != c.data || o.Bind != c.bind || o.RecursiveBind != c.rec || o.AttrSet != c.set || o.AttrClr != c.clr {
				t.Fatalf("got %+v", o)
			}
			if len(o.Propagation) != len(c.prop) {
				t.Fatalf("propagation %v, want %v", o.Propagation, c.prop)
			}
			for i := range c.prop {
				if o.Propagation[i] != c.prop[i] {
					t.Fatalf("propagation %v, want %v", o.Propagation, c.prop)
				}
			}
		})
	}
}

func TestKnownHasRecursiveOptions(t *testing.T) {
	k := strings.Join(Known(), " ")
	for _, want := range []string{"rro", "rbind", "nosymfollow", "rprivate"} {
		if !strings.Contains(" "+k+" ", " "+want+" ") {
			t.Errorf("Known() lacks %q", want)
		}
	}
}
