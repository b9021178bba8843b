package spec

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ipcSysctls are the System V IPC knobs an IPC namespace owns.
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// sysctls accepts only namespaced sysctls, each with the namespace that
// owns it (CVE-2022-0811: a host-global key written by the container's
// init changes the host).
func (v *validator) sysctls() {
	for key, val := range v.s.Linux.Sysctl {
		field := "linux.sysctl[" + quote(key) + "]"
		if strings.ContainsAny(key, "\n\x00 ") || strings.Contains(key, "..") || strings.HasPrefix(key, ".") || strings.HasPrefix(key, "/") {
			v.e.Add(field, "not a sysctl name")
			continue
		}
		if strings.ContainsAny(val, "\n\x00") {
			v.e.Add(field, "the value must not contain a newline or NUL")
		}
		k := strings.ReplaceAll(key, "/", ".")
		switch {
		case ipcSysctls[k] || strings.HasPrefix(k, "fs.mqueue."):
			if !v.newNS(specs.IPCNamespace) {
				v.e.Add(field, "needs a private ipc namespace (add {\"type\": \"ipc\"} to linux.namespaces)")
			}
		case strings.HasPrefix(k, "net."):
			if !v.hasNS(specs.NetworkNamespace) {
				v.e.Add(field, "needs a network namespace that is not the host's (add {\"type\": \"network\"} to linux.namespaces)")
			} else if v.joinsHostNS(specs.NetworkNamespace, "net") {
				v.e.Add(field, "linux.namespaces joins the host's network namespace: the sysctl would change the host")
			}
		case k == "kernel.domainname":
			if !v.hasNS(specs.UTSNamespace) {
				v.e.Add(field, "needs a private uts namespace")
			}
		case k == "kernel.hostname":
			v.e.Add(field, "set the hostname with the \"hostname\" field instead")
		case strings.HasPrefix(k, "user."):
			if !v.hasNS(specs.UserNamespace) {
				v.e.Add(field, "needs a user namespace")
			}
		default:
			v.e.Add(field, "is not a namespaced sysctl: it would change the whole host (only kernel.msg*/sem/shm*, fs.mqueue.*, net.*, kernel.domainname and user.* are allowed)")
		}
	}
}

func quote(s string) string { return "\"" + s + "\"" }
