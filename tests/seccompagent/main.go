// Command seccompagent is a small seccomp notify agent for tests, and a
// reference for the protocol skiff speaks to linux.seccomp.listenerPath:
// skiff connects to the agent's unix stream socket and sends one message,
// the container process state JSON (ociVersion, fds, pid, metadata, state)
// with the listener fd in SCM_RIGHTS at the index of "seccompFd" in fds.
// The agent then answers the container's notified syscalls on that fd.
//
//	seccompagent -socket /run/agent.sock -syscalls mkdir,mkdirat -errno 123 -state states.jsonl
//
// Notified syscalls named in -syscalls get -errno (0: success without
// running the syscall); all others continue as if not notified. Each
// state received is appended to -state as a JSON line, and each answer is
// logged to stderr.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	// Linked with musl, libseccomp's archive needs the one glibc symbol
	// this package supplies (seccomp/fortify.go).
	_ "github.com/skiff-runtime/skiff/seccomp"
)

func main() {
	socket := flag.String("socket", "", "unix socket to listen on (the profile's listenerPath)")
	names := flag.String("syscalls", "mkdir,mkdirat", "comma-separated syscalls to answer; others continue")
	errno := flag.Int("errno", int(unix.EPERM), "errno for the answered syscalls; 0 fakes success")
	statePath := flag.String("state", "", "append each container process state received to this file")
	flag.Parse()
	if *socket == "" {
		log.Fatal("seccompagent: -socket is required")
	}
	answer := make(map[string]bool)
	for _, n := range strings.Split(*names, ",") {
		answer[strings.TrimSpace(n)] = true
	}
	os.Remove(*socket)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: *socket, Net: "unix"})
	if err != nil {
		log.Fatalf("seccompagent: listen: %v", err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, unix.SIGTERM, unix.SIGINT)
		<-sig
		l.Close()
		os.Exit(0)
	}()
	a := &agent{answer: answer, errno: *errno, statePath: *statePath}
	fmt.Fprintln(os.Stderr, "seccompagent: listening on", *socket)
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			log.Fatalf("seccompagent: accept: %v", err)
		}
		go a.serve(c)
	}
}

type agent struct {
	answer    map[string]bool
	errno     int
	statePath string
	mu        sync.Mutex
}

// serve reads the one message of a connection and answers the listener.
func (a *agent) serve(c *net.UnixConn) {
	defer c.Close()
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		log.Printf("seccompagent: read: %v", err)
		return
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if f, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		log.Printf("seccompagent: the message is not a container process state: %v", err)
		return
	}
	a.record(buf[:n])
	fd := -1
	for i, name := range st.Fds {
		if name == specs.SeccompFdName && i < len(fds) {
			fd = fds[i]
		}
	}
	if fd < 0 {
		log.Printf("seccompagent: no %s among %v (got %d fds)", specs.SeccompFdName, st.Fds, len(fds))
		return
	}
	defer unix.Close(fd)
	fmt.Fprintf(os.Stderr, "seccompagent: container %s pid %d (%s): listening\n", st.State.ID, st.Pid, st.State.Status)
	for {
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
		if err != nil {
			// ENOENT: the filtered processes are gone.
			return
		}
		name, _ := req.Data.Syscall.GetNameByArch(req.Data.Arch)
		resp := &libseccomp.ScmpNotifResp{ID: req.ID}
		what := "continue"
		if a.answer[name] {
			// libseccomp-golang negates Error for the kernel.
			resp.Error = int32(a.errno)
			what = fmt.Sprintf("errno %d", a.errno)
		} else {
			resp.Flags = libseccomp.NotifRespFlagContinue
		}
		// The process may have died while we looked.
		if libseccomp.NotifIDValid(libseccomp.ScmpFd(fd), req.ID) != nil {
			continue
		}
		if err := libseccomp.NotifRespond(libseccomp.ScmpFd(fd), resp); err != nil {
			log.Printf("seccompagent: respond to %s: %v", name, err)
			continue
		}
		fmt.Fprintf(os.Stderr, "seccompagent: %s from pid %d: %s\n", name, req.Pid, what)
	}
}

func (a *agent) record(msg []byte) {
	if a.statePath == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.statePath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		log.Printf("seccompagent: %v", err)
		return
	}
	defer f.Close()
	f.Write(append(msg, '\n'))
}
