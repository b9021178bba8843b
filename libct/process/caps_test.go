package process

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestResolveCaps(t *testing.T) {
	c, err := ResolveCaps(&specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "cap_kill", "CAP_NET_BIND_SERVICE"},
		Effective:   []string{"CAP_CHOWN"},
		Permitted:   []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE", "CAP_KILL"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Bounding != 1<<0|1<<5|1<<10 || c.Effective != 1 || c.Permitted != 1|1<<10 || c.Inheritable != 1<<10 || c.Ambient != 1<<10|1<<5 {
		t.Fatalf("masks %+v", c)
	}
	// CAP_KILL is ambient but neither permitted nor inheritable.
	if got := c.AmbientSkipped(); len(got) != 1 || got[0] != "CAP_KILL" {
		t.Fatalf("AmbientSkipped = %v", got)
	}
}

func TestResolveCapsUnknownNamesTheField(t *testing.T) {
	_, err := ResolveCaps(&specs.LinuxCapabilities{Inheritable: []string{"CAP_CHOWN", "CAP_FLY"}})
	if err == nil || !strings.Contains(err.Error(), `process.capabilities.inheritable[1]: unknown capability "CAP_FLY"`) {
		t.Fatalf("error %v", err)
	}
}

func TestRlimitNames(t *testing.T) {
	for _, n := range []string{"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
		"RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
		"RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"} {
		if _, ok := RlimitValue(n); !ok {
			t.Errorf("%s unknown", n)
		}
	}
	if _, ok := RlimitValue("RLIMIT_BOGUS"); ok {
		t.Error("RLIMIT_BOGUS known")
	}
}
