// Command stagex-tree-archive packs the end-to-end StageX tree
// (e2e/tree/stagex-tree-e2e) as the release archives in e2e/tree/distdir
// that e2e/consumer imports and pins by sha256, or checks them. See package
// treearchive.
//
//	stagex-tree-archive [--dir e2e/tree]           rewrite the archives whose tree changed, print their sha256
//	stagex-tree-archive [--dir e2e/tree] --check   fail when an archive is not what the tree gives
//
// --dir defaults to e2e/tree under $BUILD_WORKSPACE_DIRECTORY (set by
// `bazel run`), else under the current directory.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/testing/treearchive"
)

const usage = "usage: stagex-tree-archive [--dir e2e/tree] [--check]"

func main() {
	os.Exit(cli.Exit("stagex-tree-archive", run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("stagex-tree-archive", usage, stderr)
	dir := fs.String("dir", filepath.Join(os.Getenv("BUILD_WORKSPACE_DIRECTORY"), "e2e", "tree"), "the directory holding stagex-tree-e2e/ and distdir/")
	check := fs.Bool("check", false, "change nothing; fail when an archive is not what the tree gives")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *check {
		_, err := treearchive.Check(*dir)
		return err
	}
	res, err := treearchive.Write(*dir)
	for _, r := range res {
		fmt.Fprintf(stdout, "%s  %s\n", r.Sha256, r.Name)
		if r.Written {
			fmt.Fprintf(stderr, "stagex-tree-archive: wrote distdir/%s: put its sha256 in e2e/consumer/MODULE.bazel\n", r.Name)
		}
	}
	return err
}
