package signing

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/pinmanifest"
)

// DefaultSignPatterns are what SignBuiltTrees builds when given no target
// pattern.
var DefaultSignPatterns = []string{"//packages/..."}

// SignBuiltTreesOptions say what `stagex-sign --build` (`bazel run //:sign`)
// builds and how it signs.
type SignBuiltTreesOptions struct {
	// Sign holds the key, passphrase, store, prefix, timestamp and Out of
	// every tree's SignBuilds; its PinFiles, Root, Layouts and Built must be
	// empty, as they are found from the build.
	Sign SignBuildsOptions
	// Workspace is where Bazel runs and the trees are
	// ($BUILD_WORKSPACE_DIRECTORY under `bazel run`).
	Workspace string
	// Patterns are the target patterns to build; empty means
	// DefaultSignPatterns.
	Patterns []string
	// Bazel is the Bazel program to run; empty means pinmanifest.Bazel().
	Bazel string
	// Log receives what Bazel prints, the trees signed and their failures.
	Log io.Writer
}

// SignBuiltTrees builds the digest tests' output group stagex_pins under
// the target patterns with Bazel and signs the images of each source tree
// with SignBuilds (Root the tree, a layout per image), each tree found from
// the pin file its digest test reads (package pinmanifest). Images pinned
// by another repository are refused.
func SignBuiltTrees(o SignBuiltTreesOptions) error {
	s := o.Sign
	for _, f := range []struct {
		set  bool
		flag string
	}{{len(s.PinFiles) > 0, "digests"}, {s.Root != "", "root"}, {len(s.Layouts) > 0, "layout"}, {s.Built != "", "built"}} {
		if f.set {
			return cli.Usagef("--build finds the trees and layouts itself: leave out --%s", f.flag)
		}
	}
	if o.Workspace == "" {
		return cli.Usagef("--build runs Bazel in $BUILD_WORKSPACE_DIRECTORY: run it with `bazel run //:sign -- --key FILE ... [PATTERN...]`")
	}
	if s.KeyFile == "" {
		return cli.Usagef("--key is required")
	}
	trees, err := pinmanifest.Trees(pinmanifest.Query{Bazel: o.Bazel, Workspace: o.Workspace, Patterns: o.Patterns, Defaults: DefaultSignPatterns, Prog: "stagex-sign", Log: o.Log})
	if err != nil {
		return err
	}
	return signTrees(o.Workspace, trees, s, o.Log)
}

// signTrees runs SignBuilds once per tree of workspace with base, the
// tree as Root and its layouts. A tree that fails does not stop the
// others; each failure is printed to log, and the error names the trees.
func signTrees(workspace string, trees map[string][]pinmanifest.Entry, base SignBuildsOptions, log io.Writer) error {
	names := make([]string, 0, len(trees))
	for t := range trees {
		names = append(names, t)
	}
	sort.Strings(names)
	var failed []string
	for _, tree := range names {
		fmt.Fprintf(log, "stagex-sign: images of %s/packages\n", tree)
		o := base
		o.Root = filepath.Join(workspace, filepath.FromSlash(tree))
		o.Layouts = nil
		for _, e := range trees[tree] {
			o.Layouts = append(o.Layouts, e.Image+"="+e.Layout)
		}
		if err := SignBuilds(o); err != nil {
			if len(names) == 1 {
				return err
			}
			fmt.Fprintf(log, "stagex-sign: %s: %v\n", tree, err)
			failed = append(failed, tree)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("signing failed in %d of %d trees: %s (see above)", len(failed), len(names), strings.Join(failed, ", "))
	}
	return nil
}
