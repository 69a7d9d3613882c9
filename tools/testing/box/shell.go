package box

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

func init() {
	register(shMain, "sh", "ash", "bash")
	// The interpreter's builtins, reachable as utilities for xargs, find
	// -exec, env and the multi-call entry point.
	register(builtinMain, "echo", "printf", "test", "[", "true", "false", "pwd")
}

// shellOpts are the option flags given on the shell's command line, in the
// form the interpreter's set builtin takes them ("-e", "+x", "-o", "pipefail").
type shellOpts struct {
	flags []string
}

// shMain is sh [-aefnuxv] [-o opt] [-c script [name [args...]] | -s [args...] | file [args...]].
func shMain(ctx context.Context, p *Proc, args []string) int {
	var opts shellOpts
	command, readStdin := false, false
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" {
			i++
			break
		}
		switch a {
		case "--login", "--noprofile", "--norc", "--posix", "--noediting":
			continue
		}
		if len(a) < 2 || (a[0] != '-' && a[0] != '+') || strings.HasPrefix(a, "--") {
			if strings.HasPrefix(a, "--") {
				p.errf(args[0], "unsupported option %s", a)
				return 2
			}
			break
		}
		sign := a[:1]
		for _, c := range a[1:] {
			switch c {
			case 'c':
				command = sign == "-"
			case 's':
				readStdin = sign == "-"
			case 'i', 'l', 'v':
				// interactive and login are decided by stdin; verbose is not supported
			case 'o':
				if i+1 >= len(args) {
					p.errf(args[0], "%so needs an option name", sign)
					return 2
				}
				i++
				opts.flags = append(opts.flags, sign+"o", args[i])
			case 'a', 'e', 'f', 'n', 'u', 'x':
				opts.flags = append(opts.flags, sign+string(c))
			default:
				p.errf(args[0], "invalid option %s%c", sign, c)
				return 2
			}
		}
	}
	rest := args[i:]
	switch {
	case command:
		if len(rest) == 0 {
			p.errf(args[0], "-c requires an argument")
			return 2
		}
		name, params := args[0], []string(nil)
		if len(rest) > 1 {
			name, params = rest[1], rest[2:]
		}
		return runShell(ctx, p, opts, strings.NewReader(rest[0]), name, params)
	case readStdin || len(rest) == 0:
		if isTerminal(p.Stdin) {
			return interactive(ctx, p, opts, args[0], rest)
		}
		stdin := p.Stdin
		if stdin == nil {
			stdin = strings.NewReader("")
		}
		return runShell(ctx, p, opts, stdin, args[0], rest)
	}
	f, err := os.Open(p.Abs(rest[0]))
	if err != nil {
		p.errf(args[0], "cannot open %s: %v", rest[0], unwrapSys(err))
		return 127
	}
	defer f.Close()
	return runShell(ctx, p, opts, f, rest[0], rest[1:])
}

// runShell parses the whole script from r, then runs it. name is $0 and the
// file name in error messages.
func runShell(ctx context.Context, p *Proc, opts shellOpts, r io.Reader, name string, params []string) int {
	prog, err := syntax.NewParser().Parse(r, name)
	if err != nil {
		fmt.Fprintf(p.Stderr, "%v\n", err)
		return 2
	}
	runner, err := newRunner(p, opts, params)
	if err != nil {
		p.errf(name, "%v", err)
		return 2
	}
	return exitCode(p, runner.Run(ctx, prog))
}

// interactive reads and runs one statement at a time from a terminal.
func interactive(ctx context.Context, p *Proc, opts shellOpts, name string, params []string) int {
	runner, err := newRunner(p, opts, params)
	if err != nil {
		p.errf(name, "%v", err)
		return 2
	}
	prompt := "$ "
	if os.Geteuid() == 0 {
		prompt = "# "
	}
	parser := syntax.NewParser()
	fmt.Fprint(p.Stderr, prompt)
	status := 0
	for stmts, err := range parser.InteractiveSeq(p.Stdin) {
		if err != nil {
			fmt.Fprintf(p.Stderr, "%v\n", err)
			return 2
		}
		if parser.Incomplete() {
			fmt.Fprint(p.Stderr, "> ")
			continue
		}
		for _, st := range stmts {
			status = exitCode(p, runner.Run(ctx, st))
			if runner.Exited() {
				return status
			}
		}
		fmt.Fprint(p.Stderr, prompt)
	}
	return status
}

// newRunner makes an interpreter that sees p's world and runs commands
// through Run.
func newRunner(p *Proc, opts shellOpts, params []string) (*interp.Runner, error) {
	stdin := p.Stdin
	if f, ok := stdin.(*os.File); ok && f == nil {
		stdin = nil
	}
	self := p.Self
	return interp.New(
		interp.Env(expand.ListEnviron(p.Env...)),
		interp.Dir(p.Dir),
		interp.StdIO(stdin, p.Stdout, p.Stderr),
		// Every command that is neither a function nor a builtin comes
		// here: our utilities run in-process, the rest is executed. The
		// default handler is not used, as it would run a script without
		// a #! line in a shell that lacks these utilities.
		interp.ExecHandler(func(ctx context.Context, args []string) error {
			hc := interp.HandlerCtx(ctx)
			q := &Proc{
				Stdin:  hc.Stdin,
				Stdout: hc.Stdout,
				Stderr: hc.Stderr,
				Dir:    hc.Dir,
				Env:    exportedEnv(hc.Env),
				Self:   self,
			}
			if f, ok := q.Stdin.(*os.File); q.Stdin == nil || (ok && f == nil) {
				q.Stdin = strings.NewReader("")
			}
			if code := Run(ctx, q, args); code != 0 {
				return interp.ExitStatus(uint8(code))
			}
			return nil
		}),
		interp.Params(append(slices.Clone(opts.flags), append([]string{"--"}, params...)...)...),
	)
}

// exportedEnv lists the exported string variables of env as KEY=VALUE,
// sorted by name.
func exportedEnv(env expand.Environ) []string {
	vals := map[string]string{}
	for name, vr := range env.Each {
		if vr.IsSet() && vr.Exported && vr.Kind == expand.String {
			vals[name] = vr.String()
		} else {
			delete(vals, name)
		}
	}
	list := make([]string, 0, len(vals))
	for k, v := range vals {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}

// exitCode turns the interpreter's result into an exit status, reporting
// errors that are not plain statuses.
func exitCode(p *Proc, err error) int {
	if err == nil {
		return 0
	}
	var es interp.ExitStatus
	if errors.As(err, &es) {
		return int(es)
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	fmt.Fprintf(p.Stderr, "sh: %v\n", err)
	return 1
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	// /dev/null is a character device too; only a terminal answers TCGETS.
	_, err = unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// builtinMain runs one of the interpreter's builtins as a command.
func builtinMain(ctx context.Context, p *Proc, args []string) int {
	runner, err := newRunner(p, shellOpts{}, nil)
	if err != nil {
		p.errf(args[0], "%v", err)
		return 2
	}
	words := make([]*syntax.Word, len(args))
	for i, a := range args {
		words[i] = &syntax.Word{Parts: []syntax.WordPart{&syntax.SglQuoted{Value: a}}}
	}
	return exitCode(p, runner.Run(ctx, &syntax.CallExpr{Args: words}))
}
