package main

import (
	"errors"

	"github.com/urfave/cli"

	containerinit "github.com/skiff-runtime/skiff/init"
)

var startCommand = cli.Command{
	Name:      "start",
	Usage:     "start the process of a created container",
	ArgsUsage: "<container-id>",
	Description: `start releases the container's process. With NOTIFY_SOCKET set (skiff run
by systemd as a Type=notify service, and the container created the same
way) it also waits for the container's READY=1 and passes it on.`,
	Action: func(ctx *cli.Context) error {
		// The constructor did this start and it failed once the
		// container was released (init/faststart.h): only report it.
		if msg, ok := containerinit.FastError(); ok {
			return errors.New(msg)
		}
		if err := checkArgs(ctx, 1, true); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		sock, host, err := listenNotify(c)
		if err != nil {
			return err
		}
		defer sock.Close()
		if err := c.Start(); err != nil {
			return err
		}
		if sock != nil {
			return c.ForwardNotify(sock, host, c.State.Pid)
		}
		return nil
	},
}
