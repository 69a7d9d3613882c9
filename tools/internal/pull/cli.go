package pull

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Command runs stagex-pull with args (without the program name): it
// writes the image into the layout directory, prints the image's manifest
// digest on stdout and progress on stderr, and returns the exit code (0
// pulled, 1 failed, 2 bad usage).
//
//	stagex-pull --image HOST/PATH@sha256:HEX --out DIR [--platform linux/amd64]
//	            [--attempts N] [--connect-timeout D] [--timeout D] [--idle-timeout D] [--plain-http] [-q]
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stagex-pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts Options
	opts.AddFlags(fs)
	image := fs.String("image", "", "the image by digest: HOST[:PORT]/PATH@sha256:HEX (required)")
	out := fs.String("out", "", "directory to write the OCI layout to; must not exist or be empty (required)")
	fs.StringVar(&opts.Platform, "platform", "", "platform to take from an image index, e.g. linux/amd64")
	quiet := fs.Bool("q", false, "print only the digest and errors")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stagex-pull --image HOST/PATH@sha256:HEX --out DIR [--platform OS/ARCH]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *image == "" || *out == "" {
		fmt.Fprintln(stderr, "stagex-pull: --image and --out are required, and nothing else")
		fmt.Fprintln(stderr, "run stagex-pull -h for usage")
		return 2
	}
	if !*quiet {
		opts.Log = stderr
	}
	res, err := Pull(ctx, *image, *out, opts)
	if err != nil {
		fmt.Fprintf(stderr, "stagex-pull: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, res.ImageDigest)
	return 0
}
