package tree

// Tests against StageX's real releases in ../shared/stagex-trees (beside
// the project's root): each tree translates with no error, every image its
// digests/*.txt pins has a target and a digest test, and every image is
// built the way StageX's own src/targets.py builds it with BuildKit (the
// same --target, build arguments, build contexts and platforms). For the
// last, targets.py itself runs (python3 3.11 or newer) and its Makefile
// output is read. Where the trees or python3 are missing the tests skip,
// saying why, unless STAGEX_REQUIRE_TREES=1 (CI) requires them.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/containerfile"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
	"github.com/stagex/stagex-bazel/tools/internal/translate"
)

const requireTreesEnv = "STAGEX_REQUIRE_TREES"

// skipOrFail skips the test, or fails it when CI requires the trees.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(requireTreesEnv) == "1" {
		t.Fatalf("%s=1 but %s", requireTreesEnv, msg)
	}
	t.Skip(msg)
}

// projectRoot finds the directory of go.mod above the working directory,
// through the symbolic link Bazel's runfiles make of it.
func projectRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if p, err := filepath.EvalSymlinks(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Dir(p)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// realTrees returns the release archives of ../shared/stagex-trees, each
// checked against SHA256SUMS there.
func realTrees(t *testing.T) map[string]string {
	t.Helper()
	root := projectRoot(t)
	if root == "" {
		skipOrFail(t, "no go.mod above %s: cannot find ../shared", must(os.Getwd()))
	}
	dir := filepath.Join(root, "..", "shared", "stagex-trees")
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		skipOrFail(t, "StageX's release trees are not here (%v)", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || !strings.HasSuffix(name, ".tar.gz") {
			t.Fatalf("SHA256SUMS: bad line %q", line)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sum {
			t.Fatalf("%s: sha256 %x, SHA256SUMS says %s", name, got, sum)
		}
		out[strings.TrimSuffix(name, ".tar.gz")] = filepath.Join(dir, name)
	}
	if len(out) == 0 {
		t.Fatalf("%s/SHA256SUMS names no archive", dir)
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// extract unpacks a release archive (one top directory, stripped) into a
// new temporary directory.
func extract(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		_, rel, _ := strings.Cut(h.Name, "/")
		if rel == "" || h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		p := filepath.Join(dest, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				var data []byte
				if data, err = io.ReadAll(tr); err == nil {
					err = os.WriteFile(p, data, os.FileMode(h.Mode)&0o755|0o600)
				}
			}
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				err = os.Symlink(h.Linkname, p)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dest
}

// treeFacts is one real tree, extracted and translated.
type treeFacts struct {
	root string
	res  *Result
	pkgs map[string]*translate.Package // by directory
}

func translateReal(t *testing.T, archive string) treeFacts {
	t.Helper()
	root := extract(t, archive)
	res, err := Translate(Options{Root: root, RulesLabel: "@stagex//rules:defs.bzl", SourcesRepo: "@stagex_tree_sources"})
	if err != nil {
		t.Fatal(err)
	}
	f := treeFacts{root: root, res: res, pkgs: map[string]*translate.Package{}}
	for _, p := range res.Packages {
		f.pkgs[p.Rel] = p
	}
	return f
}

// TestRealTrees: zero errors; every directory with a package.toml has its
// targets, every other one with a Containerfile is skipped; every pinned
// image has a target and a digest test against its pin file.
func TestRealTrees(t *testing.T) {
	for name, archive := range realTrees(t) {
		t.Run(name, func(t *testing.T) {
			f := translateReal(t, archive)
			if err := f.res.Err(); err != nil {
				t.Errorf("%d packages do not translate:\n%v", len(f.res.Failed), err)
			}
			dirs, err := filepath.Glob(filepath.Join(f.root, "packages", "*", "*", "Containerfile"))
			if err != nil {
				t.Fatal(err)
			}
			var wantSkipped []string
			for _, cf := range dirs {
				rel := filepath.ToSlash(must(filepath.Rel(f.root, filepath.Dir(cf))))
				if _, err := os.Stat(filepath.Join(filepath.Dir(cf), "package.toml")); err != nil {
					wantSkipped = append(wantSkipped, rel)
					continue
				}
				p := f.pkgs[rel]
				if p == nil {
					t.Errorf("%s has a package.toml but no targets", rel)
					continue
				}
				for image, target := range translate.Images(p.Spec) {
					if !slices.ContainsFunc(p.Targets, func(tg translate.Target) bool { return tg.Name == target && tg.ImageName == image }) {
						t.Errorf("%s: no target %s for image %s", rel, target, image)
					}
				}
			}
			sort.Strings(wantSkipped)
			if !slices.Equal(f.res.Skipped, wantSkipped) {
				t.Errorf("skipped %q, want %q", f.res.Skipped, wantSkipped)
			}
			t.Logf("%d packages translated, %d skipped (%s)", len(f.res.Packages), len(f.res.Skipped), strings.Join(f.res.Skipped, ", "))

			pins, err := filepath.Glob(filepath.Join(f.root, "digests", "*.txt"))
			if err != nil || len(pins) == 0 {
				t.Fatalf("no digests/*.txt (%v)", err)
			}
			n := 0
			for _, pinFile := range pins {
				stage := strings.TrimSuffix(filepath.Base(pinFile), ".txt")
				data := must(os.ReadFile(pinFile))
				for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
					_, image, ok := strings.Cut(line, " ")
					if !ok {
						t.Errorf("digests/%s.txt:%d: not <sha256> <image>: %q", stage, i+1, line)
						continue
					}
					n++
					if _, _, err := stagex.ParseImageName(image); err != nil {
						t.Errorf("digests/%s.txt:%d: StageX publishes a name our image-name rule refuses: %v", stage, i+1, err)
					}
					img, ok := f.res.tree.Image(image)
					if !ok {
						t.Errorf("digests/%s.txt:%d: no target builds %s", stage, i+1, image)
						continue
					}
					want := translate.DigestTest{Name: img.Target + "_digest_test", Image: ":" + img.Target, Pins: "//digests:" + stage + ".txt"}
					if p := f.pkgs[img.Rel]; p == nil || !slices.Contains(p.Tests, want) {
						t.Errorf("digests/%s.txt:%d: %s has no digest test %+v", stage, i+1, image, want)
					}
				}
			}
			t.Logf("%d pinned images, each with a target and a digest test", n)
		})
	}
}

// buildkitRun is what one make recipe of targets.py passes to BuildKit.
type buildkitRun struct {
	image     string
	version   string            // of --tag stagex/<image>:<version>
	target    string            // --target, "" for the last stage
	args      map[string]string // --build-arg
	contexts  map[string]string // --build-context name=source
	platform  string            // --platform
	directory string            // the context directory, packages/<tier>/<origin>
}

// frontendOnlyArgs are build arguments of targets.py that only configure
// BuildKit's Dockerfile frontend and change no image: the translation
// does not pass them. BUILDKIT_DOCKERFILE_CHECK turns the frontend's lint
// warnings into errors; the stage runner does not lint.
var frontendOnlyArgs = []string{"BUILDKIT_DOCKERFILE_CHECK"}

// runTargetsPy runs the tree's own src/targets.py, as its Makefile does
// (from the tree's root, git ls-files answered by a stand-in that lists
// nothing: the files are only make prerequisites), and reads the BuildKit
// invocation of every image from the Makefile it prints.
func runTargetsPy(t *testing.T, root string) map[string]*buildkitRun {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		skipOrFail(t, "python3 is not installed: cannot run StageX's src/targets.py")
	}
	if out, err := exec.Command(py, "-c", "import tomllib").CombinedOutput(); err != nil {
		skipOrFail(t, "%s has no tomllib (Python 3.11 or newer), which src/targets.py needs: %s", py, bytes.TrimSpace(out))
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "src/targets.py")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("src/targets.py: %v\n%s", err, stderr.Bytes())
	}
	runs := parseMakefile(t, out)
	if len(runs) == 0 {
		t.Fatalf("src/targets.py printed no build recipe")
	}
	return runs
}

// parseMakefile reads targets.py's recipes of out/<image>/index.json.
func parseMakefile(t *testing.T, mk []byte) map[string]*buildkitRun {
	runs := map[string]*buildkitRun{}
	// Join continued lines: each rule's recipe becomes one line.
	text := strings.ReplaceAll(string(mk), "\\\n", " ")
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<24)
	var cur *buildkitRun
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "out/") && strings.Contains(line, "/index.json:") {
			image := strings.TrimSuffix(strings.TrimPrefix(strings.Fields(line)[0], "out/"), "/index.json:")
			cur = &buildkitRun{image: image, args: map[string]string{}, contexts: map[string]string{}}
			runs[image] = cur
			continue
		}
		if cur == nil || !strings.HasPrefix(line, "\t") || !strings.Contains(line, " build ") {
			if !strings.HasPrefix(line, "\t") {
				cur = nil
			}
			continue
		}
		words := shellWords(t, line)
		for i := 0; i < len(words); i++ {
			w := words[i]
			next := func() string {
				i++
				if i >= len(words) {
					t.Fatalf("%s: %s without a value", cur.image, w)
				}
				return words[i]
			}
			switch {
			case w == "--tag":
				_, cur.version, _ = strings.Cut(next(), ":")
			case w == "--target":
				cur.target = next()
			case w == "--build-arg":
				k, v, _ := strings.Cut(next(), "=")
				cur.args[k] = v
			case w == "--build-context":
				k, v, _ := strings.Cut(next(), "=")
				cur.contexts[k] = v
			case strings.HasPrefix(w, "--platform="):
				cur.platform = strings.TrimPrefix(w, "--platform=")
			case w == "-f":
				cur.directory = path.Dir(next())
			}
		}
		cur = nil // the first build recipe of the rule is the one
	}
	return runs
}

// shellWords splits a recipe line into words as sh would for what
// targets.py writes: blanks separate, double quotes group.
func shellWords(t *testing.T, line string) []string {
	var out []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				out = append(out, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if inWord {
		out = append(out, w.String())
	}
	return out
}

// reachedPackages returns the StageX images stage i of cf reads, through
// its base and COPY --from, following earlier stages.
func reachedPackages(cf *containerfile.File, i int, seen map[int]bool, out map[string]bool) {
	if seen[i] {
		return
	}
	seen[i] = true
	for _, r := range cf.Stages[i].Deps() {
		switch r.Kind {
		case containerfile.PackageRef:
			out[strings.TrimPrefix(r.Raw, containerfile.PackagePrefix)] = true
		case containerfile.StageRef:
			reachedPackages(cf, r.Stage, seen, out)
		}
	}
}

// TestRealTreesAgainstTargetsPy compares, for every image of both trees,
// how the translation builds it with how StageX's targets.py has BuildKit
// build it.
func TestRealTreesAgainstTargetsPy(t *testing.T) {
	for name, archive := range realTrees(t) {
		t.Run(name, func(t *testing.T) {
			f := translateReal(t, archive)
			runs := runTargetsPy(t, f.root)
			ours := map[string]bool{}
			for _, p := range f.pkgs {
				for _, tg := range p.Targets {
					if tg.ImageName != "" {
						ours[tg.ImageName] = true
					}
				}
			}
			for image := range runs {
				if !ours[image] {
					t.Errorf("targets.py builds %s; the translation has no target for it", image)
				}
			}
			compared := 0
			for _, image := range slices.Sorted(maps.Keys(ours)) {
				run, ok := runs[image]
				if !ok {
					t.Errorf("the translation publishes %s; targets.py does not build it", image)
					continue
				}
				compareRun(t, f, image, run)
				compared++
			}
			t.Logf("%d images built as targets.py builds them", compared)
		})
	}
}

func compareRun(t *testing.T, f treeFacts, image string, run *buildkitRun) {
	t.Helper()
	img, _ := f.res.tree.Image(image)
	p := f.pkgs[img.Rel]
	var tg translate.Target
	for _, x := range p.Targets {
		if x.Name == img.Target {
			tg = x
		}
	}
	// The Containerfile and build context: the package's directory.
	if run.directory != p.Rel {
		t.Errorf("%s: targets.py builds packages from %s, we from %s", image, run.directory, p.Rel)
	}
	// --target: none builds the last stage.
	if run.target == "" {
		if last := p.Targets[len(p.Targets)-1]; last.Name != tg.Name {
			t.Errorf("%s: targets.py builds the last stage (no --target); we build stage %s, not %s", image, tg.Stage, last.Stage)
		}
	} else if run.target != tg.Stage {
		t.Errorf("%s: --target %s, we build stage %s", image, run.target, tg.Stage)
	}
	// Build arguments, every one.
	want := maps.Clone(run.args)
	for _, k := range frontendOnlyArgs {
		delete(want, k)
	}
	if !maps.Equal(tg.BuildArgs, want) {
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if got, ok := tg.BuildArgs[k]; !ok || got != want[k] {
				t.Errorf("%s: --build-arg %s=%s; we pass %q (present: %v)", image, k, want[k], got, ok)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(tg.BuildArgs)) {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: we pass %s=%s, which targets.py does not", image, k, tg.BuildArgs[k])
			}
		}
	}
	// The version it is tagged with.
	if v := p.Spec.Version; run.version != v && !(v == "" && run.version == "latest") {
		t.Errorf("%s: tagged %s, our version is %q", image, run.version, v)
	}
	// Build contexts: fetch is the package's sources; each stagex/<image>
	// the image of that name, which we build from its package.
	stage, origin := path.Base(path.Dir(p.Rel)), path.Base(p.Rel)
	if got, want := run.contexts[containerfile.FetchContext], "fetch/"+stage+"/"+origin; got != want {
		t.Errorf("%s: --build-context fetch=%s, want %s (the package's sources)", image, got, want)
	}
	data := must(os.ReadFile(filepath.Join(f.root, p.Rel, "Containerfile")))
	cf, err := containerfile.Parse(p.Rel+"/Containerfile", data, containerfile.Options{BuildArgs: tg.BuildArgs})
	if err != nil {
		t.Fatal(err)
	}
	given := map[string]bool{}
	for k, v := range run.contexts {
		dep, ok := strings.CutPrefix(k, containerfile.PackagePrefix)
		if !ok {
			if k != containerfile.FetchContext {
				t.Errorf("%s: unknown build context %s=%s", image, k, v)
			}
			continue
		}
		if v != "oci-layout://./out/"+dep {
			t.Errorf("%s: build context %s=%s, want the image built as out/%s", image, k, v, dep)
		}
		given[dep] = true
		if _, ok := f.res.tree.Image(dep); !ok {
			t.Errorf("%s: targets.py passes the image %s, which no target of ours builds", image, dep)
		}
	}
	stageIdx, ok := cf.Stage(tg.Stage)
	if !ok {
		t.Fatalf("%s: no stage %s", image, tg.Stage)
	}
	reached := map[string]bool{}
	reachedPackages(cf, stageIdx.Index, map[int]bool{}, reached)
	for dep := range reached {
		if !given[dep] {
			t.Errorf("%s: the image reads stagex/%s, which targets.py does not pass as a build context (BuildKit would pull it from a registry)", image, dep)
		}
	}
	// Platforms: package.toml's, or the Makefile's PLATFORM.
	var wantPl []string
	for _, pl := range strings.Split(run.platform, ",") {
		if pl == "$(PLATFORM)" {
			pl = stagex.DefaultPlatform
		}
		parsed, err := stagex.NormalizePlatform(pl)
		if err != nil {
			t.Fatalf("%s: --platform=%s: %v", image, run.platform, err)
		}
		wantPl = append(wantPl, parsed.String())
	}
	gotPl := tg.Platforms
	for _, pl := range gotPl {
		if !slices.Contains(stagex.Platforms, pl) {
			t.Errorf("%s: pins platform %s, which has no //platforms target (stagex.Platforms: %q)", image, pl, stagex.Platforms)
		}
	}
	if len(gotPl) == 0 {
		gotPl = []string{stagex.DefaultPlatform}
	}
	if !slices.Equal(gotPl, wantPl) {
		t.Errorf("%s: --platform=%s, we build for %q", image, run.platform, gotPl)
	}
}
