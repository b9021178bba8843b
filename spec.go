package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli"

	"github.com/skiff-runtime/skiff/libct/spec"
)

var specCommand = cli.Command{
	Name:  "spec",
	Usage: "write an example config.json into the bundle directory",
	Description: `The example runs "sh" with a terminal in a rootfs/ directory next to
config.json, with the namespaces, mounts and capabilities runc's example
has. Edit it to taste; "skiff run <id>" in that directory starts it.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "bundle, b", Value: "", Usage: "directory to write config.json into (default: the current directory)"},
		cli.BoolFlag{Name: "rootless", Usage: "an example for a non-root user (user namespace, no network namespace)"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, true); err != nil {
			return err
		}
		dir := ctx.String("bundle")
		if dir == "" {
			dir = "."
		}
		path := filepath.Join(dir, "config.json")
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("file %s exists: remove it first", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		b, err := json.MarshalIndent(spec.Example(ctx.Bool("rootless")), "", "\t")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(b, '\n'), 0o666)
	},
}
