// Package box is a multi-call collection of a POSIX-ish shell and core
// utilities for hermetic container builds, where no busybox can be fetched.
//
// The shell is mvdan.cc/sh's interpreter. Utilities come from u-root's
// pkg/core where its implementation fits a build script, and are written here
// otherwise. Inside the shell every utility runs in-process with the
// interpreter's working directory, environment and standard streams; any
// other command is executed from PATH as a real program.
package box

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Proc is the process-like context a utility runs in: what the shell (or the
// operating system, for the binary's own entry point) hands a command.
type Proc struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Dir is the absolute working directory. Relative paths given to a
	// utility are resolved against it, never against the process's own.
	Dir string
	// Env is the exported environment as KEY=VALUE pairs.
	Env []string
	// Self is the path of this multi-call binary, or "" if unknown. A
	// utility name that PATH resolves to a program other than Self is
	// executed as that program rather than run in-process.
	Self string
}

// utilFunc is a utility's entry point. args[0] is the name it was called by. It
// returns the exit status and reports problems on p.Stderr itself.
type utilFunc func(ctx context.Context, p *Proc, args []string) int

var utils map[string]utilFunc

// register adds utilities; it is called from init functions only.
func register(f utilFunc, names ...string) {
	if utils == nil {
		utils = map[string]utilFunc{}
	}
	for _, n := range names {
		if _, dup := utils[n]; dup {
			panic("box: utility registered twice: " + n)
		}
		utils[n] = f
	}
}

// Names returns the names of all utilities, the shell included, sorted.
func Names() []string {
	names := make([]string, 0, len(utils))
	for n := range utils {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// IsUtility reports whether name is one of the box's utilities.
func IsUtility(name string) bool {
	_, ok := utils[name]
	return ok
}

// NewProc returns a Proc for the running process: its standard streams,
// working directory, environment and executable.
func NewProc(argv0 string) *Proc {
	dir, err := os.Getwd()
	if err != nil {
		dir = os.Getenv("PWD")
		if !filepath.IsAbs(dir) {
			dir = "/"
		}
	}
	return &Proc{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Dir:    dir,
		Env:    os.Environ(),
		Self:   selfPath(argv0, dir),
	}
}

// selfPath finds this binary: through /proc when there is one, else from
// argv[0] when it names a path.
func selfPath(argv0, dir string) string {
	if exe, err := os.Executable(); err == nil {
		return exe
	}
	if strings.Contains(argv0, "/") {
		if !filepath.IsAbs(argv0) {
			argv0 = filepath.Join(dir, argv0)
		}
		return argv0
	}
	return ""
}

// Getenv returns the value of key in p.Env, or "".
func (p *Proc) Getenv(key string) string {
	v, _ := p.LookupEnv(key)
	return v
}

// LookupEnv returns the value of key in p.Env; the last entry wins.
func (p *Proc) LookupEnv(key string) (string, bool) {
	for i := len(p.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(p.Env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Abs resolves path against p.Dir.
func (p *Proc) Abs(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(p.Dir, path)
}

// with returns a copy of p with other standard streams.
func (p *Proc) with(stdin io.Reader, stdout io.Writer) *Proc {
	q := *p
	q.Stdin, q.Stdout = stdin, stdout
	return &q
}

// errf prints "name: message" on p.Stderr. A write to a closed pipe is not
// reported: a program would have died of SIGPIPE silently.
func (p *Proc) errf(name, format string, args ...any) {
	for _, a := range args {
		if err, ok := a.(error); ok && errors.Is(err, syscall.EPIPE) {
			return
		}
	}
	fmt.Fprintf(p.Stderr, name+": "+format+"\n", args...)
}

// Run runs args as a command in p: a utility in-process, or else a program
// found through p's PATH. It returns the exit status: 127 when nothing by that
// name exists, 126 when it cannot be executed, 128+n when killed by signal n.
func Run(ctx context.Context, p *Proc, args []string) int {
	if len(args) == 0 {
		return 0
	}
	if f, ok := utils[args[0]]; ok && p.inProcess(args[0]) {
		return f(ctx, p, args)
	}
	return runExternal(ctx, p, args)
}

// Main is the multi-call entry point. The base name of argv[0] selects a
// utility; any other name (such as stagex-box itself) takes the utility from
// argv[1], or one of the options --list, --install and --help.
func Main(ctx context.Context, p *Proc, argv []string) int {
	if len(argv) == 0 {
		argv = []string{"stagex-box"}
	}
	// A login shell is started with a leading dash in argv[0].
	name := strings.TrimPrefix(filepath.Base(argv[0]), "-")
	if f, ok := utils[name]; ok {
		return f(ctx, p, append([]string{name}, argv[1:]...))
	}
	if len(argv) < 2 {
		usage(p.Stderr, name)
		return 1
	}
	switch argv[1] {
	case "--help", "-h":
		usage(p.Stdout, name)
		return 0
	case "--list", "-l":
		for _, n := range Names() {
			fmt.Fprintln(p.Stdout, n)
		}
		return 0
	case "--install":
		return installMain(p, name, argv[2:])
	}
	if f, ok := utils[argv[1]]; ok {
		return f(ctx, p, argv[1:])
	}
	p.errf(name, "unknown utility %q (see --list)", argv[1])
	return 127
}

func usage(w io.Writer, name string) {
	fmt.Fprintf(w, `usage: %[1]s UTILITY [ARGS...]
       %[1]s --list
       %[1]s --install [--target PATH | --relative] DIR
Or call this binary through a link named after a utility (sh, cat, ...).
`, name)
}
