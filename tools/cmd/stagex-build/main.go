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

	"github.com/stagex/stagex-bazel/tools/internal/sandbox"
	"github.com/stagex/stagex-bazel/tools/internal/stagebuild"
)

func main() {
	sandbox.Init()
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "stagex-build:", err)
		os.Exit(1)
	}
}

// run builds the stage its command line describes.
func run(argv []string, stderr io.Writer) error {
	args, err := stagebuild.ExpandParams(argv)
	if err != nil {
		return err
	}
	o, err := stagebuild.ParseArgs(args, stderr)
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
