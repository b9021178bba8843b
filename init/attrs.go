package containerinit

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/process"
)

// applyProcessAttrs sets what must be set while still privileged and
// before seccomp: personality, scheduler, I/O priority.
func applyProcessAttrs(p *specs.Process, lx *specs.Linux) error {
	if lx != nil {
		if err := process.Personality(lx.Personality); err != nil {
			return err
		}
	}
	if err := process.Scheduler(p.Scheduler); err != nil {
		return err
	}
	return process.IOPriority(p.IOPriority)
}
