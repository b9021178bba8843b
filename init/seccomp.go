package containerinit

import (
	"encoding/json"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct/proto"
	"github.com/skiff-runtime/skiff/seccomp"
)

// loadSeccompProgram decodes the program the parent compiled.
func loadSeccompProgram(raw json.RawMessage) (*seccomp.Program, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	p := new(seccomp.Program)
	if err := p.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("decode the compiled seccomp program: %w", err)
	}
	return p, nil
}

// loadSeccomp installs the filter on this thread. A notify listener fd is
// handed to the parent by number: the parent copies it with pidfd_getfd,
// because sending it ourselves with sendmsg could itself be a trapped
// syscall and deadlock.
func (i *initProc) loadSeccomp(p *seccomp.Program) error {
	fd, err := p.Load()
	if err != nil {
		return stage("seccomp", fmt.Errorf("linux.seccomp: load the filter: %w", err))
	}
	if fd < 0 {
		return nil
	}
	if err := i.conn.Send(&proto.Message{Type: proto.TypeSeccomp, Fd: fd}); err != nil {
		return stage("seccomp", err)
	}
	if _, _, err := i.conn.Expect(proto.TypeOK); err != nil {
		return stage("seccomp", err)
	}
	unix.Close(fd)
	return nil
}
