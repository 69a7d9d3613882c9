// Package translate turns one StageX package directory (a Containerfile and
// a package.toml) into the Bazel targets that build it: one stagex_stage per
// Containerfile stage, a digest test per published image, and the list of
// source downloads. It reads only the files of the repository it is given
// and knows nothing of Gazelle; tools/gazelle/stagex adapts it.
package translate

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/containerfile"
	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/pkgspec"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Config says where things live in the repository being translated.
type Config struct {
	// RepoRoot is the repository's directory on disk.
	RepoRoot string
	// PackagesDir is the directory of packages relative to RepoRoot,
	// normally "packages".
	PackagesDir string
	// SourcesRepo is the hub repository of downloads, normally
	// "@stagex_sources".
	SourcesRepo string
	// PinsPackage is the Bazel package holding digests/<tier>.txt,
	// normally "//digests".
	PinsPackage string
	// Context maps paths of the build context to labels of files built
	// elsewhere (the stagex_context directive), for COPY of a tool that
	// Bazel builds.
	Context map[string]string
	// BootstrapFromTree makes references to stagex/bootstrap-stageN name
	// the tree's own packages/bootstrap/stageN instead of the bootstrap
	// toolchains; a tree imported whole (no toolchains registered for it)
	// builds its chain this way.
	BootstrapFromTree bool
}

// DefaultConfig returns the layout of this repository.
func DefaultConfig(root string) Config {
	return Config{RepoRoot: root, PackagesDir: "packages", SourcesRepo: "@stagex_sources", PinsPackage: "//digests"}
}

// Package is the translation of one package directory.
type Package struct {
	Tier, Name string // from packages/<tier>/<name>
	Rel        string // the directory relative to the repository root
	Spec       *pkgspec.Package
	Targets    []Target
	Tests      []DigestTest
	// Indexes join the per-platform builds of a published image when
	// package.toml lists several platforms.
	Indexes []ImageIndex
	// Pushes make `bazel run :push` (and `:<sub>.push`) upload a
	// published image.
	Pushes  []Push
	Sources []Source
	// Deps are the other packages this one reads, with the Containerfile
	// line that names each first.
	Deps []Dep
}

// Key is "<tier>/<name>", the package's name in its tree.
func (p *Package) Key() string { return p.Tier + "/" + p.Name }

// Dep is an edge of the package graph.
type Dep struct {
	Key  string // the package directory, relative to the repository root
	File string
	Line int
}

// Target is one stagex_stage.
type Target struct {
	Name      string // target name
	Stage     string // Containerfile stage name or index
	Base      string // label, or "" for scratch
	Images    map[string]string
	Sources   map[string]string
	Context   map[string]string // label -> path in the context ("" when the label says it)
	BuildArgs map[string]string
	ImageName string // published name, "" for internal stages
	// Platforms are package.toml's platforms, normalized (os/arch); the
	// stage is built for the first one whatever platform was asked for.
	Platforms []string
}

// Push is one stagex_push.
type Push struct {
	Name, Image string
	Tags        []string
}

// ImageIndex is one stagex_image_index.
type ImageIndex struct {
	Name, Image string
	Platforms   []string
}

// DigestTest is one stagex_digest_test.
type DigestTest struct {
	Name, Image, Pins string
}

// Source is one download, as the sources index records it.
type Source struct {
	File   string   `json:"file"`
	SHA256 string   `json:"sha256"`
	URLs   []string `json:"urls"`
	// FetchDir is the directory, relative to the repository root, where a
	// pre-fetched copy may sit: fetch/ beside the tree's packages/.
	FetchDir string `json:"fetch_dir"`
}

// FetchDir is where a tree keeps pre-fetched sources: fetch/ beside its
// packages directory.
func (c Config) FetchDir() string { return path.Join(path.Dir(c.PackagesDir), "fetch") }

// ToolchainsPackage is the Bazel package of the tree's bootstrap
// toolchains: toolchains/ beside its packages directory ("//toolchains"
// for this repository, "//fixtures/toolchains" for the test fixtures).
func (c Config) ToolchainsPackage() string {
	return "//" + strings.TrimPrefix(path.Join(path.Dir(c.PackagesDir), "toolchains"), "./")
}

// bootstrapLabel returns the label through which a reference to
// stagex/bootstrap-<stage> resolves, //<tree>/toolchains:bootstrap-<stage>,
// and whether ref is such a reference. The packages of stagex.BootstrapStages
// are reached through the bootstrap toolchains rather than by their
// directory: the target platform picks the chain that provides them.
func bootstrapLabel(cfg Config, ref containerfile.Ref) (string, bool) {
	if cfg.BootstrapFromTree || ref.Kind != containerfile.PackageRef || ref.PkgTier != "bootstrap" {
		return "", false
	}
	for _, s := range stagex.BootstrapStages {
		if ref.PkgName == s {
			return cfg.ToolchainsPackage() + ":bootstrap-" + s, true
		}
	}
	return "", false
}

// StageXBuildArgs are the build arguments StageX's build passes to every
// package besides those of its package.toml (src/targets.py): the
// timestamp of everything it writes, and BuildKit's multi-platform image
// format. A stage that declares ARG SOURCE_DATE_EPOCH sees it.
var StageXBuildArgs = map[string]string{
	"SOURCE_DATE_EPOCH":       strconv.Itoa(stagex.SourceDateEpoch),
	"BUILDKIT_MULTI_PLATFORM": "1",
}

// Skipped is the error of a directory that StageX's build skips: it holds
// a Containerfile but no package.toml. It is a notice, not a failure.
type Skipped struct{ Rel string }

func (s *Skipped) Error() string {
	return fmt.Sprintf("%s: skipped: it has a Containerfile but no package.toml, and StageX's build skips such directories", s.Rel)
}

// Dir translates the package in directory rel (relative to cfg.RepoRoot).
// It returns nil, nil when rel holds no Containerfile, and a *Skipped
// error when it holds no package.toml. To translate many packages of one
// tree, make one Tree and call its Dir.
func Dir(cfg Config, rel string) (*Package, error) {
	return NewTree(cfg).Dir(rel)
}

// Dir translates the package in directory rel of the tree.
func (tr *Tree) Dir(rel string) (*Package, error) {
	cfg := tr.cfg
	dir := filepath.Join(cfg.RepoRoot, filepath.FromSlash(rel))
	cfPath := filepath.Join(dir, "Containerfile")
	cfData, err := os.ReadFile(cfPath)
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	cfName := path.Join(rel, "Containerfile")
	stage, name, err := splitPackageDir(cfg, rel)
	if err != nil {
		return nil, diag.Errorf(cfName, 0, "%v", err)
	}
	spec, err := tr.spec(rel, stage, name)
	if err != nil {
		return nil, err
	}
	if err := spec.ResolveVersion(tr.versionLookup); err != nil {
		return nil, err
	}
	tomlName := path.Join(rel, "package.toml")
	args := spec.BuildArgs()
	for k, v := range StageXBuildArgs {
		args[k] = v
	}

	opts := containerfile.Options{BuildArgs: args}
	// The platforms the package pins, normalized (i386 -> 386, ...): the
	// stagex_stage transition maps them to //platforms targets.
	var platforms []string
	for _, pl := range spec.Platforms {
		p, err := stagex.NormalizePlatform(pl)
		if err != nil {
			return nil, diag.Errorf(tomlName, 0, "%v", err)
		}
		platforms = append(platforms, p.String())
	}
	opts.TargetPlatform, _ = stagex.ParsePlatform(stagex.DefaultPlatform)
	if len(spec.Platforms) > 0 {
		opts.TargetPlatform, _ = stagex.NormalizePlatform(spec.Platforms[0])
	}
	opts.BuildPlatform = opts.TargetPlatform
	cf, err := containerfile.Parse(cfName, cfData, opts)
	if err != nil {
		return nil, err
	}

	p := &Package{Tier: stage, Name: name, Rel: rel, Spec: spec}
	published, err := publishedStages(cf, spec, cfName)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cf.Stages))
	seenName := map[string]int{}
	for i, s := range cf.Stages {
		names[i] = targetName(s, spec, published)
		if j, ok := seenName[names[i]]; ok {
			return nil, diag.Errorf(cfName, s.Line, "stage %s would be the target %q, like stage %s at line %d", stageID(s), names[i], stageID(cf.Stages[j]), cf.Stages[j].Line)
		}
		seenName[names[i]] = i
	}
	byFile := map[string]pkgspec.Source{}
	for _, s := range spec.Sources {
		byFile[s.File] = s
		p.Sources = append(p.Sources, Source{File: s.File, SHA256: s.Hash, URLs: s.Mirrors, FetchDir: cfg.FetchDir()})
	}
	files, err := contextFiles(dir)
	if err != nil {
		return nil, err
	}
	seenDep := map[string]bool{}
	addDep := func(ref containerfile.Ref, line int) (string, error) {
		label, key, err := tr.refLabel(ref, names, rel)
		if err != nil {
			return "", diag.Errorf(cfName, line, "%v", err)
		}
		if key != "" && key != rel && !seenDep[key] {
			seenDep[key] = true
			p.Deps = append(p.Deps, Dep{Key: key, File: cfName, Line: line})
		}
		return label, nil
	}

	for i, s := range cf.Stages {
		t := Target{
			Name:      names[i],
			Stage:     stageID(s),
			Images:    map[string]string{},
			Sources:   map[string]string{},
			Context:   map[string]string{},
			BuildArgs: args,
			Platforms: platforms,
		}
		if published[i] != "" {
			t.ImageName = published[i]
		}
		if s.Base.Kind != containerfile.Scratch {
			if t.Base, err = addDep(s.Base, s.Line); err != nil {
				return nil, err
			}
		}
		// The package at the start of this stage's chain of bases gives
		// the stage its inherited configuration: the runner needs it.
		for j := i; cf.Stages[j].Base.Kind == containerfile.StageRef && cf.Stages[j].Base.Stage < j; {
			j = cf.Stages[j].Base.Stage
			if b := cf.Stages[j].Base; b.Kind == containerfile.PackageRef {
				label, err := addDep(b, cf.Stages[j].Line)
				if err != nil {
					return nil, err
				}
				if _, ok := t.Images[label]; !ok {
					t.Images[label] = b.Raw
				}
			}
		}
		for _, step := range s.Steps {
			if step.Kind != "COPY" && step.Kind != "ADD" {
				continue
			}
			if step.From != nil && step.From.Kind == containerfile.ContextRef {
				// StageX's fetch context is the package's sources, the
				// files ADD fetch/<file> reads.
				for _, src := range step.Srcs {
					if err := addFetch(&t, path.Join("fetch", src), byFile, spec, cfg, p, cfName, step.Line, true); err != nil {
						return nil, err
					}
				}
				continue
			}
			if step.From != nil {
				label, err := addDep(*step.From, step.Line)
				if err != nil {
					return nil, err
				}
				if _, ok := t.Images[label]; !ok || step.From.Kind == containerfile.PackageRef {
					t.Images[label] = step.From.Raw
				}
				continue
			}
			for _, src := range step.Srcs {
				if err := addContext(&t, src, byFile, files, spec, cfg, p, cfName, step.Line); err != nil {
					return nil, err
				}
			}
		}
		p.Targets = append(p.Targets, t)
		// A multi-platform image is published as its index: the push
		// uploads the index and every platform's image, and the digest
		// test checks the index (whose pin is its first platform's
		// manifest digest, as StageX's release script reads it).
		published := ":" + t.Name
		if t.ImageName != "" && len(platforms) > 1 {
			ix := ImageIndex{Name: t.Name + "_index", Image: ":" + t.Name, Platforms: platforms}
			p.Indexes = append(p.Indexes, ix)
			published = ":" + ix.Name
		}
		if t.ImageName != "" {
			push := Push{Name: "push", Image: published}
			if t.Name != spec.Name {
				push.Name = t.Name + ".push"
			}
			if spec.Version != "" {
				push.Tags = []string{spec.Version}
			}
			p.Pushes = append(p.Pushes, push)
		}
		if t.ImageName != "" {
			p.Tests = append(p.Tests, DigestTest{
				Name:  t.Name + "_digest_test",
				Image: published,
				Pins:  fmt.Sprintf("%s:%s.txt", cfg.PinsPackage, stage),
			})
		}
	}
	return p, nil
}

// isGlob reports whether a COPY source has wildcards.
func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// addFetch maps a COPY/ADD source under fetch/ to the package's downloads.
// A pattern may match several, or none: BuildKit copies nothing then.
func addFetch(t *Target, clean string, byFile map[string]pkgspec.Source, spec *pkgspec.Package, cfg Config, p *Package, cfName string, line int, fromContext bool) error {
	clean = path.Clean(clean)
	rest := strings.TrimPrefix(strings.TrimPrefix(clean, "fetch"), "/")
	matched := false
	for _, s := range spec.Sources {
		if ok, _ := path.Match(rest, s.File); ok || rest == "" || rest == s.File {
			label := fmt.Sprintf("%s//%s:%s", cfg.SourcesRepo, p.Rel, s.File)
			t.Sources[label] = "fetch/" + s.File
			matched = true
		}
	}
	if matched || isGlob(rest) {
		return nil
	}
	if fromContext {
		return diag.Errorf(cfName, line, "%q is not in the build context fetch, the package's sources: package.toml names %s", rest, knownFiles(spec))
	}
	return diag.Errorf(cfName, line, "%q is not a source of this package: package.toml names %s", clean, knownFiles(spec))
}

// addContext maps one COPY/ADD source (without --from) to a download or to
// files of the package directory. A wildcard that matches nothing copies
// nothing, as in BuildKit (AllowEmptyWildcard); a plain path must exist.
func addContext(t *Target, src string, byFile map[string]pkgspec.Source, files []string, spec *pkgspec.Package, cfg Config, p *Package, cfName string, line int) error {
	clean := path.Clean(strings.TrimPrefix(src, "./"))
	if strings.HasPrefix(clean, "../") || clean == ".." || path.IsAbs(clean) {
		return diag.Errorf(cfName, line, "%q is outside the package directory; COPY and ADD read only the package's own files and fetch/", src)
	}
	if clean == "fetch" || strings.HasPrefix(clean, "fetch/") {
		return addFetch(t, clean, byFile, spec, cfg, p, cfName, line, false)
	}
	if label, ok := cfg.Context[clean]; ok {
		t.Context[label] = clean
		return nil
	}
	// A wildcard matches as many components as it has: a file, or a
	// directory whose files are all copied (BuildKit's matching).
	depth := strings.Count(clean, "/") + 1
	matched := false
	for _, f := range files {
		ok := clean == "." || f == clean || strings.HasPrefix(f, clean+"/")
		if parts := strings.Split(f, "/"); !ok && isGlob(clean) && len(parts) >= depth {
			ok, _ = path.Match(clean, strings.Join(parts[:depth], "/"))
		}
		if ok {
			t.Context[":"+f] = ""
			matched = true
		}
	}
	if !matched && !isGlob(clean) {
		return diag.Errorf(cfName, line, "%q matches no file in %s", src, p.Rel)
	}
	if clean == "." {
		// The whole context holds fetch/ too.
		return addFetch(t, "fetch", byFile, spec, cfg, p, cfName, line, false)
	}
	return nil
}

func knownFiles(spec *pkgspec.Package) string {
	if len(spec.Sources) == 0 {
		return "no sources"
	}
	var names []string
	for _, s := range spec.Sources {
		names = append(names, "fetch/"+s.File)
	}
	return strings.Join(names, ", ")
}

// contextFiles lists the package directory's files that COPY may read,
// relative to it, skipping what Bazel and the translation own.
func contextFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (d.Name() == "fetch" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if rel != "." {
				if _, err := os.Stat(filepath.Join(p, "BUILD.bazel")); err == nil {
					return filepath.SkipDir // another Bazel package
				}
			}
			return nil
		}
		switch d.Name() {
		case "BUILD", "BUILD.bazel", "Containerfile", "package.toml":
			if !strings.Contains(rel, "/") {
				return nil
			}
		}
		files = append(files, rel)
		return nil
	})
	sort.Strings(files)
	return files, err
}

// refLabel maps a FROM or COPY --from reference to a label, and for a
// package reference also to the directory of the package that builds it
// (rel is the referring package's).
func (tr *Tree) refLabel(ref containerfile.Ref, names []string, rel string) (label, key string, err error) {
	cfg := tr.cfg
	switch ref.Kind {
	case containerfile.StageRef:
		if ref.Stage < 0 || ref.Stage >= len(names) {
			return "", "", fmt.Errorf("stage %q does not exist", ref.Raw)
		}
		return ":" + names[ref.Stage], "", nil
	case containerfile.PackageRef:
		image := ref.PkgTier + "-" + ref.PkgName
		// A bootstrap stage comes from the target platform's chain; the
		// package, when this tree has it, is still an edge of the graph.
		if label, ok := bootstrapLabel(cfg, ref); ok {
			key := ""
			if img, ok := tr.Image(image); ok {
				key = img.Rel
			}
			return label, key, nil
		}
		img, ok := tr.Image(image)
		if !ok {
			broken, why := tr.missingImage(ref.PkgTier, ref.PkgName)
			if broken != "" {
				// The package that would build it does not translate:
				// this one still does, and fails where it uses it.
				return "//" + broken, broken, nil
			}
			return "", "", fmt.Errorf("%s: no package of this tree publishes %s: %s", ref.Raw, image, why)
		}
		if img.Rel == rel {
			return ":" + img.Target, "", nil
		}
		return img.Label(), img.Rel, nil
	default:
		return "", "", fmt.Errorf("cannot use %q here", ref.Raw)
	}
}

// publishedStages returns, per stage of cf, the image name it is published
// as, or "". As StageX's targets.py builds them: a package without
// subpackages publishes the stage BuildKit builds without --target, the
// last one, as <tier>-<name>; a package with subpackages publishes only
// those, each the stage package-<sub> (--target package-<sub>) as
// <tier>-<sub>.
func publishedStages(cf *containerfile.File, spec *pkgspec.Package, cfName string) ([]string, error) {
	out := make([]string, len(cf.Stages))
	if len(cf.Stages) == 0 {
		return nil, diag.Errorf(cfName, 0, "no stage: a Containerfile needs a FROM")
	}
	if len(spec.Subpackages) == 0 {
		out[len(out)-1] = spec.ImageName()
		return out, nil
	}
	for _, sub := range spec.Subpackages {
		s, ok := cf.Stage("package-" + sub)
		if !ok {
			return nil, diag.Errorf(cfName, 0, "package.toml lists subpackage %q, but this Containerfile has no stage package-%s to build it from", sub, sub)
		}
		out[s.Index] = spec.SubpackageImageName(sub)
	}
	return out, nil
}

// targetName names the Bazel target of a stage: the package's own name
// for the image a package without subpackages publishes (so
// //packages/core/make builds it), the subpackage's name for
// "package-<sub>", and "stage_<stage>" for the rest.
func targetName(s *containerfile.Stage, spec *pkgspec.Package, published []string) string {
	switch {
	case published[s.Index] != "" && len(spec.Subpackages) == 0:
		return spec.Name
	case published[s.Index] != "":
		return strings.TrimPrefix(s.Name, "package-")
	case s.Name != "":
		return "stage_" + sanitize(s.Name)
	default:
		return "stage_" + strconv.Itoa(s.Index)
	}
}

func stageID(s *containerfile.Stage) string {
	if s.Name != "" {
		return s.Name
	}
	return strconv.Itoa(s.Index)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// splitPackageDir checks that rel is <packages>/<tier>/<name>.
func splitPackageDir(cfg Config, rel string) (tier, name string, err error) {
	parts := strings.Split(rel, "/")
	root := strings.Split(cfg.PackagesDir, "/")
	if len(parts) != len(root)+2 || strings.Join(parts[:len(root)], "/") != cfg.PackagesDir {
		return "", "", fmt.Errorf("a Containerfile must sit in %s/<tier>/<name>/", cfg.PackagesDir)
	}
	tier, name = parts[len(root)], parts[len(root)+1]
	if stagex.IsTier(tier) {
		return tier, name, nil
	}
	return "", "", fmt.Errorf("unknown tier %q: expected one of %s", tier, strings.Join(stagex.Tiers, ", "))
}
