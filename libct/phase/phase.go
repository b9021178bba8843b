// Package phase records where skiff's time goes. With SKIFF_TRACE=1 in
// the environment every Mark prints one line to stderr with the
// CLOCK_MONOTONIC time, so lines of the parent and of the init can be put
// on one timeline (and with perf's -k CLOCK_MONOTONIC events: see
// bench/phases.sh), and the process's CPU time in ms; otherwise Mark costs
// one branch.
//
// For crash-consistency tests, SKIFF_TEST_HANG=<mark> makes the process
// that reaches that mark stop there (after printing it), so a test can
// SIGKILL skiff at a known point and check that delete --force cleans up.
package phase

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

var (
	enabled = os.Getenv("SKIFF_TRACE") == "1"
	hangAt  = os.Getenv("SKIFF_TEST_HANG")
)

// Enabled reports whether tracing (or a test hang point) is on; the init
// inherits the setting.
func Enabled() bool { return enabled || hangAt != "" }

// Env returns the variables that pass the setting to the init.
func Env() []string {
	var env []string
	if enabled {
		env = append(env, "SKIFF_TRACE=1")
	}
	if hangAt != "" {
		env = append(env, "SKIFF_TEST_HANG="+hangAt)
	}
	return env
}

// Mark records that a phase of work ended.
func Mark(what string) {
	if !enabled && hangAt == "" {
		return
	}
	var ts, cpu unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	// The process's CPU time so far (all threads): on a busy machine the
	// wall-clock gaps between marks include waiting for a CPU, this does not.
	_ = unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &cpu)
	if enabled || what == hangAt {
		fmt.Fprintf(os.Stderr, "skiff-trace %d.%06d pid=%d cpu=%d.%03d %s\n", ts.Sec, ts.Nsec/1000, os.Getpid(),
			cpu.Sec*1000+cpu.Nsec/1000000, cpu.Nsec/1000%1000, what)
	}
	if what == hangAt {
		for {
			unix.Pause()
		}
	}
}
