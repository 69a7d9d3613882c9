package box

import (
	"context"
	"io"
	"strings"

	"github.com/u-root/u-root/pkg/core"
	"github.com/u-root/u-root/pkg/core/base64"
	"github.com/u-root/u-root/pkg/core/mkdir"
	"github.com/u-root/u-root/pkg/core/mv"
	"github.com/u-root/u-root/pkg/core/rm"
	"github.com/u-root/u-root/pkg/core/shasum"
)

// The u-root commands used as they are. Others (cat, chmod, cp, find, gzip,
// mktemp, tar, touch, xargs) are written here instead: u-root's resolve some paths
// against the process's directory rather than the shell's, read the
// process's stdin, or lack what build scripts use (cp -a, tar -xzf -C,
// chmod -R u+x,go-w, touch -h -d @EPOCH). u-root's ls
// and find need a module (go-humanize) that go.mod does not carry.
func init() {
	// u-root's mkdir reports a failed directory on stderr but succeeds.
	register(urootCmd(mkdir.New, nil, true), "mkdir")
	register(urootCmd(mv.New, mvArgs, false), "mv")
	register(urootCmd(rm.New, nil, false), "rm")
	register(urootCmd(shasum.New, nil, false), "shasum")
	register(urootCmd(base64.New, nil, false), "base64")
}

// urootCmd adapts a u-root core command. fix rewrites the arguments first;
// failOnStderr makes any diagnostic a failure.
func urootCmd(newCmd func() core.Command, fix func([]string) []string, failOnStderr bool) utilFunc {
	return func(ctx context.Context, p *Proc, args []string) int {
		c := newCmd()
		stderr := &countWriter{w: p.Stderr}
		c.SetIO(p.Stdin, p.Stdout, stderr)
		c.SetWorkingDir(p.Dir)
		c.SetLookupEnv(p.LookupEnv)
		a := args[1:]
		if fix != nil {
			a = fix(a)
		}
		if err := c.RunContext(ctx, a...); err != nil {
			p.errf(args[0], "%v", err)
			return 1
		}
		if failOnStderr && stderr.n > 0 {
			return 1
		}
		return 0
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// mvArgs drops -f (the default anyway) and -v, which u-root's mv lacks.
func mvArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") || len(a) < 2 {
			out = append(out, args[i:]...)
			break
		}
		if a == "--force" || a == "--verbose" {
			continue
		}
		if !strings.HasPrefix(a, "--") {
			a = strings.NewReplacer("f", "", "v", "").Replace(a)
			if a == "-" {
				continue
			}
		}
		out = append(out, a)
	}
	return out
}
