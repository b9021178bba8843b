// Package hooks runs OCI hooks: the state JSON on stdin, the hook's own
// args and env, a timeout, and output captured for the error.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-runtime/skiff/libct/genjson"
	"github.com/skiff-runtime/skiff/libct/specjson"
	"github.com/skiff-runtime/skiff/libct/timerslack"
)

// Kinds of hooks, as named in config.json.
const (
	Prestart        = "prestart"
	CreateRuntime   = "createRuntime"
	CreateContainer = "createContainer"
	StartContainer  = "startContainer"
	Poststart       = "poststart"
	Poststop        = "poststop"
)

// tailLines is how much of a failing hook's output goes into the error.
const tailLines = 5

// Run runs hooks of one kind in order and stops at the first failure.
// defaultEnv is used for hooks without env (nil: the runtime's own
// environment, which is what runc's runtime-namespace hooks see).
func Run(kind string, hs []specs.Hook, st *specs.State, defaultEnv []string) error {
	if len(hs) == 0 {
		return nil
	}
	in, err := genjson.Encode(st, specjson.EncodeState)
	if err != nil {
		return fmt.Errorf("%s hooks: encode state: %w", kind, err)
	}
	for i, h := range hs {
		if err := runOne(h, in, defaultEnv); err != nil {
			return hookError(kind, i, h, err)
		}
	}
	return nil
}

// hookError names the hook the way runc does ("error running prestart
// hook #1"), plus its path.
func hookError(kind string, i int, h specs.Hook, err error) error {
	return fmt.Errorf("error running %s hook #%d (%s): %w", kind, i, h.Path, err)
}

// RunAll runs every hook and returns the errors of all that failed: for
// poststart and poststop, whose failures are warnings.
func RunAll(kind string, hs []specs.Hook, st *specs.State, defaultEnv []string) []error {
	in, err := genjson.Encode(st, specjson.EncodeState)
	if err != nil {
		return []error{fmt.Errorf("%s hooks: encode state: %w", kind, err)}
	}
	var errs []error
	for i, h := range hs {
		if err := runOne(h, in, defaultEnv); err != nil {
			errs = append(errs, hookError(kind, i, h, err))
		}
	}
	return errs
}

func runOne(h specs.Hook, stdin []byte, defaultEnv []string) error {
	ctx := context.Background()
	var cancel context.CancelFunc
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout must be positive, got %d", *h.Timeout)
		}
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	} else {
		cmd.Args = []string{h.Path}
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = defaultEnv
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// On timeout kill the hook's whole process group: a shell hook's
	// children would otherwise live on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Do not wait for grandchildren that inherited the output pipes.
	cmd.WaitDelay = time.Second
	err := timerslack.Start(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err == nil {
		return nil
	}
	out := tail(stderr.Bytes(), "stderr")
	if out == "" {
		out = tail(stdout.Bytes(), "stdout")
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("hook ran past specified timeout of %ds and was killed (raise hooks[].timeout or make the hook faster)%s", *h.Timeout, out)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s%s", ee.ProcessState.String(), out)
	}
	return err
}

// tail is the last lines of a hook's output, on one line, for the error.
func tail(b []byte, name string) string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return ", " + name + ": " + strings.Join(lines, " | ")
}
