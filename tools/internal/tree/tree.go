// Package tree translates a whole StageX source tree at once, outside
// Gazelle: every packages/<tier>/<name>/ directory becomes a BUILD.bazel
// file (tools/internal/buildfile renders the same targets the Gazelle extension
// generates) and the tree's sources become an index. The stagex_tree
// module extension runs it, through tools/cmd/stagex-translate, on an
// archive of a StageX release so that other modules can build its
// packages without copying them.
//
// Translate reads everything and reports every error before Write
// changes a file.
package tree

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/atomicfile"
	"github.com/stagex/stagex-bazel/tools/internal/buildfile"
	"github.com/stagex/stagex-bazel/tools/internal/translate"
)

// Options say how to translate a tree.
type Options struct {
	// Root is the tree's directory: it holds packages/ and digests/.
	Root string
	// RulesLabel is the .bzl file the BUILD files load the rules from,
	// e.g. "@stagex//rules:defs.bzl".
	RulesLabel string
	// SourcesRepo is the hub repository of the tree's downloads, e.g.
	// "@stagex_tree_sources".
	SourcesRepo string
}

// Header starts every file Write generates.
const Header = "# Generated from the Containerfile and package.toml beside this file by\n# stagex-translate (tools/internal/tree); edits are lost on the next translation.\n\n"

// Result is a translated tree.
type Result struct {
	// Packages are the tree's packages that translate, sorted by
	// directory.
	Packages []*translate.Package
	// Failed are the package directories that do not translate, each
	// with its error (file:line: message). Every other package is
	// translated all the same; what uses a failed one fails there.
	Failed map[string]error
	// Skipped are the directories StageX's build skips: a Containerfile
	// without package.toml.
	Skipped []string
	// Unpinned lists the pin files (digests/<tier>.txt) the tree lacks:
	// the packages of those stages get no digest test.
	Unpinned []string
	opts     Options
	tree     *translate.Tree
}

// Err joins the errors of the failed packages, sorted by directory; nil
// when every package translates.
func (r *Result) Err() error {
	rels := make([]string, 0, len(r.Failed))
	for rel := range r.Failed {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	var errs []error
	for _, rel := range rels {
		errs = append(errs, r.Failed[rel])
	}
	return errors.Join(errs...)
}

// Translate reads every package of the tree and checks the package graph.
// A package that does not translate is in Failed, with its error; the
// error returned is for a directory that is not a StageX tree at all.
func Translate(opts Options) (*Result, error) {
	cfg := translate.DefaultConfig(opts.Root)
	cfg.SourcesRepo = opts.SourcesRepo
	// A tree imported whole has no toolchains registered for it: its own
	// bootstrap packages are its chain.
	cfg.BootstrapFromTree = true
	dirs, err := packageDirs(opts.Root, cfg.PackagesDir)
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s: no packages: expected %s/<tier>/<name>/Containerfile", opts.Root, cfg.PackagesDir)
	}
	res := &Result{opts: opts, Failed: map[string]error{}, tree: translate.NewTree(cfg)}
	byKey := map[string]*translate.Package{}
	for _, rel := range dirs {
		p, err := res.tree.Dir(rel)
		var skip *translate.Skipped
		switch {
		case errors.As(err, &skip):
			res.Skipped = append(res.Skipped, rel)
		case err != nil:
			res.Failed[rel] = err
		default:
			byKey[p.Rel] = p
		}
	}
	// Packages in a cycle fail; the others do not wait for them.
	for {
		cycle, err := translate.Cycle(byKey)
		if err == nil {
			break
		}
		for _, rel := range cycle {
			res.Failed[rel] = err
			delete(byKey, rel)
		}
	}
	for _, rel := range dirs {
		if p, ok := byKey[rel]; ok {
			res.Packages = append(res.Packages, p)
		}
	}
	res.dropUnpinnedTests()
	return res, nil
}

// packageDirs lists <packagesDir>/<tier>/<name> directories holding a
// Containerfile, relative to root and sorted.
func packageDirs(root, packagesDir string) ([]string, error) {
	stages, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(packagesDir)))
	if err != nil {
		return nil, fmt.Errorf("%s: not a StageX tree: %w", root, err)
	}
	var dirs []string
	for _, st := range stages {
		if !st.IsDir() {
			continue
		}
		names, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(packagesDir), st.Name()))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			rel := path.Join(packagesDir, st.Name(), n.Name())
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel), "Containerfile")); err == nil {
				dirs = append(dirs, rel)
			}
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}

// dropUnpinnedTests removes digest tests whose pin file the tree lacks.
func (r *Result) dropUnpinnedTests() {
	missing := map[string]bool{}
	for _, p := range r.Packages {
		var kept []translate.DigestTest
		for _, t := range p.Tests {
			file := pinsFile(t.Pins)
			if _, err := os.Stat(filepath.Join(r.opts.Root, filepath.FromSlash(file))); err != nil {
				missing[file] = true
				continue
			}
			kept = append(kept, t)
		}
		p.Tests = kept
	}
	for f := range missing {
		r.Unpinned = append(r.Unpinned, f)
	}
	sort.Strings(r.Unpinned)
}

// pinsFile maps "//digests:core.txt" to "digests/core.txt".
func pinsFile(label string) string {
	l := strings.TrimPrefix(label, "//")
	i := strings.LastIndex(l, ":")
	return path.Join(l[:i], l[i+1:])
}

// Index returns the sources index of the tree (as packages/sources.json
// holds it for this repository).
func (r *Result) Index() translate.Index {
	idx := translate.Index{}
	idx.Update(r.Packages, func(string) bool { return true })
	return idx
}

// Write writes a BUILD.bazel file into every package directory (replacing
// one that is there: the translation is the tree's build description) and,
// when the tree has pins, digests/BUILD.bazel, which exports them. A
// package that does not translate, or that StageX skips, gets targets
// that fail with why where they are used.
func (r *Result) Write() error {
	files := map[string][]byte{}
	for _, p := range r.Packages {
		files[path.Join(p.Rel, "BUILD.bazel")] = buildfile.Render(p, r.opts.RulesLabel, Header)
	}
	for rel, err := range r.Failed {
		files[path.Join(rel, "BUILD.bazel")] = buildfile.Untranslated(rel, r.tree.Targets(rel), err.Error(), r.opts.RulesLabel, Header)
	}
	for _, rel := range r.Skipped {
		why := (&translate.Skipped{Rel: rel}).Error()
		files[path.Join(rel, "BUILD.bazel")] = buildfile.Untranslated(rel, r.tree.Targets(rel), why, r.opts.RulesLabel, Header)
	}
	if st, err := os.Stat(filepath.Join(r.opts.Root, "digests")); err == nil && st.IsDir() {
		files["digests/BUILD.bazel"] = []byte(Header + "exports_files(\n    glob([\"*.txt\"]),\n    visibility = [\"//visibility:public\"],\n)\n")
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := atomicfile.WriteFile(filepath.Join(r.opts.Root, filepath.FromSlash(n)), files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
