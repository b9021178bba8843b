// Command mkbundle makes an OCI bundle with a busybox root filesystem, for
// the demo, the benchmark and the engine tests:
//
//	mkbundle [-busybox /bin/busybox] [-tar out.tar] DIR [ARGS...]
//
// DIR/rootfs gets busybox and a symlink per applet, /etc/passwd and
// /etc/group; DIR/config.json is `skiff spec`'s example without a terminal,
// running ARGS (default: sh).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/skiff-runtime/skiff/libct/spec"
	"github.com/skiff-runtime/skiff/tests/rootfs"
)

func main() {
	busybox := flag.String("busybox", "/bin/busybox", "a static busybox binary")
	tarOut := flag.String("tar", "", "also write the rootfs as a tar archive to this path")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: mkbundle [-busybox PATH] [-tar FILE] DIR [ARGS...]")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if err := rootfs.Busybox(dir+"/rootfs", *busybox); err != nil {
		fmt.Fprintln(os.Stderr, "mkbundle:", err)
		os.Exit(1)
	}
	if *tarOut != "" {
		if err := rootfs.Tar(dir+"/rootfs", *tarOut); err != nil {
			fmt.Fprintln(os.Stderr, "mkbundle:", err)
			os.Exit(1)
		}
	}
	s := spec.Example(false)
	s.Process.Terminal = false
	if flag.NArg() > 1 {
		s.Process.Args = flag.Args()[1:]
	}
	b, _ := json.MarshalIndent(s, "", "\t")
	if err := os.WriteFile(dir+"/config.json", b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mkbundle:", err)
		os.Exit(1)
	}
}
