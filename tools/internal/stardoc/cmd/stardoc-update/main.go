// Command stardoc-update renders the API documents of the StageX rules with
// Stardoc's renderer and writes them; `bazel run //docs:update` runs it.
// See package stardoc.
//
//	stardoc-update --doc PROTO=HEADER=OUT [--doc ...]
//
// A relative OUT is taken from $BUILD_WORKSPACE_DIRECTORY when set, so that
// `bazel run` rewrites the committed documents.
package main

import (
	"io"
	"os"
	"os/exec"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/stardoc"
)

func main() {
	os.Exit(cli.Exit("stardoc-update", run(os.Args[1:], os.Stderr), os.Stderr))
}

func run(args []string, stderr io.Writer) error {
	docs, err := parse(args, stderr)
	if err != nil {
		return err
	}
	r, err := stardoc.Find(os.Getenv, exec.LookPath)
	if err != nil {
		return err
	}
	return r.Update(docs, os.Getenv("BUILD_WORKSPACE_DIRECTORY"))
}

// parse maps the command line to the documents to write.
func parse(args []string, stderr io.Writer) ([]stardoc.Doc, error) {
	fs := cli.NewFlagSet("stardoc-update", "usage: stardoc-update --doc PROTO=HEADER=OUT [--doc ...]", stderr)
	var flags cli.Strings
	fs.Var(&flags, "doc", "PROTO=HEADER=OUT: render starlark_doc_extract's binary proto PROTO with the header template HEADER into OUT (repeatable)")
	if err := cli.Parse(fs, args); err != nil {
		return nil, err
	}
	if len(flags) == 0 {
		return nil, cli.Usagef("at least one --doc is required")
	}
	docs := make([]stardoc.Doc, len(flags))
	for i, f := range flags {
		d, err := stardoc.ParseDoc(f)
		if err != nil {
			return nil, cli.Usagef("--doc %v", err)
		}
		docs[i] = d
	}
	return docs, nil
}
