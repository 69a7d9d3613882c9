package box

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
)

// lookPath finds name through p's PATH, or relative to p.Dir when it
// contains a slash.
func lookPath(p *Proc, name string) (string, error) {
	return interp.LookPathDir(p.Dir, expand.ListEnviron(p.Env...), name)
}

// inProcess reports whether the utility name should run inside this process:
// yes unless PATH leads to a different program of that name.
func (p *Proc) inProcess(name string) bool {
	if p.Self == "" {
		return true
	}
	path, err := lookPath(p, name)
	if err != nil {
		return true
	}
	found, err := os.Stat(path)
	if err != nil {
		return true
	}
	self, err := os.Stat(p.Self)
	if err != nil {
		return true
	}
	return os.SameFile(found, self)
}

// runExternal executes args[0] as a program found through PATH.
func runExternal(ctx context.Context, p *Proc, args []string) int {
	path, err := lookPath(p, args[0])
	if err != nil {
		if strings.Contains(args[0], "/") {
			if errors.Is(err, fs.ErrNotExist) {
				p.errf("sh", "%s: not found", args[0])
				return 127
			}
			p.errf("sh", "%s: %v", args[0], err)
			return 126
		}
		p.errf("sh", "%s: not found", args[0])
		return 127
	}
	newCmd := func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, path)
		cmd.Args = args
		cmd.Env = p.Env
		if cmd.Env == nil {
			cmd.Env = []string{}
		}
		cmd.Dir = p.Dir
		cmd.Stdin = p.Stdin
		if f, ok := p.Stdin.(*os.File); ok && f == nil {
			cmd.Stdin = nil
		}
		cmd.Stdout = p.Stdout
		cmd.Stderr = p.Stderr
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = 2 * time.Second
		return cmd
	}
	cmd := newCmd()
	err = cmd.Start()
	// A file just written by a concurrently forked process can briefly be
	// busy; retry with a short backoff.
	for delay := time.Millisecond; errors.Is(err, syscall.ETXTBSY) && delay < 300*time.Millisecond; delay *= 2 {
		time.Sleep(delay)
		cmd = newCmd()
		err = cmd.Start()
	}
	if errors.Is(err, syscall.ENOEXEC) {
		return runScriptFile(ctx, p, path, args)
	}
	if err != nil {
		p.errf("sh", "%s: %v", args[0], unwrapSys(err))
		if errors.Is(err, fs.ErrNotExist) {
			return 127
		}
		return 126
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		p.errf("sh", "%s: %v", args[0], err)
		return 1
	}
	return 0
}

// runScriptFile runs a file that the kernel refused to execute (no #! line)
// with this shell, as POSIX shells do.
func runScriptFile(ctx context.Context, p *Proc, path string, args []string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		p.errf("sh", "%s: %v", args[0], unwrapSys(err))
		return 126
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if bytes.IndexByte(line, 0) >= 0 {
		p.errf("sh", "%s: cannot execute binary file", args[0])
		return 126
	}
	return runShell(ctx, p, shellOpts{}, bytes.NewReader(b), args[0], args[1:])
}

// unwrapSys shortens *fs.PathError and *exec.Error to their cause.
func unwrapSys(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}
