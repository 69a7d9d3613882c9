// Package diag carries errors that point at a place in an input file, so
// that every tool reports bad input as file:line: message.
package diag

import (
	"errors"
	"fmt"
)

// Error is a problem found at a position in an input file. Line is 1-based;
// zero means the problem concerns the file as a whole.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errorf returns an *Error at file:line with a formatted message.
func Errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// At returns the position of the first *Error in err's chain.
func At(err error) (file string, line int, ok bool) {
	var d *Error
	if errors.As(err, &d) {
		return d.File, d.Line, true
	}
	return "", 0, false
}
