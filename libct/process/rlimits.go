package process

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var rlimitNames = map[string]int{
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_STACK": unix.RLIMIT_STACK, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
}

// RlimitValue returns the resource number of an RLIMIT_* name.
func RlimitValue(name string) (int, bool) {
	v, ok := rlimitNames[strings.ToUpper(name)]
	return v, ok
}

// SetRlimits applies process.rlimits to pid from outside (prlimit): raising
// a hard limit needs CAP_SYS_RESOURCE in the initial user namespace, which
// the init no longer has once it is in its own.
func SetRlimits(pid int, rl []specs.POSIXRlimit) error {
	for i, r := range rl {
		res, ok := RlimitValue(r.Type)
		if !ok {
			return fmt.Errorf("process.rlimits[%d].type: unknown rlimit %q", i, r.Type)
		}
		lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(pid, res, &lim, nil); err != nil {
			return fmt.Errorf("process.rlimits[%d] %s soft %d hard %d: prlimit: %w (raising a hard limit needs CAP_SYS_RESOURCE)", i, r.Type, r.Soft, r.Hard, err)
		}
	}
	return nil
}
