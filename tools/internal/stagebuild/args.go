package stagebuild

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// kvFlag collects repeated KEY=VALUE flags.
type kvFlag struct {
	name string
	m    map[string]string
}

func (f *kvFlag) String() string { return "" }

func (f *kvFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("expected KEY=VALUE, got %q", v)
	}
	if _, dup := f.m[k]; dup {
		return fmt.Errorf("%s given twice", k)
	}
	f.m[k] = val
	return nil
}

// ExpandParams replaces each "@file" argument by the lines of that file,
// the form Bazel's multiline parameter files take.
func ExpandParams(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "@") {
			out = append(out, a)
			continue
		}
		data, err := os.ReadFile(a[1:])
		if err != nil {
			return nil, fmt.Errorf("reading parameter file: %w", err)
		}
		text := strings.TrimSuffix(string(data), "\n")
		if text != "" {
			out = append(out, strings.Split(text, "\n")...)
		}
	}
	return out, nil
}

// ParseArgs reads the stagex-build command line (parameter files already
// expanded) into Options.
func ParseArgs(args []string, stderr io.Writer) (Options, error) {
	o := Options{
		BuildArgs:   map[string]string{},
		Images:      map[string]string{},
		Context:     map[string]string{},
		Annotations: map[string]string{},
	}
	fs := flag.NewFlagSet("stagex-build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Containerfile, "containerfile", "", "the Containerfile")
	fs.StringVar(&o.Stage, "stage", "", "the stage to build (name or index)")
	fs.StringVar(&o.Platform, "platform", stagex.DefaultPlatform, "the target platform, os/arch[/variant]")
	fs.StringVar(&o.Base, "base", "", "OCI layout of the stage's base image (none: scratch)")
	fs.StringVar(&o.Out, "out", "", "OCI layout directory to write")
	fs.StringVar(&o.DigestOut, "digest-out", "", "file to write the manifest digest to")
	fs.StringVar(&o.ImageName, "image-name", "", "published image name, <stage>-<name>, for the annotations and index.json")
	fs.StringVar(&o.WorkDir, "workdir", "", "scratch directory (default: $TMPDIR)")
	fs.DurationVar(&o.StepTimeout, "step-timeout", DefaultStepTimeout, "longest time one RUN step may take (e.g. 90m, 12h)")
	verbose := fs.Bool("v", false, "print every step and all RUN output")
	fs.Var(&kvFlag{"build-arg", o.BuildArgs}, "build-arg", "KEY=VALUE build argument (repeatable)")
	fs.Var(&kvFlag{"image", o.Images}, "image", "REF=DIR: the image layout a COPY --from or FROM reference names (repeatable)")
	fs.Var(&kvFlag{"context", o.Context}, "context", "PATH=FILE: a file of the build context (repeatable)")
	fs.Var(&kvFlag{"annotation", o.Annotations}, "annotation", "KEY=VALUE manifest annotation (repeatable)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	switch {
	case o.Containerfile == "":
		return o, errors.New("--containerfile is required")
	case o.Stage == "":
		return o, errors.New("--stage is required")
	case o.Out == "":
		return o, errors.New("--out is required")
	case o.StepTimeout <= 0:
		return o, fmt.Errorf("--step-timeout %v: expected a positive duration", o.StepTimeout)
	}
	if *verbose {
		o.Log = stderr
	}
	return o, nil
}
