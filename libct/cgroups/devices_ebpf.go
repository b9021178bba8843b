package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Constants of struct bpf_cgroup_dev_ctx (include/uapi/linux/bpf.h):
// access_type holds the device type in its low 16 bits and the access
// bits above them.
const (
	bpfDevBlock = 1 // BPF_DEVCG_DEV_BLOCK
	bpfDevChar  = 2 // BPF_DEVCG_DEV_CHAR
	bpfAccMknod = 1 // BPF_DEVCG_ACC_MKNOD
	bpfAccRead  = 2 // BPF_DEVCG_ACC_READ
	bpfAccWrite = 4 // BPF_DEVCG_ACC_WRITE
	bpfAccAll   = bpfAccMknod | bpfAccRead | bpfAccWrite
)

func bpfAccess(a string) int32 {
	var v int32
	for _, c := range a {
		switch c {
		case 'r':
			v |= bpfAccRead
		case 'w':
			v |= bpfAccWrite
		case 'm':
			v |= bpfAccMknod
		}
	}
	return v
}

// deviceFilter compiles rules into a BPF_PROG_TYPE_CGROUP_DEVICE program
// that decides exactly as devAllowed: the rules are tested from the last
// to the first, the first deciding one returns, and nothing matching
// means deny (default-deny, PITFALLS 8).
//
// Registers: r2 access bits, r3 device type, r4 major, r5 minor; r1 is
// scratch once the context is read.
func deviceFilter(rules []devRule) asm.Instructions {
	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word),
		asm.Mov.Reg32(asm.R3, asm.R2),
		asm.And.Imm32(asm.R3, 0xffff),
		asm.RSh.Imm32(asm.R2, 16),
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word),
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word),
	}
	block := 0
	label := func(n int) string { return "rule" + strconv.Itoa(n) }
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		next := label(block + 1)
		var b asm.Instructions
		if r.Type != 'a' {
			t := int32(bpfDevChar)
			if r.Type == 'b' {
				t = bpfDevBlock
			}
			b = append(b, asm.JNE.Imm(asm.R3, t, next))
			if r.Major != wildcard {
				b = append(b, asm.JNE.Imm(asm.R4, int32(r.Major), next))
			}
			if r.Minor != wildcard {
				b = append(b, asm.JNE.Imm(asm.R5, int32(r.Minor), next))
			}
		}
		acc := bpfAccess(r.Access)
		if r.Allow {
			// Allow when no requested bit is outside the rule's.
			b = append(b,
				asm.Mov.Reg32(asm.R1, asm.R2),
				asm.And.Imm32(asm.R1, ^acc&bpfAccAll),
				asm.JNE.Imm(asm.R1, 0, next),
				asm.Mov.Imm32(asm.R0, 1),
				asm.Return(),
			)
		} else {
			// Deny when any requested bit is the rule's.
			b = append(b,
				asm.Mov.Reg32(asm.R1, asm.R2),
				asm.And.Imm32(asm.R1, acc),
				asm.JEq.Imm(asm.R1, 0, next),
				asm.Mov.Imm32(asm.R0, 0),
				asm.Return(),
			)
		}
		b[0] = b[0].WithSymbol(label(block))
		insns = append(insns, b...)
		block++
	}
	insns = append(insns, asm.Mov.Imm32(asm.R0, 0).WithSymbol(label(block)), asm.Return())
	return insns
}

// setDevicesV2 loads the filter for rules and attaches it to the cgroup,
// replacing the device programs attached there before: atomically with
// BPF_F_REPLACE when there is exactly one, else attach-new-then-detach-old
// so that the cgroup is never without a filter (PITFALLS 8).
func setDevicesV2(dir string, rules []devRule) error {
	prog, err := loadDeviceFilter(rules)
	if err != nil {
		return fmt.Errorf("%s.devices: load the eBPF device filter: %w", res, err)
	}
	defer prog.Close()
	d, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return newFileError(res+".devices", "open", dir, err)
	}
	defer d.Close()
	fd := int(d.Fd())
	old, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fmt.Errorf("%s.devices: query the device programs of %s: %w", res, dir, err)
	}
	if len(old.Programs) == 1 {
		err = link.RawAttachProgram(link.RawAttachProgramOptions{
			Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice,
			Flags:  unix.BPF_F_ALLOW_MULTI,
			Anchor: link.ReplaceProgramByID(old.Programs[0].ID),
		})
		if err == nil {
			return nil
		}
		// Kernels before 5.6 have no BPF_F_REPLACE: fall through.
	}
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI,
	}); err != nil {
		return fmt.Errorf("%s.devices: attach the eBPF device filter to %s: %w", res, dir, err)
	}
	for _, p := range old.Programs {
		op, err := ebpf.NewProgramFromID(p.ID)
		if err != nil {
			continue // already gone
		}
		err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: fd, Program: op, Attach: ebpf.AttachCGroupDevice})
		op.Close()
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%s.devices: detach the previous device filter from %s: %w", res, dir, err)
		}
	}
	return nil
}

func loadDeviceFilter(rules []devRule) (*ebpf.Program, error) {
	spec := &ebpf.ProgramSpec{
		Type:         ebpf.CGroupDevice,
		Instructions: deviceFilter(rules),
		License:      "Apache-2.0",
	}
	prog, err := ebpf.NewProgram(spec)
	if errors.Is(err, unix.EPERM) {
		// Before Linux 5.11 BPF memory counts against RLIMIT_MEMLOCK.
		// (Not cilium's rlimit package: it probes the kernel at init, in
		// every skiff process.)
		_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
		prog, err = ebpf.NewProgram(spec)
	}
	return prog, err
}
