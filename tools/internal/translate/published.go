package translate

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/pkgspec"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Tree is a StageX tree being translated. It knows which package builds
// each image the tree publishes, which a reference to another package's
// image (FROM, COPY --from, version_from) needs: stagex/core-clang is
// core/llvm's subpackage clang. It reads every package.toml of the tree
// once, on first use.
type Tree struct {
	cfg Config
	*index
}

// index is what a Tree reads once.
type index struct {
	loaded bool
	dirs   map[string]*dirEntry // package directory -> its package.toml
	images map[string]Image     // "<tier>-<name>" -> where it is built
}

type dirEntry struct {
	spec *pkgspec.Package
	err  error // why spec is nil, or a second publisher of an image
}

// Image says where an image of the tree is built: the package directory
// and the target in it.
type Image struct {
	Rel, Target string
}

// Label is the image's target: //<dir> when the target is named like the
// directory, //<dir>:<target> otherwise.
func (i Image) Label() string {
	if path.Base(i.Rel) == i.Target {
		return "//" + i.Rel
	}
	return "//" + i.Rel + ":" + i.Target
}

// NewTree returns the tree that cfg describes.
func NewTree(cfg Config) *Tree { return &Tree{cfg: cfg, index: &index{}} }

// WithConfig returns the same tree, with what it has read, translated with
// cfg, which may differ from the tree's in all but RepoRoot and
// PackagesDir (a Gazelle directive can change the others per directory).
func (tr *Tree) WithConfig(cfg Config) *Tree {
	if cfg.RepoRoot != tr.cfg.RepoRoot || cfg.PackagesDir != tr.cfg.PackagesDir {
		return NewTree(cfg)
	}
	return &Tree{cfg: cfg, index: tr.index}
}

// Images returns the images that the package.toml of package directory
// rel says it publishes, image name -> target name: each subpackage, or
// else the package itself. It returns nil when package.toml cannot be
// read.
func Images(spec *pkgspec.Package) map[string]string {
	out := map[string]string{}
	if len(spec.Subpackages) == 0 {
		out[spec.ImageName()] = spec.Name
		return out
	}
	for _, sub := range spec.Subpackages {
		out[spec.SubpackageImageName(sub)] = sub
	}
	return out
}

// load reads every <packages>/<tier>/<name>/package.toml beside a
// Containerfile.
func (tr *Tree) load() {
	if tr.loaded {
		return
	}
	tr.loaded = true
	tr.dirs = map[string]*dirEntry{}
	tr.images = map[string]Image{}
	root := filepath.Join(tr.cfg.RepoRoot, filepath.FromSlash(tr.cfg.PackagesDir))
	for _, stage := range stagex.Tiers {
		names, err := os.ReadDir(filepath.Join(root, stage))
		if err != nil {
			continue
		}
		for _, n := range names {
			if !n.IsDir() {
				continue
			}
			rel := path.Join(tr.cfg.PackagesDir, stage, n.Name())
			dir := filepath.Join(root, stage, n.Name())
			if _, err := os.Stat(filepath.Join(dir, "Containerfile")); err != nil {
				continue
			}
			tr.dirs[rel] = tr.parse(rel, stage, n.Name())
		}
	}
	rels := make([]string, 0, len(tr.dirs))
	for rel := range tr.dirs {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		e := tr.dirs[rel]
		if e.spec == nil {
			continue
		}
		images := Images(e.spec)
		for _, image := range sortedImages(images) {
			if other, ok := tr.images[image]; ok {
				e.err = diag.Errorf(e.spec.Path, 0, "publishes the image %s, which %s publishes too", image, other.Rel)
				break
			}
		}
		if e.err != nil {
			continue
		}
		for image, target := range images {
			tr.images[image] = Image{Rel: rel, Target: target}
		}
	}
}

func sortedImages(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (tr *Tree) parse(rel, stage, name string) *dirEntry {
	tomlName := path.Join(rel, "package.toml")
	data, err := os.ReadFile(filepath.Join(tr.cfg.RepoRoot, filepath.FromSlash(tomlName)))
	if os.IsNotExist(err) {
		return &dirEntry{err: &Skipped{Rel: rel}}
	} else if err != nil {
		return &dirEntry{err: diag.Errorf(tomlName, 0, "%v", err)}
	}
	spec, err := pkgspec.Parse(tomlName, stage, name, data)
	if err != nil {
		return &dirEntry{err: err}
	}
	return &dirEntry{spec: spec}
}

// spec returns the package.toml of package directory rel.
func (tr *Tree) spec(rel, stage, name string) (*pkgspec.Package, error) {
	tr.load()
	e, ok := tr.dirs[rel]
	if !ok {
		e = tr.parse(rel, stage, name)
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.spec, nil
}

// Image returns where the image "<tier>-<name>" is built.
func (tr *Tree) Image(name string) (Image, bool) {
	tr.load()
	img, ok := tr.images[name]
	return img, ok
}

// Targets returns the names of the targets that other packages may use in
// package directory rel: its published images' targets as far as its
// package.toml tells, and always the one named like the directory.
func (tr *Tree) Targets(rel string) []string {
	tr.load()
	set := map[string]bool{path.Base(rel): true}
	if e, ok := tr.dirs[rel]; ok && e.spec != nil {
		for _, t := range Images(e.spec) {
			set[t] = true
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// versionLookup returns the package.toml of the package that publishes
// ref ("<tier>-<name>", as version_from names it), for ResolveVersion.
func (tr *Tree) versionLookup(ref string) (*pkgspec.Package, error) {
	if img, ok := tr.Image(ref); ok {
		return tr.dirs[img.Rel].spec, nil
	}
	stage, name, err := stagex.ParseImageName(ref)
	if err != nil {
		return nil, err
	}
	rel := path.Join(tr.cfg.PackagesDir, stage, name)
	if e, ok := tr.dirs[rel]; ok && e.err != nil {
		return nil, fmt.Errorf("%s does not translate: %v", rel, e.err)
	}
	return nil, fmt.Errorf("no package of this tree publishes %s", ref)
}

// missingImage explains why no package publishes image; broken is the
// directory named like the image when it exists but does not translate.
func (tr *Tree) missingImage(stage, name string) (broken string, why string) {
	rel := path.Join(tr.cfg.PackagesDir, stage, name)
	if e, ok := tr.dirs[rel]; ok && e.err != nil {
		return rel, e.err.Error()
	}
	var failed []string
	for r, e := range tr.dirs {
		if e.err != nil && strings.HasPrefix(r, path.Join(tr.cfg.PackagesDir, stage)+"/") {
			failed = append(failed, r)
		}
	}
	sort.Strings(failed)
	if len(failed) == 0 {
		return "", fmt.Sprintf("no directory %s, and no package of stage %s lists %q among its subpackages", rel, stage, name)
	}
	return "", fmt.Sprintf("no directory %s, and no package of stage %s lists %q among its subpackages (these do not translate and might: %s)", rel, stage, name, strings.Join(failed, ", "))
}
