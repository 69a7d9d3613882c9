// Package cli is what the commands in tools/cmd share to read their command
// lines: repeated flags, KEY=VALUE flags, Bazel parameter files, and one
// convention for usage errors and exit codes. A main declares its flags
// into the options struct of its library, parses them with Parse, calls the
// library and hands the result to Exit.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes of every command.
const (
	ExitOK     = 0
	ExitFailed = 1 // the work failed or was refused, or its input is bad
	ExitUsage  = 2 // the command line is wrong
)

// UsageError is an error in the command line: Exit reports it with a hint
// to run the command with -h and returns ExitUsage.
type UsageError struct {
	Msg string
	// reported is set when the flag package has printed the message (and
	// the usage) already.
	reported bool
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// errHelp is what Parse returns for -h: nothing failed.
var errHelp = errors.New("help requested")

// NewFlagSet returns a flag set for the command name that writes its
// messages to stderr. usage, when not empty, is printed above the flag
// defaults for -h and for a flag the command does not know.
func NewFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		if usage != "" {
			fmt.Fprintln(stderr, strings.TrimRight(usage, "\n"))
		} else {
			fmt.Fprintf(stderr, "usage of %s:\n", name)
		}
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args into fs. A wrong flag is a UsageError (the flag
// package has printed it with the usage), and so is any argument left after
// the flags; -h returns an error that Exit maps to ExitOK.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &UsageError{Msg: err.Error(), reported: true}
	}
	if fs.NArg() > 0 {
		return Usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// ParseArgs is Parse for a command that takes arguments after its flags:
// it returns them instead of refusing them. As with the flag package, the
// first argument that is not a flag (or "--") ends the flags.
func ParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, &UsageError{Msg: err.Error(), reported: true}
	}
	return fs.Args(), nil
}

// Exit reports err on stderr, each line prefixed by the command's name, and
// returns the command's exit code: ExitOK for nil and for -h, ExitUsage for
// a UsageError (with a hint to run name -h), ExitFailed for anything else.
func Exit(name string, err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelp) {
		return ExitOK
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		if !ue.reported {
			fmt.Fprintf(stderr, "%s: %v\nrun %s -h for usage\n", name, err, name)
		}
		return ExitUsage
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return ExitFailed
}

// EnterWorkingDirectory moves to the directory `bazel run` was started
// from ($BUILD_WORKING_DIRECTORY), so that relative paths on the command line
// mean what the user meant rather than paths in the runfiles tree. Outside
// `bazel run` it does nothing.
func EnterWorkingDirectory() error {
	dir := os.Getenv("BUILD_WORKING_DIRECTORY")
	if dir == "" {
		return nil
	}
	return os.Chdir(dir)
}
