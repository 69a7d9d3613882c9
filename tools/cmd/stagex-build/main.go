// Command stagex-build builds one stage of a Containerfile into an OCI image
// layout, hermetically; the stagex_stage rule runs it. See package
// stagebuild.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/sandbox"
	"github.com/stagex/stagex-bazel/tools/internal/stagebuild"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

func main() {
	sandbox.Init()
	os.Exit(cli.Exit("stagex-build", run(os.Args[1:], os.Stderr), os.Stderr))
}

// run builds the stage its command line describes.
func run(argv []string, stderr io.Writer) error {
	args, err := cli.ExpandParams(argv)
	if err != nil {
		return err
	}
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	// A failed build removes its output: that must never be something
	// that was there before.
	if err := checkOut(o.Out); err != nil {
		return err
	}
	return stagebuild.Build(context.Background(), o)
}

// parse maps the command line (parameter files expanded) to
// stagebuild.Options.
func parse(args []string, stderr io.Writer) (stagebuild.Options, error) {
	o := stagebuild.Options{
		BuildArgs:   map[string]string{},
		Images:      map[string]string{},
		Context:     map[string]string{},
		Annotations: map[string]string{},
	}
	fs := cli.NewFlagSet("stagex-build", "", stderr)
	fs.StringVar(&o.Containerfile, "containerfile", "", "the Containerfile")
	fs.StringVar(&o.Stage, "stage", "", "the stage to build (name or index)")
	fs.StringVar(&o.Platform, "platform", stagex.DefaultPlatform, "the target platform, os/arch[/variant]")
	fs.StringVar(&o.Base, "base", "", "OCI layout of the stage's base image (none: scratch)")
	fs.StringVar(&o.Out, "out", "", "OCI layout directory to write")
	fs.StringVar(&o.DigestOut, "digest-out", "", "file to write the manifest digest to")
	fs.StringVar(&o.ImageName, "image-name", "", "published image name, <tier>-<name>, for the annotations and index.json")
	fs.StringVar(&o.WorkDir, "workdir", "", "scratch directory (default: $TMPDIR)")
	fs.DurationVar(&o.StepTimeout, "step-timeout", stagebuild.DefaultStepTimeout, "longest time one RUN step may take (e.g. 90m, 12h)")
	fs.IntVar(&o.MaxProcesses, "max-processes", sandbox.DefaultMaxProcesses, fmt.Sprintf("most processes and threads one RUN step may have at once (at least %d)", sandbox.MinMaxProcesses))
	verbose := fs.Bool("v", false, "print every step and all RUN output")
	fs.Var(cli.NewMap(o.BuildArgs, "KEY=VALUE"), "build-arg", "KEY=VALUE build argument (repeatable)")
	fs.Var(cli.NewMap(o.Images, "REF=DIR"), "image", "REF=DIR: the image layout a COPY --from or FROM reference names (repeatable)")
	fs.Var(cli.NewMap(o.Context, "PATH=FILE"), "context", "PATH=FILE: a file of the build context (repeatable)")
	fs.Var(cli.NewMap(o.Annotations, "KEY=VALUE"), "annotation", "KEY=VALUE manifest annotation (repeatable)")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.Containerfile == "":
		return o, cli.Usagef("--containerfile is required")
	case o.Stage == "":
		return o, cli.Usagef("--stage is required")
	case o.Out == "":
		return o, cli.Usagef("--out is required")
	case o.StepTimeout <= 0:
		return o, cli.Usagef("--step-timeout %v: expected a positive duration", o.StepTimeout)
	case o.MaxProcesses < sandbox.MinMaxProcesses:
		return o, cli.Usagef("--max-processes %d: expected at least %d", o.MaxProcesses, sandbox.MinMaxProcesses)
	}
	if *verbose {
		o.Log = stderr
	}
	return o, nil
}

// checkOut accepts an output path that is missing or an empty directory
// (Bazel makes a tree artifact's directory before the action runs).
func checkOut(out string) error {
	fi, err := os.Lstat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--out %s: exists and is not a directory; expected a missing or empty directory", out)
	}
	f, err := os.Open(out)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("--out: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("--out %s: directory is not empty; expected a missing or empty directory (a failed build removes it)", out)
	}
	return nil
}
