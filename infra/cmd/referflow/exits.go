package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/aws/smithy-go"

	"github.com/referflow/referflow/internal/store"
)

// The exit codes (exitCodes says them to people).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitConflict    = 4
	exitUnavailable = 5
)

// codedError is an error with the exit code it ends the command with; its
// message is the wrapped error's.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func coded(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

func usagef(format string, args ...any) error {
	return coded(exitUsage, fmt.Errorf(format, args...))
}
func notFound(err error) error    { return coded(exitNotFound, err) }
func conflict(err error) error    { return coded(exitConflict, err) }
func unavailable(err error) error { return coded(exitUnavailable, err) }
func failed(err error) error      { return coded(exitFailed, err) }

// exitCode is the exit code err ends the command with: its own when it
// has one; else not found and conflict from the store, unavailable when
// a call to AWS or the API failed, 1 otherwise.
func exitCode(err error) int {
	var c *codedError
	var op *smithy.OperationError
	var ue *url.Error
	var ne net.Error
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &c):
		return c.code
	case errors.Is(err, store.ErrNotFound):
		return exitNotFound
	case errors.Is(err, store.ErrConflict):
		return exitConflict
	case errors.As(err, &op), errors.As(err, &ue), errors.As(err, &ne):
		return exitUnavailable
	}
	return exitFailed
}
