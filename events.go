package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli"

	"github.com/skiff-runtime/skiff/libct"
)

var eventsCommand = cli.Command{
	Name:      "events",
	Usage:     "print a container's resource statistics and OOM events as JSON lines",
	ArgsUsage: "<container-id>",
	Description: `Every --interval one {"type":"stats",...} line, and one {"type":"oom"} line
per OOM kill, until the container's cgroup is gone. --stats prints one
stats line and exits.`,
	Flags: []cli.Flag{
		cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "how often to print stats"},
		cli.BoolFlag{Name: "stats", Usage: "print the stats once and exit"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, true); err != nil {
			return err
		}
		interval := ctx.Duration("interval")
		if interval <= 0 {
			return fmt.Errorf("--interval %s: must be greater than 0", interval)
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		if c.Status() == libct.StatusStopped {
			return fmt.Errorf("container with id %s is not running", c.ID)
		}
		m, err := c.Cgroup()
		if err != nil {
			return err
		}
		if m == nil {
			return fmt.Errorf("container %s has no cgroup", c.ID)
		}
		enc := json.NewEncoder(os.Stdout)
		type event struct {
			Type string `json:"type"`
			ID   string `json:"id"`
			Data any    `json:"data,omitempty"`
		}
		emitStats := func() error {
			st, err := m.Stats()
			if err != nil {
				return err
			}
			return enc.Encode(event{Type: "stats", ID: c.ID, Data: st})
		}
		if ctx.Bool("stats") {
			return emitStats()
		}
		stop := make(chan struct{})
		defer close(stop)
		ooms, err := m.OOMEvents(stop)
		if err != nil {
			return err
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if !m.Exists() {
				return nil
			}
			if err := emitStats(); err != nil && m.Exists() {
				return err
			}
			select {
			case _, ok := <-ooms:
				if !ok {
					return nil
				}
				_ = enc.Encode(event{Type: "oom", ID: c.ID})
			case <-tick.C:
			}
		}
	},
}
