package digests

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/pinmanifest"
)

// DefaultPatterns are what Repin builds when given no target pattern.
var DefaultPatterns = []string{"//packages/...", "//fixtures/packages/..."}

// RepinOptions say which digest tests Repin builds and re-pins.
type RepinOptions struct {
	// Root is the workspace root: Bazel runs there, and each tree's pin
	// files are under it.
	Root string
	// Patterns are the target patterns to build; empty means
	// DefaultPatterns.
	Patterns []string
	// Bazel is the Bazel program to run; empty means pinmanifest.Bazel().
	Bazel string
	// Out receives a line per image: pinned, changed or unchanged.
	Out io.Writer
	// Log receives what Bazel prints and a line saying what is built.
	Log io.Writer
}

// Repin builds the digest tests' output group stagex_pins under the target
// patterns with Bazel and re-pins every built image in the pin file its
// digest test reads (package pinmanifest), tree by tree. Pins of another
// repository are refused; nothing is written unless every image checks out.
func Repin(o RepinOptions) error {
	if o.Root == "" {
		return fmt.Errorf("no workspace root: pass --root or run through `bazel run //:update_digests`")
	}
	trees, err := pinmanifest.Trees(pinmanifest.Query{Bazel: o.Bazel, Workspace: o.Root, Patterns: o.Patterns, Defaults: DefaultPatterns, Prog: "stagex-digests", Log: o.Log})
	if err != nil {
		return err
	}
	return repinTrees(o.Root, trees, o.Out)
}

// repinTrees re-pins the built images of each tree (a directory of root
// holding digests/) in the pin files their digest tests read.
func repinTrees(root string, trees map[string][]pinmanifest.Entry, out io.Writer) error {
	names := make([]string, 0, len(trees))
	for t := range trees {
		names = append(names, t)
	}
	sort.Strings(names)
	// Every image is checked before any pin file is written.
	built := map[string]map[string]string{}
	for _, tree := range names {
		dir := filepath.Join(root, filepath.FromSlash(tree))
		digests := map[string]string{}
		from := map[string]string{}
		for _, e := range trees[tree] {
			want, err := FileFor(dir, e.Image)
			if err != nil {
				return fmt.Errorf("%s: %w", e.Label, err)
			}
			if have := filepath.Join(root, filepath.FromSlash(e.Pins)); have != want {
				return fmt.Errorf("%s checks %s against %s, but its pins belong in %s: an image is pinned in <tree>/digests/<tier>.txt", e.Label, e.Image, e.Pins, want)
			}
			d, err := ociimage.LayoutDigest(e.Layout)
			if err != nil {
				return fmt.Errorf("%s: %w", e.Label, err)
			}
			if prev, dup := digests[e.Image]; dup && prev != d {
				return fmt.Errorf("image %s is built as %s by %s and as %s by %s", e.Image, prev, from[e.Image], d, e.Label)
			}
			digests[e.Image], from[e.Image] = d, e.Label
		}
		built[tree] = digests
	}
	for _, tree := range names {
		changes, err := Update(filepath.Join(root, filepath.FromSlash(tree)), built[tree])
		if err != nil {
			return err
		}
		printChanges(out, changes)
	}
	return nil
}

// printChanges says for each change whether its image was pinned, changed
// or left as it was.
func printChanges(out io.Writer, changes []Change) {
	for _, c := range changes {
		switch {
		case c.Old == "":
			fmt.Fprintf(out, "%s: pinned sha256:%s\n", c.Name, c.New)
		case c.Changed():
			fmt.Fprintf(out, "%s: sha256:%s -> sha256:%s\n", c.Name, c.Old, c.New)
		default:
			fmt.Fprintf(out, "%s: unchanged\n", c.Name)
		}
	}
}
