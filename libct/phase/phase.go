// Package phase records where skiff's time goes. With SKIFF_TRACE=1 in
// the environment every Mark prints one line to stderr with the
// CLOCK_MONOTONIC time, so lines of the parent and of the init can be put
// on one timeline; otherwise Mark costs one branch.
package phase

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

var enabled = os.Getenv("SKIFF_TRACE") == "1"

// Enabled reports whether tracing is on.
func Enabled() bool { return enabled }

// Mark records that a phase of work ended.
func Mark(what string) {
	if !enabled {
		return
	}
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	fmt.Fprintf(os.Stderr, "skiff-trace %d.%06d pid=%d %s\n", ts.Sec, ts.Nsec/1000, os.Getpid(), what)
}
