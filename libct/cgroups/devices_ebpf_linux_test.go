package cgroups

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

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
	q, err := queryDevicePrograms(int(d.Fd()))
	if err != nil || len(q) != 1 {
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

// runFilter interprets the filter's eight opcodes for one request, the way
// the kernel runs it (32-bit ALU, jumps relative to the next instruction).
func runFilter(t *testing.T, p []bpfInsn, typ byte, major, minor int64, access string) bool {
	var r [11]uint64
	devType := uint32(bpfDevChar)
	if typ == 'b' {
		devType = bpfDevBlock
	}
	ctx := [3]uint32{devType | uint32(bpfAccess(access))<<16, uint32(major), uint32(minor)}
	for pc, steps := 0, 0; pc < len(p); pc, steps = pc+1, steps+1 {
		in := p[pc]
		dst, src := in.Regs&0xf, in.Regs>>4
		switch in.Code {
		case opLdxW:
			if src != regR1 || in.Off%4 != 0 || in.Off < 0 || in.Off > 8 {
				t.Fatalf("insn %d: load outside the context: %+v", pc, in)
			}
			r[dst] = uint64(ctx[in.Off/4])
		case opMov32R:
			r[dst] = uint64(uint32(r[src]))
		case opMov32K:
			r[dst] = uint64(uint32(in.Imm))
		case opAnd32K:
			r[dst] = uint64(uint32(r[dst]) & uint32(in.Imm))
		case opRsh32K:
			r[dst] = uint64(uint32(r[dst]) >> uint32(in.Imm))
		case opJeqK, opJneK:
			if (uint32(r[dst]) == uint32(in.Imm)) == (in.Code == opJeqK) {
				pc += int(in.Off)
			}
		case opExit:
			return r[0] == 1
		default:
			t.Fatalf("insn %d: unknown opcode %#x", pc, in.Code)
		}
	}
	t.Fatalf("the program ran off its end")
	return false
}

// The filter decides as devAllowed for every request, over random rule
// lists (the spec's rules, then the defaults).
func TestDeviceFilterMatchesRules(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pick := func(n int64) int64 {
		if rng.Intn(3) == 0 {
			return wildcard
		}
		return rng.Int63n(n)
	}
	accesses := []string{"r", "w", "m", "rw", "rm", "wm", "rwm"}
	for round := 0; round < 200; round++ {
		var spec []specs.LinuxDeviceCgroup
		for i := rng.Intn(6); i > 0; i-- {
			d := specs.LinuxDeviceCgroup{Allow: rng.Intn(2) == 0, Type: []string{"a", "b", "c"}[rng.Intn(3)], Access: accesses[rng.Intn(len(accesses))]}
			if maj := pick(4); maj != wildcard {
				d.Major = &maj
			}
			if min := pick(4); min != wildcard {
				d.Minor = &min
			}
			spec = append(spec, d)
		}
		rules := deviceRules(spec, nil)
		p := deviceFilter(rules)
		for q := 0; q < 100; q++ {
			typ := "bc"[rng.Intn(2)]
			major, minor := rng.Int63n(4), rng.Int63n(4)
			if q%10 == 0 {
				major, minor = 1, []int64{3, 5, 7, 8, 9}[rng.Intn(5)]
			}
			acc := accesses[rng.Intn(len(accesses))]
			want := devAllowed(rules, typ, major, minor, acc)
			if got := runFilter(t, p, typ, major, minor, acc); got != want {
				t.Fatalf("rules %+v: %c %d:%d %s: filter says %v, rules say %v", rules, typ, major, minor, acc, got, want)
			}
		}
	}
}
