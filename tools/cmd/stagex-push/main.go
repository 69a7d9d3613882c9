// Command stagex-push uploads an OCI image layout to a registry by digest,
// and optionally under tags. See package push.
//
//	stagex-push --layout DIR (--repository HOST/NS/NAME | --namespace HOST/NS --image-name NAME)
//	            [--tag T ...] [--attempts N] [--connect-timeout D] [--timeout D] [--idle-timeout D] [--header-timeout D] [--plain-http] [-q]
//
// It prints the pushed reference on stdout and progress on stderr, and
// exits 0 when pushed, 1 when that failed, 2 on a wrong command line.
// `bazel run //path/to:image.push -- --repository HOST/NAMESPACE/NAME` runs
// it on a built image (rule stagex_push).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/push"
)

const usage = "usage: stagex-push --layout DIR (--repository HOST/NAMESPACE/NAME | --namespace HOST/NAMESPACE) [--tag T ...]"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// flags are stagex-push's command line: the layout and repository Push
// takes, and its options.
type flags struct {
	layout, repository, namespace, imageName string
	quiet                                    bool
	opts                                     push.Options
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parse(args, stderr)
	if err != nil {
		return cli.Exit("stagex-push", err, stderr)
	}
	repo, err := push.Target(f.repository, f.namespace, f.imageName)
	if err != nil {
		return cli.Exit("stagex-push", cli.Usagef("%v", err), stderr)
	}
	if !f.quiet {
		f.opts.Log = stderr
	}
	res, err := push.Push(ctx, f.layout, repo, f.opts)
	if err == nil {
		fmt.Fprintln(stdout, res.Reference)
	}
	return cli.Exit("stagex-push", err, stderr)
}

func parse(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := cli.NewFlagSet("stagex-push", usage, stderr)
	f.opts.AddFlags(fs)
	fs.StringVar(&f.layout, "layout", "", "OCI image layout directory holding one image (required)")
	fs.StringVar(&f.repository, "repository", "", "where to push: HOST[:PORT]/NAMESPACE/NAME")
	fs.StringVar(&f.namespace, "namespace", "", "push to HOST[:PORT]/NAMESPACE/<image name> instead of --repository")
	fs.StringVar(&f.imageName, "image-name", "", "the image's published name (core-busybox), used with --namespace")
	fs.BoolVar(&f.quiet, "q", false, "print only the pushed reference and errors")
	fs.Var((*cli.Strings)(&f.opts.Tags), "tag", "tag to add to the pushed image (repeatable)")
	if err := cli.Parse(fs, args); err != nil {
		return f, err
	}
	if f.layout == "" {
		return f, cli.Usagef("--layout is required")
	}
	return f, nil
}
