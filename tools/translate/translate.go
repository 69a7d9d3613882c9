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

	"github.com/stagex/stagex-bazel/tools/containerfile"
	"github.com/stagex/stagex-bazel/tools/diag"
	"github.com/stagex/stagex-bazel/tools/pkgspec"
)

// Stages of the StageX tree, in bootstrap order.
var Stages = []string{"bootstrap", "core", "pallet", "user"}

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
	// PinsPackage is the Bazel package holding digests/<stage>.txt,
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
	Stage, Name string // from packages/<stage>/<name>
	Rel         string // the directory relative to the repository root
	Spec        *pkgspec.Package
	Targets     []Target
	Tests       []DigestTest
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

// Key is "<stage>/<name>", the package's name in its tree.
func (p *Package) Key() string { return p.Stage + "/" + p.Name }

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

// --- bootstrap chain (issue 5) ---

// BootstrapStages are the packages that FROM and COPY --from reach through
// the bootstrap toolchains rather than by their directory: the target
// platform picks the chain that provides them.
var BootstrapStages = []string{"stage0", "stage1", "stage2", "stage3"}

// ToolchainsPackage is the Bazel package of the tree's bootstrap
// toolchains: toolchains/ beside its packages directory ("//toolchains"
// for this repository, "//fixtures/toolchains" for the test fixtures).
func (c Config) ToolchainsPackage() string {
	return "//" + strings.TrimPrefix(path.Join(path.Dir(c.PackagesDir), "toolchains"), "./")
}

// bootstrapLabel returns the label through which a reference to
// stagex/bootstrap-<stage> resolves, //<tree>/toolchains:bootstrap-<stage>,
// and whether ref is such a reference.
func bootstrapLabel(cfg Config, ref containerfile.Ref) (string, bool) {
	if cfg.BootstrapFromTree || ref.Kind != containerfile.PackageRef || ref.PkgStage != "bootstrap" {
		return "", false
	}
	for _, s := range BootstrapStages {
		if ref.PkgName == s {
			return cfg.ToolchainsPackage() + ":bootstrap-" + s, true
		}
	}
	return "", false
}

// --- end bootstrap chain ---

// Dir translates the package in directory rel (relative to cfg.RepoRoot).
// It returns nil, nil when rel holds no Containerfile.
func Dir(cfg Config, rel string) (*Package, error) {
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

	tomlName := path.Join(rel, "package.toml")
	tomlData, err := os.ReadFile(filepath.Join(dir, "package.toml"))
	if err != nil {
		return nil, diag.Errorf(tomlName, 0, "every package directory needs a package.toml next to its Containerfile: %v", err)
	}
	spec, err := pkgspec.Parse(tomlName, stage, name, tomlData)
	if err != nil {
		return nil, err
	}
	if err := spec.ResolveVersion(versionLookup(cfg, nil)); err != nil {
		return nil, err
	}
	args := spec.BuildArgs()

	opts := containerfile.Options{BuildArgs: args}
	// The platforms the package pins, normalized (i386 -> 386, ...): the
	// stagex_stage transition maps them to //platforms targets.
	var platforms []string
	for _, pl := range spec.Platforms {
		p, err := containerfile.ParsePlatform(pl)
		if err != nil {
			return nil, diag.Errorf(tomlName, 0, "%v", err)
		}
		platforms = append(platforms, p.String())
	}
	if len(spec.Platforms) > 0 {
		p, err := containerfile.ParsePlatform(spec.Platforms[0])
		if err != nil {
			return nil, diag.Errorf(tomlName, 0, "%v", err)
		}
		opts.TargetPlatform = p
	} else {
		opts.TargetPlatform = containerfile.Platform{OS: "linux", Arch: "amd64"}
	}
	opts.BuildPlatform = opts.TargetPlatform
	cf, err := containerfile.Parse(cfName, cfData, opts)
	if err != nil {
		return nil, err
	}

	p := &Package{Stage: stage, Name: name, Rel: rel, Spec: spec}
	published := publishedStages(spec)
	for _, stageName := range sortedKeys(published) {
		if _, ok := cf.Stage(stageName); !ok {
			return nil, diag.Errorf(cfName, 0, "package.toml publishes stage %q, which this Containerfile does not define", stageName)
		}
	}
	names := make([]string, len(cf.Stages))
	for i, s := range cf.Stages {
		names[i] = targetName(s, spec, published)
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
		label, key, err := refLabel(cfg, ref, names)
		if err != nil {
			return "", diag.Errorf(cfName, line, "%v", err)
		}
		if key != "" && !seenDep[key] {
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
		if published[s.Name] {
			t.ImageName = imageName(spec, s.Name)
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
		if t.ImageName != "" {
			push := Push{Name: "push", Image: ":" + t.Name}
			if t.Name != spec.Name {
				push.Name = t.Name + ".push"
			}
			if spec.Version != "" {
				push.Tags = []string{spec.Version}
			}
			p.Pushes = append(p.Pushes, push)
		}
		if t.ImageName != "" && len(platforms) > 1 {
			p.Indexes = append(p.Indexes, ImageIndex{Name: t.Name + "_index", Image: ":" + t.Name, Platforms: platforms})
		}
		if t.ImageName != "" {
			p.Tests = append(p.Tests, DigestTest{
				Name:  t.Name + "_digest_test",
				Image: ":" + t.Name,
				Pins:  fmt.Sprintf("%s:%s.txt", cfg.PinsPackage, stage),
			})
		}
	}
	return p, nil
}

// addContext maps one COPY/ADD source (without --from) to a download or to
// files of the package directory.
func addContext(t *Target, src string, byFile map[string]pkgspec.Source, files []string, spec *pkgspec.Package, cfg Config, p *Package, cfName string, line int) error {
	clean := path.Clean(strings.TrimPrefix(src, "./"))
	if strings.HasPrefix(clean, "../") || clean == ".." || path.IsAbs(clean) {
		return diag.Errorf(cfName, line, "%q is outside the package directory; COPY and ADD read only the package's own files and fetch/", src)
	}
	if rest, ok := strings.CutPrefix(clean, "fetch/"); ok {
		s, ok := byFile[rest]
		if !ok {
			return diag.Errorf(cfName, line, "%q is not a source of this package: package.toml names %s", src, knownFiles(spec))
		}
		label := fmt.Sprintf("%s//%s:%s", cfg.SourcesRepo, p.Rel, s.File)
		t.Sources[label] = "fetch/" + s.File
		return nil
	}
	if label, ok := cfg.Context[clean]; ok {
		t.Context[label] = clean
		return nil
	}
	matched := false
	for _, f := range files {
		if ok, _ := path.Match(clean, f); ok || clean == "." || f == clean || strings.HasPrefix(f, clean+"/") {
			t.Context[":"+f] = ""
			matched = true
		}
	}
	if !matched {
		return diag.Errorf(cfName, line, "%q matches no file in %s", src, p.Rel)
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
// package reference also to the package's directory.
func refLabel(cfg Config, ref containerfile.Ref, names []string) (label, key string, err error) {
	switch ref.Kind {
	case containerfile.StageRef:
		if ref.Stage < 0 || ref.Stage >= len(names) {
			return "", "", fmt.Errorf("stage %q does not exist", ref.Raw)
		}
		return ":" + names[ref.Stage], "", nil
	case containerfile.PackageRef:
		rel := path.Join(cfg.PackagesDir, ref.PkgStage, ref.PkgName)
		// A bootstrap stage comes from the target platform's chain; the
		// package, when this tree has it, is still an edge of the graph.
		if label, ok := bootstrapLabel(cfg, ref); ok {
			if _, err := os.Stat(filepath.Join(cfg.RepoRoot, filepath.FromSlash(rel), "Containerfile")); err != nil {
				rel = ""
			}
			return label, rel, nil
		}
		if _, err := os.Stat(filepath.Join(cfg.RepoRoot, filepath.FromSlash(rel), "Containerfile")); err != nil {
			return "", "", fmt.Errorf("%s names package %s, but %s/Containerfile does not exist", ref.Raw, ref.PkgStage+"/"+ref.PkgName, rel)
		}
		return "//" + rel, rel, nil
	default:
		return "", "", fmt.Errorf("cannot use %q here", ref.Raw)
	}
}

// publishedStages returns the stage names StageX publishes: "package" and
// "package-<subpackage>" for each subpackage, except that a subpackage
// named like the package replaces "package" (their images share a name).
func publishedStages(spec *pkgspec.Package) map[string]bool {
	out := map[string]bool{"package": true}
	for _, sub := range spec.Subpackages {
		out["package-"+sub] = true
		if sub == spec.Name {
			delete(out, "package")
		}
	}
	return out
}

// targetName names the Bazel target of a stage: the package's own name
// for the "package" stage (so //packages/core/make builds it), the
// subpackage's name for "package-<sub>", and "stage_<stage>" for the rest.
// A subpackage named like its package takes the package's target and image
// name, and the plain "package" stage then stays internal.
func targetName(s *containerfile.Stage, spec *pkgspec.Package, published map[string]bool) string {
	switch {
	case s.Name == "package" && published[s.Name]:
		return spec.Name
	case published[s.Name]:
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

// imageName is the published name of a stage's image: <stage>-<name> for
// the package, <stage>-<sub> for a subpackage (as StageX names them).
func imageName(spec *pkgspec.Package, stage string) string {
	if stage == "package" {
		return spec.ImageName()
	}
	return spec.SubpackageImageName(strings.TrimPrefix(stage, "package-"))
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

// splitPackageDir checks that rel is <packages>/<stage>/<name>.
func splitPackageDir(cfg Config, rel string) (stage, name string, err error) {
	parts := strings.Split(rel, "/")
	root := strings.Split(cfg.PackagesDir, "/")
	if len(parts) != len(root)+2 || strings.Join(parts[:len(root)], "/") != cfg.PackagesDir {
		return "", "", fmt.Errorf("a Containerfile must sit in %s/<stage>/<name>/", cfg.PackagesDir)
	}
	stage, name = parts[len(root)], parts[len(root)+1]
	for _, s := range Stages {
		if s == stage {
			return stage, name, nil
		}
	}
	return "", "", fmt.Errorf("unknown stage %q: expected one of %s", stage, strings.Join(Stages, ", "))
}

// versionLookup reads other packages' package.toml for version_from.
func versionLookup(cfg Config, seen map[string]bool) func(ref string) (*pkgspec.Package, error) {
	return func(ref string) (*pkgspec.Package, error) {
		stage, name, ok := strings.Cut(ref, "-")
		if !ok {
			return nil, fmt.Errorf("version_from %q: expected <stage>-<name>", ref)
		}
		rel := path.Join(cfg.PackagesDir, stage, name, "package.toml")
		data, err := os.ReadFile(filepath.Join(cfg.RepoRoot, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("version_from %q: %v", ref, err)
		}
		return pkgspec.Parse(rel, stage, name, data)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
