//go:build nofaultaround

package containerinit

// Build tag nofaultaround (`make skiff-nofaultaround`): the constructor
// registers the binary's read-only mappings with userfaultfd so that the
// kernel maps them page by page (faultaround.h). For measuring what bounds
// peak RSS; it costs start-up time and saves no memory.

/*
#cgo CFLAGS: -DSKIFF_NO_FAULT_AROUND
*/
import "C"
