package spec

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/process"
)

// ValidateProcess checks a process (process of config.json, or the
// --process of exec); path is its JSON path for messages.
func ValidateProcess(p *specs.Process, path string) Errors {
	var e Errors
	if p == nil {
		e.Add(path, "is required")
		return e
	}
	if len(p.Args) == 0 && p.CommandLine == "" {
		e.Add(path+".args", "must not be empty: the command to run in the container")
	} else if len(p.Args) > 0 && p.Args[0] == "" {
		e.Add(path+".args[0]", "must not be empty")
	}
	if p.CommandLine != "" {
		e.Add(path+".commandLine", "is for Windows containers")
	}
	switch {
	case p.Cwd == "":
		e.Add(path+".cwd", "is required (an absolute path inside the container, e.g. \"/\")")
	case !filepath.IsAbs(p.Cwd):
		e.Add(path+".cwd", "%q must be an absolute path", p.Cwd)
	}
	for i, env := range p.Env {
		name, _, ok := strings.Cut(env, "=")
		switch {
		case !ok:
			e.Add(fmt.Sprintf("%s.env[%d]", path, i), "%q is not KEY=value", env)
		case name == "":
			e.Add(fmt.Sprintf("%s.env[%d]", path, i), "%q has an empty name", env)
		case strings.ContainsRune(env, 0):
			e.Add(fmt.Sprintf("%s.env[%d]", path, i), "must not contain NUL")
		}
	}
	if c := p.Capabilities; c != nil {
		for _, set := range []struct {
			name  string
			names []string
		}{{"bounding", c.Bounding}, {"effective", c.Effective}, {"inheritable", c.Inheritable}, {"permitted", c.Permitted}, {"ambient", c.Ambient}} {
			for i, n := range set.names {
				if _, ok := process.CapValue(n); !ok {
					e.Add(fmt.Sprintf("%s.capabilities.%s[%d]", path, set.name, i), "unknown capability %q (names like CAP_NET_ADMIN; `skiff features` lists them)", n)
				}
			}
		}
	}
	seen := map[string]bool{}
	for i, r := range p.Rlimits {
		field := fmt.Sprintf("%s.rlimits[%d]", path, i)
		if _, ok := process.RlimitValue(r.Type); !ok {
			e.Add(field+".type", "unknown rlimit %q (RLIMIT_NOFILE, RLIMIT_NPROC, ...)", r.Type)
			continue
		}
		if seen[strings.ToUpper(r.Type)] {
			e.Add(field+".type", "%s is listed twice", r.Type)
		}
		seen[strings.ToUpper(r.Type)] = true
		if r.Soft > r.Hard {
			e.Add(field, "soft limit %d is above the hard limit %d", r.Soft, r.Hard)
		}
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		e.Add(path+".oomScoreAdj", "%d is outside -1000..1000", *p.OOMScoreAdj)
	}
	if s := p.Scheduler; s != nil {
		switch s.Policy {
		case specs.SchedOther, specs.SchedFIFO, specs.SchedRR, specs.SchedBatch, specs.SchedISO, specs.SchedIdle, specs.SchedDeadline:
		default:
			e.Add(path+".scheduler.policy", "unknown policy %q", s.Policy)
		}
		if s.Nice < -20 || s.Nice > 19 {
			e.Add(path+".scheduler.nice", "%d is outside -20..19", s.Nice)
		}
	}
	// Asking for an LSM the host does not run is an error, as in runc: the
	// container would otherwise run unconfined without anyone noticing.
	if p.ApparmorProfile != "" && !process.AppArmorEnabled() {
		e.Add(path+".apparmorProfile", "profile %q requested, but AppArmor is not enabled on this host (drop the field)", p.ApparmorProfile)
	}
	if p.SelinuxLabel != "" && !process.SELinuxEnabled() {
		e.Add(path+".selinuxLabel", "label %q requested, but SELinux is not enabled on this host (drop the field)", p.SelinuxLabel)
	}
	if io := p.IOPriority; io != nil {
		switch io.Class {
		case specs.IOPRIO_CLASS_RT, specs.IOPRIO_CLASS_BE, specs.IOPRIO_CLASS_IDLE:
		default:
			e.Add(path+".ioPriority.class", "unknown class %q (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", io.Class)
		}
		if io.Priority < 0 || io.Priority > 7 {
			e.Add(path+".ioPriority.priority", "%d is outside 0..7", io.Priority)
		}
	}
	return e
}
