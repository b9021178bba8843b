package containerinit

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setns finishes a process exec'd into a running container. The
// constructor joined every namespace of the container's init and its
// cgroup; the rootfs is already the container's.
func (i *initProc) setns() error {
	c := i.cfg
	p := c.Process
	if !c.NoNewKeyring {
		if err := joinSessionKeyring(c.ID, p.SelinuxLabel); err != nil {
			return stage("keyring", err)
		}
	}
	if p.Terminal {
		if err := setupConsole(c.ConsoleFd, p.ConsoleSize, false, int(p.User.UID)); err != nil {
			return stage("console", err)
		}
	}
	umask := 0o022
	if p.User.Umask != nil {
		umask = int(*p.User.Umask)
	}
	unix.Umask(umask)
	var lx *specs.Linux
	if c.Spec != nil {
		lx = c.Spec.Linux
	}
	return i.finish(lx)
}
