package push

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Command runs stagex-push with args (without the program name): it
// prints the pushed reference on stdout, progress on stderr, and returns
// the exit code (0 pushed, 1 failed, 2 bad usage).
//
//	stagex-push --layout DIR (--repository HOST/NS/NAME | --namespace HOST/NS --image-name NAME)
//	            [--tag T ...] [--attempts N] [--connect-timeout D] [--timeout D] [--idle-timeout D] [--plain-http] [-q]
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stagex-push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts Options
	opts.AddFlags(fs)
	layoutDir := fs.String("layout", "", "OCI image layout directory holding one image (required)")
	repository := fs.String("repository", "", "where to push: HOST[:PORT]/NAMESPACE/NAME")
	namespace := fs.String("namespace", "", "push to HOST[:PORT]/NAMESPACE/<image name> instead of --repository")
	imageName := fs.String("image-name", "", "the image's published name (core-busybox), used with --namespace")
	quiet := fs.Bool("q", false, "print only the pushed reference and errors")
	fs.Func("tag", "tag to add to the pushed image (repeatable)", func(t string) error {
		opts.Tags = append(opts.Tags, t)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stagex-push --layout DIR (--repository HOST/NAMESPACE/NAME | --namespace HOST/NAMESPACE) [--tag T ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "stagex-push: "+format+"\n", a...)
		fmt.Fprintln(stderr, "run stagex-push -h for usage")
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *layoutDir == "" {
		return usage("--layout is required")
	}
	repo, err := target(*repository, *namespace, *imageName)
	if err != nil {
		return usage("%v", err)
	}
	if !*quiet {
		opts.Log = stderr
	}
	res, err := Push(ctx, *layoutDir, repo, opts)
	if err != nil {
		fmt.Fprintf(stderr, "stagex-push: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, res.Reference)
	return 0
}

// target returns the repository the flags name: --repository, or
// --namespace joined with --image-name; both at once is an error.
func target(repository, namespace, imageName string) (string, error) {
	switch {
	case repository != "" && namespace != "":
		return "", errors.New("give --repository or --namespace, not both")
	case repository != "":
		return repository, nil
	case namespace != "":
		if imageName == "" {
			return "", errors.New("--namespace needs --image-name (the image's published name, e.g. core-busybox)")
		}
		return strings.TrimSuffix(namespace, "/") + "/" + imageName, nil
	}
	return "", errors.New("say where to push: --repository HOST/NAMESPACE/NAME or --namespace HOST/NAMESPACE")
}
