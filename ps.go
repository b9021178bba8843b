package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli"

	"github.com/skiff-runtime/skiff/libct/timerslack"
)

var psCommand = cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container",
	ArgsUsage: "<container-id> [ps options]",
	Description: `With --format table (the default) the host's ps runs with the given options
(default -ef) and only the container's processes are printed. With
--format json the output is a JSON array of their host pids.`,
	SkipArgReorder: true,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "format, f", Value: "table", Usage: "table or json"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, false); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		pids, err := c.Pids()
		if err != nil {
			return err
		}
		switch ctx.String("format") {
		case "json":
			if pids == nil {
				pids = []int{}
			}
			b, err := json.Marshal(pids)
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(append(b, '\n'))
			return err
		case "table":
		default:
			return fmt.Errorf("--format %q: must be table or json", ctx.String("format"))
		}
		args := ctx.Args().Tail()
		if len(args) == 0 {
			args = []string{"-ef"}
		}
		var stdout bytes.Buffer
		cmd := exec.Command("ps", args...)
		cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
		err = timerslack.Start(cmd)
		if err == nil {
			err = cmd.Wait()
		}
		out := stdout.Bytes()
		if err != nil {
			return fmt.Errorf("run ps %s: %w", strings.Join(args, " "), err)
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		col := -1
		for i, f := range strings.Fields(lines[0]) {
			if f == "PID" {
				col = i
			}
		}
		if col < 0 {
			return fmt.Errorf("ps %s: its output has no PID column", strings.Join(args, " "))
		}
		in := map[int]bool{}
		for _, p := range pids {
			in[p] = true
		}
		var b bytes.Buffer
		b.WriteString(lines[0] + "\n")
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) <= col {
				continue
			}
			if p, err := strconv.Atoi(f[col]); err == nil && in[p] {
				b.WriteString(l + "\n")
			}
		}
		_, err = os.Stdout.Write(b.Bytes())
		return err
	},
}
