package proto

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Init modes.
const (
	ModeStandard = "standard" // a new container's init
	ModeSetns    = "setns"    // a process exec'd into a running container
)

// InitConfig is everything the init needs, sent once by the parent.
// File descriptors are referred to by their number in the init.
type InitConfig struct {
	Mode   string `json:"mode"`
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	// Rootfs is the absolute host path of the root filesystem.
	Rootfs string `json:"rootfs"`
	// Spec is the whole config (standard mode); in setns mode it is the
	// container's config, for its namespaces and defaults.
	Spec *specs.Spec `json:"spec"`
	// Process is what to execute: Spec.Process, or the exec'd process.
	Process *specs.Process `json:"process"`

	NoPivot      bool `json:"noPivot,omitempty"`
	NoNewKeyring bool `json:"noNewKeyring,omitempty"`
	Rootless     bool `json:"rootless,omitempty"`
	Debug        bool `json:"debug,omitempty"`

	// PassFDs fds, 3 .. 3+PassFDs-1, go to the workload (LISTEN_FDS first,
	// then --preserve-fds). Every other fd is closed before execve.
	PassFDs int `json:"passFds,omitempty"`
	// Env is appended to Process.Env (LISTEN_FDS, LISTEN_PID, NOTIFY_SOCKET).
	Env []string `json:"env,omitempty"`

	// ConsoleFd is the connected --console-socket, or -1.
	ConsoleFd int `json:"consoleFd"`
	// FifoFd is an O_PATH fd of exec.fifo (standard mode), or -1.
	FifoFd int `json:"fifoFd"`
	// LogFd is the write end of a pipe for warnings and debug lines, or -1.
	LogFd int `json:"logFd"`

	// CgroupPaths maps controller (v1) or "" (unified) to the container's
	// cgroup directory on the host, for the /sys/fs/cgroup mount.
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`

	// Seccomp is a compiled seccomp.Program, or null.
	Seccomp json.RawMessage `json:"seccomp,omitempty"`

	// State is the OCI state passed to createContainer and startContainer
	// hooks ("creating"/"created", pid 1 as seen from the container).
	State *specs.State `json:"state,omitempty"`
}
