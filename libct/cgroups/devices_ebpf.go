package cgroups

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The cgroup v2 device filter is a BPF_PROG_TYPE_CGROUP_DEVICE program of
// a few dozen instructions, from eight opcodes. It is assembled and loaded
// here with the bpf(2) syscall directly: a general eBPF library (cilium/ebpf,
// with its BTF, ELF and DWARF readers) cost every skiff process 1.7 MB of
// binary and ~0.2 ms of package initialisation, for this one program.

// Constants of struct bpf_cgroup_dev_ctx: access_type holds the device
// type in its low 16 bits and the access bits above them.
const (
	bpfDevBlock = unix.BPF_DEVCG_DEV_BLOCK
	bpfDevChar  = unix.BPF_DEVCG_DEV_CHAR
	bpfAccMknod = unix.BPF_DEVCG_ACC_MKNOD
	bpfAccRead  = unix.BPF_DEVCG_ACC_READ
	bpfAccWrite = unix.BPF_DEVCG_ACC_WRITE
	bpfAccAll   = bpfAccMknod | bpfAccRead | bpfAccWrite
)

// Opcodes used by the filter.
const (
	opLdxW    = unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W // dst = *(u32 *)(src + off)
	opMov32R  = unix.BPF_ALU | unix.BPF_MOV | unix.BPF_X // dst = src (32 bit)
	opMov32K  = unix.BPF_ALU | unix.BPF_MOV | unix.BPF_K // dst = imm (32 bit)
	opAnd32K  = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K // dst &= imm
	opRsh32K  = unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K // dst >>= imm
	opJeqK    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K // if dst == imm goto pc+1+off
	opJneK    = unix.BPF_JMP | unix.BPF_JNE | unix.BPF_K // if dst != imm goto pc+1+off
	opExit    = unix.BPF_JMP | unix.BPF_EXIT             // return r0
	regR0     = 0
	regR1     = 1
	regR2     = 2
	regR3     = 3
	regR4     = 4
	regR5     = 5
	nextBlock = -1 // jump target placeholder: the start of the next rule's block
)

// bpfInsn is struct bpf_insn: dst in the low nibble of regs, src in the high.
type bpfInsn struct {
	Code uint8
	Regs uint8
	Off  int16
	Imm  int32
}

func insn(code, dst, src uint8, off int16, imm int32) bpfInsn {
	return bpfInsn{Code: code, Regs: dst | src<<4, Off: off, Imm: imm}
}

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
func deviceFilter(rules []devRule) []bpfInsn {
	p := []bpfInsn{
		insn(opLdxW, regR2, regR1, 0, 0), // access_type
		insn(opMov32R, regR3, regR2, 0, 0),
		insn(opAnd32K, regR3, 0, 0, 0xffff),
		insn(opRsh32K, regR2, 0, 0, 16),
		insn(opLdxW, regR4, regR1, 4, 0), // major
		insn(opLdxW, regR5, regR1, 8, 0), // minor
	}
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		var b []bpfInsn
		if r.Type != 'a' {
			t := int32(bpfDevChar)
			if r.Type == 'b' {
				t = bpfDevBlock
			}
			b = append(b, insn(opJneK, regR3, 0, nextBlock, t))
		}
		// Numbers count for type 'a' too (as in devAllowed, and runc's
		// v2 filter); only the v1 file format cannot express that.
		if r.Major != wildcard {
			b = append(b, insn(opJneK, regR4, 0, nextBlock, int32(r.Major)))
		}
		if r.Minor != wildcard {
			b = append(b, insn(opJneK, regR5, 0, nextBlock, int32(r.Minor)))
		}
		acc := bpfAccess(r.Access)
		if r.Allow {
			// Allow when no requested bit is outside the rule's.
			b = append(b,
				insn(opMov32R, regR1, regR2, 0, 0),
				insn(opAnd32K, regR1, 0, 0, ^acc&bpfAccAll),
				insn(opJneK, regR1, 0, nextBlock, 0),
				insn(opMov32K, regR0, 0, 0, 1),
				insn(opExit, 0, 0, 0, 0),
			)
		} else {
			// Deny when any requested bit is the rule's.
			b = append(b,
				insn(opMov32R, regR1, regR2, 0, 0),
				insn(opAnd32K, regR1, 0, 0, acc),
				insn(opJeqK, regR1, 0, nextBlock, 0),
				insn(opMov32K, regR0, 0, 0, 0),
				insn(opExit, 0, 0, 0, 0),
			)
		}
		// Jumps to the next block skip the rest of this one.
		for j := range b {
			if b[j].Off == nextBlock && (b[j].Code == opJneK || b[j].Code == opJeqK) {
				b[j].Off = int16(len(b) - j - 1)
			}
		}
		p = append(p, b...)
	}
	return append(p, insn(opMov32K, regR0, 0, 0, 0), insn(opExit, 0, 0, 0, 0))
}

func bpfCall(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// The parts of union bpf_attr each command reads; the kernel zero-fills
// the rest of the union.
type progLoadAttr struct {
	ProgType    uint32
	InsnCnt     uint32
	Insns       uint64
	License     uint64
	LogLevel    uint32
	LogSize     uint32
	LogBuf      uint64
	KernVersion uint32
	ProgFlags   uint32
}

type progAttachAttr struct {
	TargetFd     uint32
	AttachBpfFd  uint32
	AttachType   uint32
	AttachFlags  uint32
	ReplaceBpfFd uint32
}

type progQueryAttr struct {
	TargetFd    uint32
	AttachType  uint32
	QueryFlags  uint32
	AttachFlags uint32
	ProgIDs     uint64
	ProgCnt     uint32
	_           uint32
}

// loadProgram loads a device program and returns its fd. When the kernel
// refuses it, the verifier's log is part of the error.
func loadProgram(p []bpfInsn) (int, error) {
	license := []byte("Apache-2.0\x00")
	attr := progLoadAttr{
		ProgType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		InsnCnt:  uint32(len(p)),
		Insns:    uint64(uintptr(unsafe.Pointer(&p[0]))),
		License:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	fd, err := progLoad(&attr)
	if errors.Is(err, unix.EPERM) {
		// Before Linux 5.11 BPF memory counts against RLIMIT_MEMLOCK.
		_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
		fd, err = progLoad(&attr)
	}
	if err != nil && !errors.Is(err, unix.EPERM) {
		log := make([]byte, 64<<10)
		attr.LogLevel, attr.LogSize = 1, uint32(len(log))
		attr.LogBuf = uint64(uintptr(unsafe.Pointer(&log[0])))
		if _, lerr := progLoad(&attr); lerr != nil {
			if n := clen(log); n > 0 {
				err = fmt.Errorf("%w (verifier: %s)", err, log[:n])
			}
		}
		runtime.KeepAlive(log)
	}
	runtime.KeepAlive(p)
	runtime.KeepAlive(license)
	return fd, err
}

// progLoadAttempts bounds the retries of an interrupted verification.
const progLoadAttempts = 10

// progLoad is BPF_PROG_LOAD, again when the verifier gave up because a
// signal arrived (EAGAIN, see bpf(2)): the Go runtime preempts threads
// with SIGURG, and on a slow machine the verifier of even a small program
// is sometimes interrupted ("load the eBPF device filter: resource
// temporarily unavailable", seen in the emulated test VM). libbpf and
// cilium/ebpf retry the same way.
func progLoad(attr *progLoadAttr) (int, error) {
	for i := 1; ; i++ {
		fd, err := bpfCall(unix.BPF_PROG_LOAD, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
		if !errors.Is(err, unix.EAGAIN) || i == progLoadAttempts {
			return fd, err
		}
	}
}

func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

// queryDevicePrograms lists the ids of the device programs attached to
// the cgroup directory fd.
func queryDevicePrograms(cgfd int) ([]uint32, error) {
	ids := make([]uint32, 64)
	for {
		attr := progQueryAttr{
			TargetFd:   uint32(cgfd),
			AttachType: unix.BPF_CGROUP_DEVICE,
			ProgIDs:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
			ProgCnt:    uint32(len(ids)),
		}
		_, err := bpfCall(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(ids)
		if errors.Is(err, unix.ENOSPC) && int(attr.ProgCnt) > len(ids) {
			ids = make([]uint32, attr.ProgCnt)
			continue
		}
		if err != nil {
			return nil, err
		}
		return ids[:attr.ProgCnt], nil
	}
}

func progFdByID(id uint32) (int, error) {
	attr := struct{ ID, NextID, OpenFlags uint32 }{ID: id}
	return bpfCall(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
}

func attachProgram(cgfd, progfd int, flags uint32, replacefd int) error {
	attr := progAttachAttr{TargetFd: uint32(cgfd), AttachBpfFd: uint32(progfd), AttachType: unix.BPF_CGROUP_DEVICE, AttachFlags: flags}
	if replacefd >= 0 {
		attr.ReplaceBpfFd = uint32(replacefd)
	}
	_, err := bpfCall(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

func detachProgram(cgfd, progfd int) error {
	attr := progAttachAttr{TargetFd: uint32(cgfd), AttachBpfFd: uint32(progfd), AttachType: unix.BPF_CGROUP_DEVICE}
	_, err := bpfCall(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	return err
}

// setDevicesV2 loads the filter for rules and attaches it to the cgroup,
// replacing the device programs attached there before: atomically with
// BPF_F_REPLACE when there is exactly one, else attach-new-then-detach-old
// so that the cgroup is never without a filter (PITFALLS 8).
func setDevicesV2(dir string, rules []devRule) error {
	prog, err := loadProgram(deviceFilter(rules))
	if err != nil {
		return fmt.Errorf("%s.devices: load the eBPF device filter: %w", res, err)
	}
	defer unix.Close(prog)
	d, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return newFileError(res+".devices", "open", dir, err)
	}
	defer d.Close()
	fd := int(d.Fd())
	old, err := queryDevicePrograms(fd)
	if err != nil {
		return fmt.Errorf("%s.devices: query the device programs of %s: %w", res, dir, err)
	}
	if len(old) == 1 {
		if ofd, err := progFdByID(old[0]); err == nil {
			err = attachProgram(fd, prog, unix.BPF_F_ALLOW_MULTI|unix.BPF_F_REPLACE, ofd)
			unix.Close(ofd)
			if err == nil {
				return nil
			}
		}
		// Kernels before 5.6 have no BPF_F_REPLACE: fall through.
	}
	if err := attachProgram(fd, prog, unix.BPF_F_ALLOW_MULTI, -1); err != nil {
		return fmt.Errorf("%s.devices: attach the eBPF device filter to %s: %w", res, dir, err)
	}
	for _, id := range old {
		ofd, err := progFdByID(id)
		if err != nil {
			continue // already gone
		}
		err = detachProgram(fd, ofd)
		unix.Close(ofd)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("%s.devices: detach the previous device filter from %s: %w", res, dir, err)
		}
	}
	return nil
}
