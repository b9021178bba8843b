package process

func nativeMachine() elfMachine { return emX86_64 }

// compatMachine: i386 binaries run on x86-64 kernels with IA32 emulation.
func compatMachine(m elfMachine) bool { return m == em386 }
