// Package containerinit is the inside of a container's init and of exec'd
// processes: `skiff init`.
//
// Its C constructor (nsenter.c) runs in every skiff invocation before the Go
// runtime starts: it raises the process's timer slack (libct/timerslack), and
// returns at once unless it was started as an init (it then enters the
// namespaces, see nsenter.c), as a parked init (park.h), or as `skiff start`,
// `list` or `delete`, which it does itself when it can (faststart.h,
// fastlist.h, fastdelete.h). The Go side (Main) finishes the
// set-up inside the container and execs the workload.
package containerinit

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
extern unsigned long skiff_caller_timerslack;
extern char *skiff_fast_error;
extern const char *skiff_build_id(void);
*/
import "C"

import (
	"github.com/skiff-runtime/skiff/libct/selfexe"
	"github.com/skiff-runtime/skiff/libct/timerslack"
)

// The constructor raised this process's timer slack and recorded the
// caller's, which everything skiff starts for others gets back. The
// binary's build ID is read (from memory) when it is asked for.
func init() {
	timerslack.SetCaller(uint64(C.skiff_caller_timerslack))
	selfexe.BuildID = func() string { return C.GoString(C.skiff_build_id()) }
}

// FastError is the error of a `skiff start` or `exec` its constructor did
// and that failed after the point where Go could not start over (the
// container's init released, the workload started: faststart.h,
// execparent.h); ok is false when the constructor left the verb to Go.
func FastError() (msg string, ok bool) {
	if C.skiff_fast_error == nil {
		return "", false
	}
	return C.GoString(C.skiff_fast_error), true
}
