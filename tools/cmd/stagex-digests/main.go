// Command stagex-digests checks built images against the digests pinned in
// digests/<tier>.txt, and re-pins them. See digests.CheckLayout and
// digests.UpdateLayouts.
//
//	stagex-digests check --pins digests/core.txt --image core-make --layout DIR
//	stagex-digests update [--root WORKSPACE] --layout core-make=DIR [--layout ...]
//	stagex-digests repin [--root WORKSPACE] [PATTERN ...]
//
// check fails when the digest of the layout's manifest differs from the pin
// or when the image has no pin. update rewrites the pins of the given images
// in WORKSPACE/digests/<tier>.txt; --root defaults to
// $BUILD_WORKSPACE_DIRECTORY, which `bazel run` sets. repin (what `bazel
// run //:update_digests` runs) builds the digest tests under the target
// patterns (default //packages/... //fixtures/packages/...) with Bazel
// ($BAZEL, else bazel) and re-pins every image in the pin file its digest
// test reads; see digests.Repin. It exits 0 when done,
// 1 when a digest differs from its pin or on an error, 2 on a wrong command
// line.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/digests"
)

const usage = `usage:
  stagex-digests check --pins FILE --image NAME --layout DIR
  stagex-digests update [--root WORKSPACE] --layout NAME=DIR [--layout NAME=DIR ...]
  stagex-digests repin [--root WORKSPACE] [PATTERN ...]`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return cli.ExitUsage
	}
	var err error
	switch args[0] {
	case "check":
		var o digests.CheckOptions
		if o, err = parseCheck(args[1:], stderr); err == nil {
			o.Out = stdout
			err = digests.CheckLayout(o)
		}
	case "update":
		var o digests.UpdateOptions
		if o, err = parseUpdate(args[1:], stderr); err == nil {
			o.Out = stdout
			err = digests.UpdateLayouts(o)
		}
	case "repin":
		var o digests.RepinOptions
		if o, err = parseRepin(args[1:], stderr); err == nil {
			o.Out, o.Log = stdout, stderr
			err = digests.Repin(o)
		}
	default:
		err = cli.Usagef("unknown subcommand %q", args[0])
	}
	return cli.Exit("stagex-digests", err, stderr)
}

// parseCheck maps the flags of check to digests.CheckOptions.
func parseCheck(args []string, stderr io.Writer) (digests.CheckOptions, error) {
	var o digests.CheckOptions
	fs := cli.NewFlagSet("stagex-digests check", usage, stderr)
	fs.StringVar(&o.Pins, "pins", "", "pin file, digests/<tier>.txt")
	fs.StringVar(&o.Image, "image", "", "image name, <tier>-<name>")
	fs.StringVar(&o.Layout, "layout", "", "OCI layout directory of the built image")
	fs.StringVar(&o.PinsOwner, "pins-owner", "", "the repository the pin file belongs to, when it is not this workspace's")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	if o.Pins == "" || o.Image == "" || o.Layout == "" {
		return o, cli.Usagef("check needs --pins, --image and --layout")
	}
	return o, nil
}

// parseUpdate maps the flags of update to digests.UpdateOptions.
func parseUpdate(args []string, stderr io.Writer) (digests.UpdateOptions, error) {
	o := digests.UpdateOptions{Layouts: map[string]string{}}
	fs := cli.NewFlagSet("stagex-digests update", usage, stderr)
	fs.StringVar(&o.Root, "root", os.Getenv("BUILD_WORKSPACE_DIRECTORY"), "workspace root holding digests/")
	fs.Var(&cli.Map{M: o.Layouts, Form: "NAME=DIR", NonEmpty: true}, "layout", "NAME=DIR: an image and its OCI layout directory (repeatable)")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	if len(o.Layouts) == 0 {
		return o, cli.Usagef("update needs at least one --layout NAME=DIR")
	}
	return o, nil
}

// parseRepin maps the flags and target patterns of repin to
// digests.RepinOptions.
func parseRepin(args []string, stderr io.Writer) (digests.RepinOptions, error) {
	var o digests.RepinOptions
	fs := cli.NewFlagSet("stagex-digests repin", usage, stderr)
	fs.StringVar(&o.Root, "root", os.Getenv("BUILD_WORKSPACE_DIRECTORY"), "workspace root: Bazel runs there, and the pin files are under it")
	patterns, err := cli.ParseArgs(fs, args)
	if err != nil {
		return o, err
	}
	for _, p := range patterns {
		if !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "@") {
			return o, cli.Usagef("target pattern %q: expected //... or @repo//... (flags go before the patterns)", p)
		}
	}
	o.Patterns = patterns
	return o, nil
}
