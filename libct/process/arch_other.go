//go:build !amd64

package process

import "debug/elf"

func nativeMachine() elf.Machine { return elf.EM_NONE }

func compatMachine(m elf.Machine) bool { return false }
