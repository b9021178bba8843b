// Package spec loads, defaults and validates a bundle's config.json.
//
// Validation never stops at the first finding: every problem is collected
// with the JSON path of the field it concerns, so a user fixes a bundle in
// one round trip instead of one error at a time.
package spec

import (
	"fmt"
	"strings"
)

// Problem is one validation finding about one field of config.json.
type Problem struct {
	// Path is the JSON path of the field, e.g. "process.args" or
	// "mounts[3].destination".
	Path string `json:"field"`
	// Msg says what is wrong and, where it helps, what to do.
	Msg string `json:"msg"`
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Errors is every problem found in one config. It is an error when non-empty.
type Errors []Problem

// Add records a problem on path.
func (e *Errors) Add(path, format string, a ...any) {
	*e = append(*e, Problem{Path: path, Msg: fmt.Sprintf(format, a...)})
}

// Merge appends problems found by another validator (seccomp, cgroups).
func (e *Errors) Merge(ps []Problem) {
	*e = append(*e, ps...)
}

// OrNil returns nil when there is nothing to report, so callers can write
// `return errs.OrNil()` without the typed-nil trap.
func (e Errors) OrNil() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Error joins every problem into one line, as callers that read only the
// last log line (containerd, podman) must see all of them.
func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, p := range e {
		parts[i] = p.String()
	}
	if len(e) == 1 {
		return "invalid config.json: " + parts[0]
	}
	return fmt.Sprintf("invalid config.json (%d problems): %s", len(e), strings.Join(parts, "; "))
}
