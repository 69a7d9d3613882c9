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
	"flag"
	"fmt"
	"os"

	"github.com/stagex/stagex-bazel/tools/internal/tree"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "sources" && os.Args[1] != "build") {
		fmt.Fprintln(os.Stderr, "usage: stagex-translate sources|build -root DIR [-rules LABEL] [-sources-repo @NAME] [-keep-going]")
		os.Exit(2)
	}
	cmd := os.Args[1]
	fs := flag.NewFlagSet("stagex-translate "+cmd, flag.ExitOnError)
	var opts tree.Options
	fs.StringVar(&opts.Root, "root", ".", "the tree's directory (it holds packages/)")
	fs.StringVar(&opts.RulesLabel, "rules", "@stagex//rules:defs.bzl", "the .bzl file the BUILD files load the rules from")
	fs.StringVar(&opts.SourcesRepo, "sources-repo", "@stagex_sources", "the hub repository of the tree's downloads")
	keepGoing := fs.Bool("keep-going", false, "exit 0 even when packages do not translate (they are reported and fail where used)")
	fs.Parse(os.Args[2:])

	res, err := tree.Translate(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\nstagex-translate: %s is not a StageX tree; nothing was written\n", err, opts.Root)
		os.Exit(1)
	}
	if cmd == "build" {
		for _, rel := range res.Skipped {
			fmt.Fprintf(os.Stderr, "stagex-translate: %s: skipped: a Containerfile without package.toml, as StageX's build skips it\n", rel)
		}
		for _, f := range res.Unpinned {
			fmt.Fprintf(os.Stderr, "stagex-translate: %s is missing: its packages get no digest test\n", f)
		}
	}
	if err := res.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "%v\nstagex-translate: %d of %d packages do not translate; the others are translated\n", err, len(res.Failed), len(res.Failed)+len(res.Packages))
	}
	if cmd == "sources" {
		os.Stdout.Write(res.Index().Format())
	} else if err := res.Write(); err != nil {
		fmt.Fprintf(os.Stderr, "stagex-translate: %v\n", err)
		os.Exit(1)
	}
	if len(res.Failed) > 0 && !*keepGoing {
		os.Exit(1)
	}
}
