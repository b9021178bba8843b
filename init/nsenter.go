// Package containerinit is the inside of a container's init and of exec'd
// processes: `skiff init`.
//
// Its C constructor (nsenter.c) runs in every skiff invocation before the Go
// runtime starts: it raises the process's timer slack (libct/timerslack), and
// returns at once unless it was started as an init; then it enters the
// namespaces (see nsenter.c). The Go side (Main) finishes the
// set-up inside the container and execs the workload.
package containerinit

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
extern unsigned long skiff_caller_timerslack;
*/
import "C"

import "github.com/skiff-runtime/skiff/libct/timerslack"

// The constructor raised this process's timer slack and recorded the
// caller's, which everything skiff starts for others gets back.
func init() { timerslack.SetCaller(uint64(C.skiff_caller_timerslack)) }
