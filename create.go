package main

import (
	"github.com/urfave/cli"

	"github.com/skiff-runtime/skiff/libct"
)

var createCommand = cli.Command{
	Name:      "create",
	Usage:     "create a container, parked before its process starts",
	ArgsUsage: "<container-id>",
	Description: `create sets up the container described by the bundle's config.json and
leaves it in the "created" state, its init waiting for "skiff start". The
container's stdio is skiff's own (or the pty sent to --console-socket).`,
	Flags: createFlags,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, true); err != nil {
			return err
		}
		pidFile, err := pidFilePath(ctx)
		if err != nil {
			return err
		}
		c, err := createContainer(ctx, ctx.Args().First(), true)
		if err != nil {
			return err
		}
		if err := writePidFile(pidFile, c.State.Pid); err != nil {
			// The caller cannot know the pid: nothing may be left.
			_ = libct.Delete(globalOptions(ctx), c.ID, true)
			return err
		}
		return nil
	},
}
