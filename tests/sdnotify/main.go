// Command sdnotify sends its arguments, one per line, as a single
// sd_notify(3) datagram to $NOTIFY_SOCKET. Integration tests copy it into
// busybox bundles, which have no sd_notify client.
package main

import (
	"fmt"
	"net"
	"os"
	"strings"
)

func main() {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" || len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: NOTIFY_SOCKET=path sdnotify VAR=value...")
		os.Exit(2)
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdnotify:", err)
		os.Exit(1)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(os.Args[1:], "\n"))); err != nil {
		fmt.Fprintln(os.Stderr, "sdnotify:", err)
		os.Exit(1)
	}
}
