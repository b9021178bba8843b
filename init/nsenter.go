// Package containerinit is the inside of a container's init and of exec'd
// processes: `skiff init`.
//
// Its C constructor (nsenter.c) runs in every skiff invocation before the Go
// runtime starts and returns at once unless it was started as an init; then
// it enters the namespaces (see nsenter.c). The Go side (Main) finishes the
// set-up inside the container and execs the workload.
package containerinit

// #cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
import "C"
