package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli"
	"golang.org/x/sys/unix"

	"github.com/skiff-runtime/skiff/libct"
	"github.com/skiff-runtime/skiff/libct/genjson"
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
			// tabwriter writes each cell on its own: buffer them (13 write
			// calls a container otherwise).
			out := bufio.NewWriter(os.Stdout)
			w := tabwriter.NewWriter(out, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return out.Flush()
		case "json":
			// runc prints "null" for no containers; go-runc accepts it.
			b, err := genjson.Encode(&states, encodeStates)
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
// state file and a few /proc and cgroup files: no config is parsed. The
// containers are read by a few goroutines at once: each costs a handful of
// file reads, mostly kernel time, which the CPUs share (list with 100
// containers is bound by them).
func listStates(g *libct.Options, explicitRoot bool) ([]*libct.OCIState, error) {
	entries, err := os.ReadDir(g.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicitRoot {
			return nil, nil
		}
		return nil, fmt.Errorf("read state root %s: %w", g.Root, err)
	}
	type result struct {
		st   *libct.OCIState
		uid  uint32
		warn string
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	results := make([]result, len(names))
	read := func(i int) {
		c, err := libct.Load(g, names[i])
		if err != nil {
			if !errors.Is(err, libct.ErrNotExist) {
				results[i].warn = fmt.Sprintf("skiff list: skipping %s: %v\n", names[i], err)
			}
			return
		}
		results[i].st = c.OCIState()
		results[i].uid = ^uint32(0)
		var st unix.Stat_t
		if unix.Lstat(c.Dir(), &st) == nil {
			results[i].uid = st.Uid
		}
	}
	workers := min(runtime.GOMAXPROCS(0)*2, 8, len(names))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(names); i = int(next.Add(1) - 1) {
				read(i)
			}
		}()
	}
	wg.Wait()
	var out []*libct.OCIState
	owners := map[uint32]string{}
	for _, r := range results {
		if r.warn != "" {
			fmt.Fprint(os.Stderr, r.warn)
		}
		if r.st == nil {
			continue
		}
		if r.uid != ^uint32(0) {
			r.st.Owner = ownerName(owners, r.uid)
		}
		out = append(out, r.st)
	}
	return out, nil
}

// encodeStates writes what json.Marshal writes for the list.
func encodeStates(e *genjson.Encoder, v *[]*libct.OCIState) error {
	return genjson.EncodeSlice(e, v, func(e *genjson.Encoder, s **libct.OCIState) error {
		return genjson.EncodePtr(e, s, libct.EncodeOCIState)
	})
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
