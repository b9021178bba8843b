package process

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// A few fields of an ELF file: enough to explain a failed exec (wrong
// machine, missing interpreter). debug/elf would do, but linking it brings
// its DWARF and compression readers and their package initialisation into
// every skiff process, for an error message.

type elfMachine uint16

// Machine numbers (e_machine) a container image commonly carries.
const (
	emNone    elfMachine = 0
	em386     elfMachine = 3
	emMIPS    elfMachine = 8
	emPPC     elfMachine = 20
	emPPC64   elfMachine = 21
	emS390    elfMachine = 22
	emARM     elfMachine = 40
	emX86_64  elfMachine = 62
	emAARCH64 elfMachine = 183
	emRISCV   elfMachine = 243
	emLoong   elfMachine = 258
)

// String spells the machine as debug/elf does ("EM_X86_64").
func (m elfMachine) String() string {
	names := map[elfMachine]string{
		emNone: "EM_NONE", em386: "EM_386", emMIPS: "EM_MIPS", emPPC: "EM_PPC", emPPC64: "EM_PPC64",
		emS390: "EM_S390", emARM: "EM_ARM", emX86_64: "EM_X86_64", emAARCH64: "EM_AARCH64",
		emRISCV: "EM_RISCV", emLoong: "EM_LOONGARCH",
	}
	if n, ok := names[m]; ok {
		return n
	}
	return "machine " + strconv.Itoa(int(m))
}

type elfInfo struct {
	machine elfMachine
	interp  string // PT_INTERP, "" when statically linked
}

const ptInterp = 3

// readELF reads the header and the program headers of an ELF file.
func readELF(r io.ReaderAt) (*elfInfo, error) {
	var id [20]byte
	if _, err := r.ReadAt(id[:], 0); err != nil {
		return nil, fmt.Errorf("short ELF header: %w", err)
	}
	if string(id[:4]) != "\x7fELF" {
		return nil, errors.New("bad ELF magic")
	}
	var bo binary.ByteOrder
	switch id[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("unknown ELF data encoding %d", id[5])
	}
	info := &elfInfo{machine: elfMachine(bo.Uint16(id[18:]))}
	var phoff uint64
	var phentsize, phnum uint16
	switch id[4] {
	case 1: // ELFCLASS32
		var h [52]byte
		if _, err := r.ReadAt(h[:], 0); err != nil {
			return nil, fmt.Errorf("short ELF header: %w", err)
		}
		phoff, phentsize, phnum = uint64(bo.Uint32(h[28:])), bo.Uint16(h[42:]), bo.Uint16(h[44:])
	case 2: // ELFCLASS64
		var h [64]byte
		if _, err := r.ReadAt(h[:], 0); err != nil {
			return nil, fmt.Errorf("short ELF header: %w", err)
		}
		phoff, phentsize, phnum = bo.Uint64(h[32:]), bo.Uint16(h[54:]), bo.Uint16(h[56:])
	default:
		return nil, fmt.Errorf("unknown ELF class %d", id[4])
	}
	if phnum == 0 {
		return info, nil
	}
	if phnum > 4096 || phentsize < 32 || phentsize > 256 {
		return nil, fmt.Errorf("implausible program headers (%d of %d bytes)", phnum, phentsize)
	}
	ph := make([]byte, phentsize)
	for i := uint64(0); i < uint64(phnum); i++ {
		if _, err := r.ReadAt(ph, int64(phoff+i*uint64(phentsize))); err != nil {
			return nil, fmt.Errorf("program header %d: %w", i, err)
		}
		if bo.Uint32(ph) != ptInterp {
			continue
		}
		var off, size uint64
		if id[4] == 1 {
			off, size = uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[16:]))
		} else {
			off, size = bo.Uint64(ph[8:]), bo.Uint64(ph[32:])
		}
		if size == 0 || size > 4096 {
			return nil, fmt.Errorf("implausible interpreter name of %d bytes", size)
		}
		b := make([]byte, size)
		if _, err := r.ReadAt(b, int64(off)); err != nil {
			return nil, fmt.Errorf("interpreter name: %w", err)
		}
		for len(b) > 0 && b[len(b)-1] == 0 {
			b = b[:len(b)-1]
		}
		info.interp = string(b)
		break
	}
	return info, nil
}
