package digests

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/pinmanifest"
)

const usage = `usage:
  stagex-digests check --pins FILE --image NAME --layout DIR
  stagex-digests update [--root WORKSPACE] --layout NAME=DIR [--layout NAME=DIR ...]
  stagex-digests repin [--root WORKSPACE] [PATTERN ...]
`

// Command runs stagex-digests with args (without the program name) and
// returns its exit code: 0 done, 1 failed (a digest differs from its pin, or
// an error), 2 bad usage.
//
//	stagex-digests check --pins digests/core.txt --image core-make --layout DIR
//	stagex-digests update [--root WORKSPACE] --layout core-make=DIR [--layout ...]
//	stagex-digests repin [--root WORKSPACE] [PATTERN ...]
//
// check fails when the digest of the layout's manifest differs from the pin
// or when the image has no pin. update rewrites the pins of the given images
// in WORKSPACE/digests/<stage>.txt; --root defaults to
// $BUILD_WORKSPACE_DIRECTORY, which `bazel run` sets. repin (what `bazel
// run //:update_digests` runs) builds the digest tests' output group
// stagex_pins under the target patterns (default //packages/...
// //fixtures/packages/...) with Bazel ($BAZEL, else bazel) and re-pins
// every image in the pin file its digest test reads (package pinmanifest).
func Command(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "check":
		err = check(args[1:], stdout, stderr)
	case "update":
		err = update(args[1:], stdout, stderr)
	case "repin":
		err = repin(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "stagex-digests: unknown subcommand %q\n%s", args[0], usage)
		return 2
	}
	if err == errUsage {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "stagex-digests: %v\n", err)
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("stagex-digests "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	return fs
}

func check(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	pinsPath := fs.String("pins", "", "pin file, digests/<stage>.txt")
	image := fs.String("image", "", "image name, <stage>-<name>")
	dir := fs.String("layout", "", "OCI layout directory of the built image")
	owner := fs.String("pins-owner", "", "the repository the pin file belongs to, when it is not this workspace's")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *pinsPath == "" || *image == "" || *dir == "" {
		fs.Usage()
		return errUsage
	}
	pins, err := Load(*pinsPath)
	if err != nil {
		return err
	}
	pins.Owner = *owner
	built, err := ociimage.LayoutDigest(*dir)
	if err != nil {
		return err
	}
	if err := pins.Check(*image, built); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s matches %s\n", *image, built, *pinsPath)
	return nil
}

// layoutFlags collects repeated --layout NAME=DIR flags.
type layoutFlags map[string]string

func (l layoutFlags) String() string { return fmt.Sprint(map[string]string(l)) }

func (l layoutFlags) Set(v string) error {
	name, dir, ok := strings.Cut(v, "=")
	if !ok || name == "" || dir == "" {
		return fmt.Errorf("%q: expected NAME=DIR", v)
	}
	if _, dup := l[name]; dup {
		return fmt.Errorf("image %s given twice", name)
	}
	l[name] = dir
	return nil
}

func update(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("update", stderr)
	root := fs.String("root", os.Getenv("BUILD_WORKSPACE_DIRECTORY"), "workspace root holding digests/")
	layouts := layoutFlags{}
	fs.Var(layouts, "layout", "NAME=DIR: an image and its OCI layout directory (repeatable)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || len(layouts) == 0 {
		fs.Usage()
		return errUsage
	}
	if *root == "" {
		return fmt.Errorf("no workspace root: pass --root or run through `bazel run`")
	}
	built := map[string]string{}
	for name, dir := range layouts {
		d, err := ociimage.LayoutDigest(dir)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		built[name] = d
	}
	changes, err := Update(*root, built)
	if err != nil {
		return err
	}
	printChanges(stdout, changes)
	return nil
}

// DefaultPatterns are what repin builds when given no target pattern.
var DefaultPatterns = []string{"//packages/...", "//fixtures/packages/..."}

func repin(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("repin", stderr)
	root := fs.String("root", os.Getenv("BUILD_WORKSPACE_DIRECTORY"), "workspace root")
	if err := fs.Parse(args); err != nil {
		fs.Usage()
		return errUsage
	}
	if *root == "" {
		return fmt.Errorf("no workspace root: pass --root or run through `bazel run //:update_digests`")
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = DefaultPatterns
	}
	fmt.Fprintf(stderr, "stagex-digests: building %s\n", strings.Join(patterns, " "))
	entries, err := pinmanifest.Build(pinmanifest.Bazel(), *root, patterns, stderr)
	if err != nil {
		return err
	}
	trees, err := pinmanifest.ByTree(entries)
	if err != nil {
		return err
	}
	return repinTrees(*root, trees, stdout)
}

// repinTrees re-pins the built images of each tree (a directory of root
// holding digests/) in the pin files their digest tests read.
func repinTrees(root string, trees map[string][]pinmanifest.Entry, stdout io.Writer) error {
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
				return fmt.Errorf("%s checks %s against %s, but its pins belong in %s: an image is pinned in <tree>/digests/<stage>.txt", e.Label, e.Image, e.Pins, want)
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
		printChanges(stdout, changes)
	}
	return nil
}

func printChanges(stdout io.Writer, changes []Change) {
	for _, c := range changes {
		switch {
		case c.Old == "":
			fmt.Fprintf(stdout, "%s: pinned sha256:%s\n", c.Name, c.New)
		case c.Changed():
			fmt.Fprintf(stdout, "%s: sha256:%s -> sha256:%s\n", c.Name, c.Old, c.New)
		default:
			fmt.Fprintf(stdout, "%s: unchanged\n", c.Name)
		}
	}
}
