package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli"

	"github.com/skiff-runtime/skiff/libct"
)

var listCommand = cli.Command{
	Name:  "list",
	Usage: "list the containers in the state root",
	Flags: []cli.Flag{
		cli.StringFlag{Name: "format, f", Value: "table", Usage: "table or json"},
		cli.BoolFlag{Name: "quiet, q", Usage: "print only the container ids"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, true); err != nil {
			return err
		}
		g := globalOptions(ctx)
		states, err := listStates(g, ctx.GlobalIsSet("root"))
		if err != nil {
			return err
		}
		if ctx.Bool("quiet") {
			var b strings.Builder
			for _, s := range states {
				b.WriteString(s.ID + "\n")
			}
			_, err := os.Stdout.WriteString(b.String())
			return err
		}
		switch ctx.String("format") {
		case "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		case "json":
			// runc prints "null" for no containers; go-runc accepts it.
			b, err := json.Marshal(states)
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(append(b, '\n'))
			return err
		default:
			return fmt.Errorf("--format %q: must be table or json", ctx.String("format"))
		}
	},
}

// listStates reads every container of the root. It reads only each small
// state file and a few /proc and cgroup files: no config is parsed.
func listStates(g *libct.Options, explicitRoot bool) ([]*libct.OCIState, error) {
	entries, err := os.ReadDir(g.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicitRoot {
			return nil, nil
		}
		return nil, fmt.Errorf("read state root %s: %w", g.Root, err)
	}
	var out []*libct.OCIState
	owners := map[uint32]string{}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		c, err := libct.Load(g, e.Name())
		if err != nil {
			if !errors.Is(err, libct.ErrNotExist) {
				fmt.Fprintf(os.Stderr, "skiff list: skipping %s: %v\n", e.Name(), err)
			}
			continue
		}
		st := c.OCIState()
		if fi, err := e.Info(); err == nil {
			if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
				st.Owner = ownerName(owners, sys.Uid)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func ownerName(cache map[uint32]string, uid uint32) string {
	if n, ok := cache[uid]; ok {
		return n
	}
	n := "#" + strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		n = u.Username
	}
	cache[uid] = n
	return n
}
