package process

import "debug/elf"

func nativeMachine() elf.Machine { return elf.EM_X86_64 }

// compatMachine: i386 binaries run on x86-64 kernels with IA32 emulation.
func compatMachine(m elf.Machine) bool { return m == elf.EM_386 }
