package spec

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var nsCloneFlag = map[specs.LinuxNamespaceType]int{
	specs.PIDNamespace: unix.CLONE_NEWPID, specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace: unix.CLONE_NEWNS, specs.IPCNamespace: unix.CLONE_NEWIPC,
	specs.UTSNamespace: unix.CLONE_NEWUTS, specs.UserNamespace: unix.CLONE_NEWUSER,
	specs.CgroupNamespace: unix.CLONE_NEWCGROUP, specs.TimeNamespace: unix.CLONE_NEWTIME,
}

var cloneFlagName = map[int]string{
	unix.CLONE_NEWPID: "pid", unix.CLONE_NEWNET: "network", unix.CLONE_NEWNS: "mount",
	unix.CLONE_NEWIPC: "ipc", unix.CLONE_NEWUTS: "uts", unix.CLONE_NEWUSER: "user",
	unix.CLONE_NEWCGROUP: "cgroup", unix.CLONE_NEWTIME: "time",
}

// checkNSPath opens a namespace path and asks the kernel its type
// (NS_GET_NSTYPE), so a wrong or stale path fails validation instead of
// setns inside the half-made container.
func checkNSPath(path string, t specs.LinuxNamespaceType) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("namespace %s: %s (is the process that owned it gone?)", path, errnoText(err))
	}
	defer f.Close()
	got, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("%s is not a namespace file (NS_GET_NSTYPE: %v)", path, err)
	}
	if want := nsCloneFlag[t]; got != want {
		return fmt.Errorf("%s is a %s namespace, not a %s one", path, cloneFlagName[got], t)
	}
	return nil
}
