package main

import (
	"os"

	containerinit "github.com/skiff-runtime/skiff/init"
)

// The hidden `skiff init` verb. It is handled here, before main() and the
// CLI, because the init must do its work on the thread it started on (the
// Go runtime keeps the main goroutine on the main thread during package
// initialisation, and Main locks it for good).
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		containerinit.Main()
	}
}
