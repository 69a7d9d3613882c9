// Package stagex is the Gazelle language extension of StageX: in every
// packages/<tier>/<name>/ directory it writes the stagex_stage targets
// that build the package from its Containerfile and package.toml, a digest
// test per published image, and it keeps packages/sources.json, the index
// of source downloads, up to date.
//
// One bad package never blocks the rest. Every error is printed as
// file:line: message; the packages that translate are written, a package
// that does not is left as it was (no half-written file), and Gazelle exits
// non-zero. In that case this extension writes the good packages' files
// itself and ends the run, so the other languages' files are not updated
// by it. A directory with a Containerfile and no package.toml is skipped,
// as StageX's build skips it, with a notice. A bad or skipped package that
// has no BUILD file yet (or one of nothing but such targets) gets
// stagex_untranslated targets, so that what uses it fails naming why.
package stagex

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bazelbuild/bazel-gazelle/config"
	"github.com/bazelbuild/bazel-gazelle/label"
	"github.com/bazelbuild/bazel-gazelle/language"
	"github.com/bazelbuild/bazel-gazelle/merger"
	"github.com/bazelbuild/bazel-gazelle/repo"
	"github.com/bazelbuild/bazel-gazelle/resolve"
	"github.com/bazelbuild/bazel-gazelle/rule"

	"github.com/stagex/stagex-bazel/tools/internal/atomicfile"
	"github.com/stagex/stagex-bazel/tools/internal/buildfile"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
	"github.com/stagex/stagex-bazel/tools/internal/translate"
)

const langName = "stagex"

// The load statement generated files use; -stagex_rules changes it, for a
// tree translated outside this repository.
var rulesLabel = "//rules:defs.bzl"

type lang struct {
	repoRoot string
	errs     []error          // errors of no one package (directives)
	failed   map[string]error // package directory -> why it does not translate
	pkgs     map[string]*translate.Package
	files    map[string]*genFile // package directory -> what to write
	trees    map[string]*translate.Tree
	index    string // the sources index, relative to the repository root
	noIndex  bool
	mode     string // Gazelle's -mode: fix, print or diff
}

// genFile is a package's BUILD file as Gazelle has it, and the rules
// generated for it, for writing it without Gazelle.
type genFile struct {
	file *rule.File // nil when the directory has no BUILD file yet
	path string
	gen  []*rule.Rule
}

// NewLanguage is the constructor gazelle_binary calls.
func NewLanguage() language.Language {
	return &lang{
		failed: map[string]error{},
		pkgs:   map[string]*translate.Package{},
		files:  map[string]*genFile{},
		trees:  map[string]*translate.Tree{},
		index:  "packages/sources.json",
	}
}

// tree returns the tree that directory configuration tc belongs to; trees
// are read once per run.
func (l *lang) tree(tc translate.Config) *translate.Tree {
	key := tc.RepoRoot + "\x00" + tc.PackagesDir
	tr, ok := l.trees[key]
	if !ok {
		tr = translate.NewTree(tc)
		l.trees[key] = tr
	}
	return tr.WithConfig(tc)
}

func (*lang) Name() string { return langName }

func (l *lang) RegisterFlags(fs *flag.FlagSet, cmd string, c *config.Config) {
	fs.StringVar(&rulesLabel, "stagex_rules", rulesLabel, "label of the .bzl file that defines stagex_stage and stagex_digest_test")
	fs.StringVar(&l.index, "stagex_sources_index", l.index, "path, relative to the repository root, of the sources index to keep")
	fs.BoolVar(&l.noIndex, "stagex_no_index", false, "do not write the sources index")
}

func (l *lang) CheckFlags(fs *flag.FlagSet, c *config.Config) error {
	l.repoRoot = c.RepoRoot
	l.mode = "fix"
	if m := fs.Lookup("mode"); m != nil {
		l.mode = m.Value.String()
	}
	return nil
}

// Directives:
//
//	# gazelle:stagex_packages_dir DIR   packages of this tree live in DIR/<tier>/<name>
//	# gazelle:stagex_pins LABEL         the package of the tree's pin files (//digests)
//	# gazelle:stagex_context PATH LABEL  COPY PATH reads the file LABEL builds
func (*lang) KnownDirectives() []string {
	return []string{"stagex_context", "stagex_packages_dir", "stagex_pins"}
}

func treeConfig(c *config.Config) translate.Config {
	if tc, ok := c.Exts[langName].(translate.Config); ok {
		return tc
	}
	return translate.DefaultConfig(c.RepoRoot)
}

func (l *lang) Configure(c *config.Config, rel string, f *rule.File) {
	tc := treeConfig(c)
	if f != nil {
		for _, d := range f.Directives {
			switch d.Key {
			case "stagex_packages_dir":
				tc.PackagesDir = d.Value
			case "stagex_pins":
				tc.PinsPackage = d.Value
			case "stagex_context":
				p, label, ok := strings.Cut(strings.TrimSpace(d.Value), " ")
				if !ok {
					l.errs = append(l.errs, fmt.Errorf("%s: # gazelle:stagex_context %s: expected PATH LABEL", f.Path, d.Value))
					continue
				}
				ctx := make(map[string]string, len(tc.Context)+1)
				for k, v := range tc.Context {
					ctx[k] = v
				}
				ctx[p] = strings.TrimSpace(label)
				tc.Context = ctx
			}
		}
	}
	c.Exts[langName] = tc
}

func (*lang) Kinds() map[string]rule.KindInfo {
	return map[string]rule.KindInfo{
		"stagex_stage": {
			NonEmptyAttrs: map[string]bool{"containerfile": true, "stage": true},
			MergeableAttrs: map[string]bool{
				"base": true, "build_args": true, "containerfile": true, "context": true,
				"image_name": true, "images": true, "platforms": true, "sources": true, "stage": true,
			},
		},
		"stagex_push": {
			NonEmptyAttrs:  map[string]bool{"image": true},
			MergeableAttrs: map[string]bool{"image": true, "remote_tags": true},
		},
		"stagex_image_index": {
			NonEmptyAttrs:  map[string]bool{"image": true},
			MergeableAttrs: map[string]bool{"image": true, "platforms": true},
		},
		"stagex_digest_test": {
			NonEmptyAttrs:  map[string]bool{"image": true},
			MergeableAttrs: map[string]bool{"image": true, "pins": true},
		},
		"stagex_untranslated": {
			NonEmptyAttrs:  map[string]bool{"error": true},
			MergeableAttrs: map[string]bool{"error": true, "tags": true},
		},
	}
}

func (*lang) Loads() []rule.LoadInfo {
	return []rule.LoadInfo{{
		Name:    rulesLabel,
		Symbols: buildfile.Kinds,
	}}
}

func (*lang) Fix(c *config.Config, f *rule.File) {}

func (*lang) Imports(c *config.Config, r *rule.Rule, f *rule.File) []resolve.ImportSpec {
	return nil
}

func (*lang) Embeds(r *rule.Rule, from label.Label) []label.Label { return nil }

// Resolve has nothing to do: dependencies are labels from the start.
func (*lang) Resolve(c *config.Config, ix *resolve.RuleIndex, rc *repo.RemoteCache, r *rule.Rule, imports interface{}, from label.Label) {
}

func (l *lang) GenerateRules(args language.GenerateArgs) language.GenerateResult {
	var res language.GenerateResult
	if !hasFile(args.RegularFiles, "Containerfile") {
		return res
	}
	tr := l.tree(treeConfig(args.Config))
	p, err := tr.Dir(args.Rel)
	var skip *translate.Skipped
	if errors.As(err, &skip) {
		fmt.Fprintf(os.Stderr, "gazelle: %v\n", err)
	} else if err != nil {
		l.failed[args.Rel] = err
	}
	if err != nil {
		// A file of ours other than stand-ins stays as it is.
		if !onlyUntranslated(args.File) {
			return res
		}
		gf := &genFile{file: args.File, path: filepath.Join(args.Dir, "BUILD.bazel")}
		if args.File != nil {
			gf.path = args.File.Path
		}
		gf.gen = buildfile.UntranslatedRules(tr.Targets(args.Rel), err.Error())
		l.files[args.Rel] = gf
		for _, r := range gf.gen {
			res.Gen = append(res.Gen, r)
			res.Imports = append(res.Imports, nil)
		}
		return res
	}
	if p == nil {
		return res
	}
	l.pkgs[p.Rel] = p
	generated := map[string]bool{}
	gf := &genFile{file: args.File, path: filepath.Join(args.Dir, "BUILD.bazel")}
	if args.File != nil {
		gf.path = args.File.Path
	}
	l.files[p.Rel] = gf
	for _, r := range buildfile.Rules(p) {
		generated[r.Kind()+":"+r.Name()] = true
		res.Gen = append(res.Gen, r)
		res.Imports = append(res.Imports, nil)
		gf.gen = append(gf.gen, r)
	}
	// Targets of stages that no longer exist are removed.
	if args.File != nil {
		for _, r := range args.File.Rules {
			if !isGenerated(r.Kind()) {
				continue
			}
			if !generated[r.Kind()+":"+r.Name()] {
				res.Empty = append(res.Empty, rule.NewRule(r.Kind(), r.Name()))
			}
		}
	}
	return res
}

// onlyUntranslated reports whether f is missing or holds stagex_untranslated
// stand-ins and no other rule.
func onlyUntranslated(f *rule.File) bool {
	if f == nil {
		return true
	}
	if len(f.Rules) == 0 {
		return false
	}
	for _, r := range f.Rules {
		if r.Kind() != "stagex_untranslated" {
			return false
		}
	}
	return true
}

func isGenerated(kind string) bool {
	for _, k := range buildfile.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

func hasFile(files []string, name string) bool {
	for _, f := range files {
		if f == name {
			return true
		}
	}
	return false
}

// DoneGeneratingRules runs after every directory was visited and before
// Gazelle writes any file. Without errors Gazelle goes on and writes
// everything. With errors, this writes the files of the packages that
// translate (and the sources index) itself, prints every error and ends
// the run with a non-zero status.
func (l *lang) DoneGeneratingRules() {
	// Packages in a cycle fail; the others do not wait for them.
	for {
		cycle, err := translate.Cycle(l.pkgs)
		if err == nil {
			break
		}
		for _, rel := range cycle {
			l.failed[rel] = err
			delete(l.pkgs, rel)
			delete(l.files, rel)
		}
	}
	if len(l.errs) == 0 && len(l.failed) == 0 {
		if !l.noIndex {
			if err := l.writeIndex(); err != nil {
				l.errs = append(l.errs, err)
			}
		}
		if len(l.errs) == 0 {
			return
		}
	}
	written := 0
	if l.mode == "fix" && len(l.errs) == 0 {
		var err error
		if written, err = l.writeGood(); err != nil {
			l.errs = append(l.errs, err)
		}
	}
	for _, err := range l.errs {
		fmt.Fprintln(os.Stderr, err)
	}
	rels := make([]string, 0, len(l.failed))
	for rel := range l.failed {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	printed := map[string]bool{}
	for _, rel := range rels {
		// The packages of a cycle share one error: print it once.
		if msg := l.failed[rel].Error(); !printed[msg] {
			printed[msg] = true
			fmt.Fprintln(os.Stderr, msg)
		}
	}
	switch {
	case len(l.errs) > 0:
		fmt.Fprintf(os.Stderr, "gazelle: %d error(s); no file was written\n", len(l.errs)+len(l.failed))
	case l.mode != "fix":
		fmt.Fprintf(os.Stderr, "gazelle: %d StageX package(s) do not translate\n", len(l.failed))
	default:
		fmt.Fprintf(os.Stderr, "gazelle: %d StageX package(s) do not translate (left as they were, or given targets that fail naming why); the other %d are up to date (%d file(s) written)\n", len(l.failed), len(l.pkgs), written)
	}
	os.Exit(1)
}

// writeGood writes the BUILD files of the packages that translate, as
// Gazelle would (merged into the existing file, loads fixed), and the
// sources index. It returns how many files changed.
func (l *lang) writeGood() (int, error) {
	if !l.noIndex {
		if err := l.writeIndex(); err != nil {
			return 0, err
		}
	}
	rels := make([]string, 0, len(l.files))
	for rel := range l.files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	written := 0
	for _, rel := range rels {
		gf := l.files[rel]
		f := gf.file // Gazelle has merged the generated rules into it
		if f == nil {
			f = rule.EmptyFile(gf.path, rel)
			for _, r := range gf.gen {
				r.Insert(f)
			}
		} else {
			// Gazelle merges in two phases and has run only the first:
			// that one drops plain dict attributes (build_args, images,
			// sources, context), which the second puts back from the
			// generated rules. Run the second as Gazelle would.
			merger.MergeFile(f, nil, gf.gen, merger.PostResolve, l.Kinds(), nil)
		}
		merger.FixLoads(f, l.Loads())
		data := f.Format()
		if old, err := os.ReadFile(gf.path); err == nil && bytes.Equal(old, data) {
			continue
		}
		if err := atomicfile.WriteFile(gf.path, data, 0o644); err != nil {
			return written, err
		}
		written++
	}
	return written, nil
}

// chainFile is the generated file, beside the sources index, that lists
// the bootstrap stages the tree has for the bootstrap chain in
// toolchains/BUILD.bazel: with StageX's real packages/ copied in, the
// chain grows from stage0 to stage3 by itself.
func (l *lang) chainFile() string {
	return filepath.ToSlash(filepath.Join(filepath.Dir(filepath.FromSlash(l.index)), "bootstrap.bzl"))
}

func (l *lang) writeChain() error {
	dir := filepath.ToSlash(filepath.Dir(filepath.FromSlash(l.index)))
	var b strings.Builder
	b.WriteString("\"\"\"The bootstrap stages of this tree, for the chain in toolchains/BUILD.bazel.\n\nWritten by `bazel run //:gazelle` from " + dir + "/bootstrap/stageN directories that hold a\nContainerfile and a package.toml; do not edit.\n\"\"\"\n\nBOOTSTRAP_PACKAGES = {\n")
	for _, stage := range stagex.BootstrapStages {
		rel := dir + "/bootstrap/" + stage
		_, errCf := os.Stat(filepath.Join(l.repoRoot, filepath.FromSlash(rel), "Containerfile"))
		_, errToml := os.Stat(filepath.Join(l.repoRoot, filepath.FromSlash(rel), "package.toml"))
		if errCf == nil && errToml == nil {
			fmt.Fprintf(&b, "    %q: \"//%s\",\n", stage, rel)
		}
	}
	b.WriteString("}\n")
	return l.update(l.chainFile(), []byte(b.String()))
}

// update writes data to name (relative to the repository root) when it
// differs; in diff and print modes it reports a stale file instead.
func (l *lang) update(name string, data []byte) error {
	path := filepath.Join(l.repoRoot, filepath.FromSlash(name))
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if bytes.Equal(old, data) {
		return nil
	}
	if l.mode != "fix" {
		return fmt.Errorf("%s is out of date: run `bazel run //:gazelle`", name)
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

func (l *lang) writeIndex() error {
	if err := l.writeChain(); err != nil {
		return err
	}
	path := filepath.Join(l.repoRoot, filepath.FromSlash(l.index))
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	idx, err := translate.ParseIndex(l.index, old)
	if err != nil {
		return err
	}
	pkgs := make([]*translate.Package, 0, len(l.pkgs))
	keys := make([]string, 0, len(l.pkgs))
	for k := range l.pkgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pkgs = append(pkgs, l.pkgs[k])
	}
	idx.Update(pkgs, func(rel string) bool {
		_, err := os.Stat(filepath.Join(l.repoRoot, filepath.FromSlash(rel), "Containerfile"))
		return err == nil
	})
	return l.update(l.index, idx.Format())
}
