//go:build !amd64

package process

func nativeMachine() elfMachine { return emNone }

func compatMachine(m elfMachine) bool { return false }
