// Package undo is a stack of cleanup steps: each resource registers how to
// remove it the moment it exists, and a failure unwinds them in reverse.
package undo

import (
	"fmt"

	"github.com/sirupsen/logrus"
)

type step struct {
	what string
	fn   func() error
}

// Stack holds cleanup steps. The zero value is ready to use.
type Stack struct {
	steps []step
}

// Push registers fn, described by what, to undo a resource just made.
func (s *Stack) Push(what string, fn func() error) {
	s.steps = append(s.steps, step{what, fn})
}

// Unwind runs every step, last first. Failures are logged as warnings (the
// caller is already returning the error that caused the unwind) and
// returned joined.
func (s *Stack) Unwind() error {
	var first error
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		if err := st.fn(); err != nil {
			logrus.Warnf("cleanup after failure: %s: %v", st.what, err)
			if first == nil {
				first = fmt.Errorf("%s: %w", st.what, err)
			}
		}
	}
	s.steps = nil
	return first
}

// Release forgets every step: the operation succeeded.
func (s *Stack) Release() { s.steps = nil }
