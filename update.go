package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

var updateCommand = cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a running container",
	ArgsUsage: "<container-id>",
	Description: `With --resources FILE (or - for stdin) the limits come from a runtime-spec
LinuxResources JSON (what docker, podman and containerd send) and the other
flags are ignored. Otherwise each flag changes one value; the rest stay.
Sizes take units (512m, 1g); -1 means unlimited. Device rules are never
changed by update.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "resources, r", Usage: "path to a LinuxResources JSON file, or - for stdin"},
		cli.StringFlag{Name: "blkio-weight", Usage: "block I/O weight, 10 to 1000"},
		cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period (microseconds)"},
		cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota (microseconds)"},
		cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst (microseconds)"},
		cli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight)"},
		cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU real-time period (microseconds)"},
		cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU real-time runtime (microseconds)"},
		cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to run on (0-3, 0,1)"},
		cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use (0-3, 0,1)"},
		cli.StringFlag{Name: "cpu-idle", Usage: "1 to make the cgroup SCHED_IDLE (cgroup v2)"},
		cli.StringFlag{Name: "memory", Usage: "memory limit"},
		cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit"},
		cli.StringFlag{Name: "pids-limit", Usage: "maximum number of processes"},
		cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT L3 cache schema"},
		cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT memory bandwidth schema"},
		cli.StringFlag{Name: "kernel-memory", Hidden: true},
		cli.StringFlag{Name: "kernel-memory-tcp", Hidden: true},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, true); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		r, err := updateResources(ctx)
		if err != nil {
			return err
		}
		return c.Update(r)
	},
}

func updateResources(ctx *cli.Context) (*specs.LinuxResources, error) {
	if path := ctx.String("resources"); path != "" {
		var in io.Reader = os.Stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("--resources: %w", err)
			}
			defer f.Close()
			in = f
		}
		r := new(specs.LinuxResources)
		if err := json.NewDecoder(in).Decode(r); err != nil {
			return nil, fmt.Errorf("--resources %s: not a LinuxResources JSON: %w", path, err)
		}
		return r, nil
	}
	if ctx.String("l3-cache-schema") != "" || ctx.String("mem-bw-schema") != "" {
		return nil, errors.New("--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported on this host (no resctrl filesystem)")
	}
	for _, opt := range []string{"kernel-memory", "kernel-memory-tcp"} {
		if ctx.String(opt) != "" {
			logrus.Warnf("--%s is ignored: kernel memory limits no longer exist in Linux", opt)
		}
	}
	r := &specs.LinuxResources{}
	u64 := func(name string) (*uint64, error) {
		s := ctx.String(name)
		if s == "" {
			return nil, nil
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: not a non-negative integer", name, s)
		}
		return &v, nil
	}
	i64 := func(name string) (*int64, error) {
		s := ctx.String(name)
		if s == "" {
			return nil, nil
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: not an integer", name, s)
		}
		return &v, nil
	}
	size := func(name string) (*int64, error) {
		s := ctx.String(name)
		if s == "" {
			return nil, nil
		}
		v, err := parseSize(s)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", name, s, err)
		}
		return &v, nil
	}
	var err error
	cpu := &specs.LinuxCPU{Cpus: ctx.String("cpuset-cpus"), Mems: ctx.String("cpuset-mems")}
	if cpu.Shares, err = u64("cpu-share"); err != nil {
		return nil, err
	}
	if cpu.Period, err = u64("cpu-period"); err != nil {
		return nil, err
	}
	if cpu.Quota, err = i64("cpu-quota"); err != nil {
		return nil, err
	}
	if cpu.Burst, err = u64("cpu-burst"); err != nil {
		return nil, err
	}
	if cpu.RealtimePeriod, err = u64("cpu-rt-period"); err != nil {
		return nil, err
	}
	if cpu.RealtimeRuntime, err = i64("cpu-rt-runtime"); err != nil {
		return nil, err
	}
	if cpu.Idle, err = i64("cpu-idle"); err != nil {
		return nil, err
	}
	if cpu.Idle != nil && cpu.Shares == nil {
		// runc: an idle cgroup ignores shares; setting idle alone resets them.
		zero := uint64(0)
		cpu.Shares = &zero
	}
	r.CPU = cpu
	mem := &specs.LinuxMemory{}
	if mem.Limit, err = size("memory"); err != nil {
		return nil, err
	}
	if mem.Reservation, err = size("memory-reservation"); err != nil {
		return nil, err
	}
	if mem.Swap, err = size("memory-swap"); err != nil {
		return nil, err
	}
	if mem.Limit != nil && *mem.Limit == -1 && mem.Swap == nil {
		// As runc: "memory unlimited" means memory and swap unlimited.
		unlimited := int64(-1)
		mem.Swap = &unlimited
	}
	r.Memory = mem
	if s := ctx.String("blkio-weight"); s != "" {
		w, err := strconv.ParseUint(s, 10, 16)
		if err != nil || w < 10 || w > 1000 {
			return nil, fmt.Errorf("--blkio-weight %q: must be between 10 and 1000", s)
		}
		w16 := uint16(w)
		r.BlockIO = &specs.LinuxBlockIO{Weight: &w16}
	}
	if lim, err := i64("pids-limit"); err != nil {
		return nil, err
	} else if lim != nil {
		r.Pids = &specs.LinuxPids{Limit: lim}
	}
	return r, nil
}

// parseSize reads sizes like docker and runc do: a number with an optional
// k, m, g, t or p suffix (powers of 1024, "b" optional), or -1.
func parseSize(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		case 'p':
			mult = 1 << 50
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 {
		return 0, errors.New("not a size (examples: 512m, 1g, 1048576, -1)")
	}
	return int64(v * float64(mult)), nil
}
