package main

import (
	"os"

	"github.com/urfave/cli"
)

var stateCommand = cli.Command{
	Name:      "state",
	Usage:     "print the state of a container as JSON",
	ArgsUsage: "<container-id>",
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, true); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		// runc prints two-space indented JSON without a trailing newline.
		b, err := c.OCIState().JSON()
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(b)
		return err
	},
}
