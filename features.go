package main

import (
	"encoding/json"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli"

	"github.com/skiff-runtime/skiff/libct/mountopts"
	"github.com/skiff-runtime/skiff/libct/process"
	"github.com/skiff-runtime/skiff/seccomp"
)

var featuresCommand = cli.Command{
	Name:  "features",
	Usage: "print what this runtime supports, as runtime-spec features JSON",
	Description: `Engines read this (containerd refuses idmapped mounts unless it says so,
Docker and containerd look for "rro" in mountOptions): it lists only what
works.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, true); err != nil {
			return err
		}
		yes, no := true, false
		f := features.Features{
			OCIVersionMin: "1.0.0",
			OCIVersionMax: specs.Version,
			Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
			MountOptions:  mountopts.Known(),
			Linux: &features.Linux{
				Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
				Capabilities: process.CapNames(),
				Cgroup: &features.Cgroup{
					V1: &yes, V2: &yes, Systemd: &yes, SystemdUser: &no, Rdma: &yes,
				},
				Seccomp:  seccomp.Features(),
				Apparmor: &features.Apparmor{Enabled: &yes},
				Selinux:  &features.Selinux{Enabled: &yes},
				IntelRdt: &features.IntelRdt{Enabled: &no},
				MountExtensions: &features.MountExtensions{
					IDMap: &features.IDMap{Enabled: &no},
				},
			},
			Annotations: map[string]string{
				"io.github.seccomp.libseccomp.version": seccomp.Version(),
				"org.skiff.version":                    version,
			},
			PotentiallyUnsafeConfigAnnotations: []string{"bundle", "org.systemd.property."},
		}
		if layout != "" {
			f.Annotations["org.skiff.layout"] = layout
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "    ")
		return enc.Encode(f)
	},
}
