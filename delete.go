package main

import (
	"github.com/urfave/cli"

	"github.com/skiff-runtime/skiff/libct"
)

var deleteCommand = cli.Command{
	Name:      "delete",
	Usage:     "delete a container and everything it holds",
	ArgsUsage: "<container-id>",
	Description: `A stopped or created container is deleted as is; a running or paused one
needs --force, which kills it first. delete --force of a container that
does not exist succeeds.`,
	Flags: []cli.Flag{
		cli.BoolFlag{Name: "force, f", Usage: "kill the container if it is running or paused"},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, true); err != nil {
			return err
		}
		return libct.Delete(globalOptions(ctx), ctx.Args().First(), ctx.Bool("force"))
	},
}
