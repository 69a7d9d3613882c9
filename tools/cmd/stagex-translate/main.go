// Command stagex-translate translates a whole StageX source tree (see
// tools/internal/tree); the stagex_tree module extension runs it on a release
// archive.
//
//	stagex-translate sources -root DIR
//	    prints the tree's sources index (JSON) on stdout
//	stagex-translate build -root DIR -rules LABEL -sources-repo @NAME
//	    writes a BUILD.bazel file into every package directory
//
// A package that does not translate does not stop the others: every error
// is printed as file:line: message, the package gets targets that fail
// with it where they are used, and the command exits 1 (0 with
// -keep-going). A directory StageX's build skips (a Containerfile without
// package.toml) is named on stderr and treated the same, but is no error.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/tree"
)

const usage = "usage: stagex-translate sources|build -root DIR [-rules LABEL] [-sources-repo @NAME] [-keep-going]"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || (args[0] != "sources" && args[0] != "build") {
		fmt.Fprintln(stderr, usage)
		return cli.ExitUsage
	}
	cmd := args[0]
	var opts tree.Options
	fs := cli.NewFlagSet("stagex-translate "+cmd, usage, stderr)
	fs.StringVar(&opts.Root, "root", ".", "the tree's directory (it holds packages/)")
	fs.StringVar(&opts.RulesLabel, "rules", "@stagex//rules:defs.bzl", "the .bzl file the BUILD files load the rules from")
	fs.StringVar(&opts.SourcesRepo, "sources-repo", "@stagex_sources", "the hub repository of the tree's downloads")
	keepGoing := fs.Bool("keep-going", false, "exit 0 even when packages do not translate (they are reported and fail where used)")
	if err := cli.Parse(fs, args[1:]); err != nil {
		return cli.Exit("stagex-translate", err, stderr)
	}

	res, err := tree.Translate(opts)
	if err != nil {
		fmt.Fprintf(stderr, "%v\nstagex-translate: %s is not a StageX tree; nothing was written\n", err, opts.Root)
		return cli.ExitFailed
	}
	if cmd == "build" {
		for _, rel := range res.Skipped {
			fmt.Fprintf(stderr, "stagex-translate: %s: skipped: a Containerfile without package.toml, as StageX's build skips it\n", rel)
		}
		for _, f := range res.Unpinned {
			fmt.Fprintf(stderr, "stagex-translate: %s is missing: its packages get no digest test\n", f)
		}
	}
	if err := res.Err(); err != nil {
		fmt.Fprintf(stderr, "%v\nstagex-translate: %d of %d packages do not translate; the others are translated\n", err, len(res.Failed), len(res.Failed)+len(res.Packages))
	}
	if cmd == "sources" {
		stdout.Write(res.Index().Format())
	} else if err := res.Write(); err != nil {
		return cli.Exit("stagex-translate", err, stderr)
	}
	if len(res.Failed) > 0 && !*keepGoing {
		return cli.ExitFailed
	}
	return cli.ExitOK
}
