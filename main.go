// Command skiff is an OCI container runtime, command-line compatible with
// runc: podman/conmon, containerd's runc v2 shim and Docker use it in its
// place.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"

	"github.com/skiff-runtime/skiff/libct"
	"github.com/skiff-runtime/skiff/libct/phase"
	"github.com/skiff-runtime/skiff/seccomp"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "0.1.0"
	commit  = ""
	// layout names the function order skiff was linked with (the start of
	// the sha256 of hack/golink/hot-functions.txt; empty: the Go linker's
	// own). The Makefile sets it so that the go command relinks when the
	// order changes; `skiff features` shows it.
	layout = ""
)

const usage = `an OCI container runtime, command-line compatible with runc

skiff runs containers from OCI bundles (a directory with config.json and a
root filesystem). It is a drop-in replacement for runc: podman, containerd's
runc v2 shim (and so Kubernetes and Docker) call it with runc's commands.

To try it:  skiff spec && skiff run demo   (in a bundle directory with rootfs/)`

func main() {
	growStack()
	phase.Mark("main")
	app := cli.NewApp()
	app.Name = "skiff"
	app.Usage = usage
	app.Version = version
	cli.VersionPrinter = printVersion
	app.Flags = []cli.Flag{
		cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
		cli.StringFlag{Name: "log", Value: "", Usage: "append log lines to this file instead of stderr"},
		cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
		cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "directory for the state of containers"},
		cli.BoolFlag{Name: "systemd-cgroup", Usage: "manage cgroups through systemd (cgroupsPath is slice:prefix:name)"},
		cli.StringFlag{Name: "rootless", Value: "auto", Usage: "ignore cgroup permission errors: true, false or auto"},
		cli.StringFlag{Name: "criu", Value: "criu", Usage: "accepted for compatibility; checkpoint/restore is not implemented"},
	}
	app.Commands = []cli.Command{
		createCommand,
		deleteCommand,
		execCommand,
		featuresCommand,
		killCommand,
		listCommand,
		pauseCommand,
		psCommand,
		resumeCommand,
		updateCommand,
		eventsCommand,
		runCommand,
		specCommand,
		startCommand,
		stateCommand,
	}
	app.Before = setupLogging
	app.CommandNotFound = func(ctx *cli.Context, name string) {
		fatalf(1, "unknown command %q (see skiff --help)", name)
	}
	// urfave/cli prints its own errors; ours go through fatal.
	cli.ErrWriter = io.Discard
	cli.OsExiter = func(code int) {}
	if err := app.Run(os.Args); err != nil {
		fatal(err, 1)
	}
}

// growStack makes the main goroutine's stack as large as a create or an
// init needs while it is still two frames deep. Each growth walks every
// frame on the stack through the binary's pc tables; done deep inside the
// JSON decoder, the walks fault in ~1 MB of them (bench/README.md).
//
//go:noinline
func growStack() byte {
	var frame [12 << 10]byte
	return touchFrame(frame[:])
}

//go:noinline
func touchFrame(b []byte) byte { return b[len(b)-1] }

func printVersion(ctx *cli.Context) {
	fmt.Printf("skiff version %s\n", version)
	if commit != "" {
		fmt.Printf("commit: %s\n", commit)
	}
	fmt.Printf("spec: %s\n", specs.Version)
	fmt.Printf("go: %s\n", runtime.Version())
	fmt.Printf("libseccomp: %s\n", seccomp.Version())
}

// defaultRoot is runc's rule: /run/skiff for real root, else
// $XDG_RUNTIME_DIR/skiff (podman never passes --root).
func defaultRoot() string {
	if os.Geteuid() == 0 {
		return "/run/skiff"
	}
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		return filepath.Join(x, "skiff")
	}
	return "/run/skiff"
}

// logToFile is set when --log names a file: errors are then also printed
// as plain text on stderr, where a person sees them.
var logToFile bool

func setupLogging(ctx *cli.Context) error {
	if ctx.GlobalBool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	if path := ctx.GlobalString("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("--log %s: %w", path, err)
		}
		logrus.SetOutput(f)
		logToFile = true
	}
	switch ctx.GlobalString("log-format") {
	case "text":
		logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	case "json":
		logrus.SetFormatter(new(logrus.JSONFormatter))
	default:
		return fmt.Errorf("--log-format %q: must be text or json", ctx.GlobalString("log-format"))
	}
	return nil
}

// exitError carries an exit code through urfave/cli without a message.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// fatal is the one exit path for failures: one error line in the log
// (the one containerd and podman show the user), echoed to stderr.
func fatal(err error, code int) {
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	var ce *codeError
	if errors.As(err, &ce) {
		code = ce.code
		err = ce.err
	}
	msg := strings.TrimSpace(err.Error())
	logrus.Error(msg)
	if logToFile {
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(code)
}

func fatalf(code int, format string, a ...any) {
	fatal(fmt.Errorf(format, a...), code)
}

// codeError is an error with its own exit code (exec failures exit 255).
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// globalOptions collects the global flags for libct.
func globalOptions(ctx *cli.Context) *libct.Options {
	o := &libct.Options{
		Root:          ctx.GlobalString("root"),
		SystemdCgroup: ctx.GlobalBool("systemd-cgroup"),
		Debug:         ctx.GlobalBool("debug"),
	}
	switch ctx.GlobalString("rootless") {
	case "true":
		o.Rootless = true
	case "false":
		o.Rootless = false
	default:
		o.Rootless = os.Geteuid() != 0
	}
	if abs, err := filepath.Abs(o.Root); err == nil {
		o.Root = abs
	}
	return o
}

// checkArgs enforces the number of positional arguments, with runc's
// "Incorrect Usage." wording.
func checkArgs(ctx *cli.Context, n int, exact bool) error {
	got := ctx.NArg()
	if (exact && got != n) || (!exact && got < n) {
		_ = cli.ShowCommandHelp(ctx, ctx.Command.Name)
		want := fmt.Sprintf("%d", n)
		if !exact {
			want = "at least " + want
		}
		return fmt.Errorf("%s: %q requires %s argument(s)", "Incorrect Usage.", ctx.Command.Name, want)
	}
	return nil
}
