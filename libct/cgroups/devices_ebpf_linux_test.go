package cgroups

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The eBPF filter is tested on any host with a cgroup2 mount (hybrid hosts
// have one too): a shell born in the cgroup opens allowed and denied nodes.
func TestDeviceFilterEBPF(t *testing.T) {
	needRoot(t)
	h, err := getHost()
	if err != nil || h.v2 == nil {
		t.Skip("no cgroup2 mount")
	}
	dir := fmt.Sprintf("%s/skiff-unit/ebpf-%04x", h.v2.mountpoint, rand.Intn(1<<16))
	if _, err := mkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeCgroup(dir); err != nil {
			t.Error(err)
		}
		_ = unix.Rmdir(h.v2.mountpoint + "/skiff-unit")
	})
	rules := deviceRules([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, nil)
	// Twice: the second replaces the first, one program stays attached.
	for i := 0; i < 2; i++ {
		if err := setDevicesV2(dir, rules); err != nil {
			t.Fatalf("setDevicesV2: %v", err)
		}
	}
	d, _ := os.Open(dir)
	defer d.Close()
	q, err := link.QueryPrograms(link.QueryOptions{Target: int(d.Fd()), Attach: ebpf.AttachCGroupDevice})
	if err != nil || len(q.Programs) != 1 {
		t.Fatalf("attached device programs: %v, %v; want exactly 1", q, err)
	}
	cmd := exec.Command("sh", "-c", `echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null && echo zero-ok; (: < /dev/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied`)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(d.Fd())}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	for _, want := range []string{"null-ok", "zero-ok", "kmsg-denied"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("expected %s in:\n%s", want, out)
		}
	}
}

func TestDeviceFilterShape(t *testing.T) {
	insns := deviceFilter(deviceRules(nil, nil))
	// 6 loads, per default rule (typed, some numbered) a block, 2 at the end.
	if len(insns) < 6+len(defaultDevRules)*5+2 {
		t.Errorf("program too short: %d instructions", len(insns))
	}
	if err := insns.Marshal(nopWriter{}, nativeEndian()); err != nil {
		t.Errorf("program does not assemble: %v", err)
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func nativeEndian() binary.ByteOrder { return binary.LittleEndian }
