package translate

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/testing/testfs"
)

// tree writes files (path -> content) under a new temporary directory.
func tree(t *testing.T, files map[string]string) string {
	return testfs.WriteFiles(t, files)
}

func pkgToml(name string) string {
	return "[package]\nname = \"" + name + "\"\nversion = \"1.2.3\"\n"
}

const makeContainerfile = `FROM stagex/core-gcc AS build
ARG VERSION
COPY --from=stagex/core-busybox . /
ADD fetch/make-${VERSION}.tar.gz .
COPY patches/ /patches/
COPY --from=stagex/core-busybox /bin/sh /bin/sh
RUN --network=none <<-EOF
	make
EOF

FROM build AS install
RUN make install

FROM scratch AS package
COPY --from=install /rootfs/ /
`

const makeToml = `[package]
name = "make"
version = "4.4"

[sources.make]
hash = "0000000000000000000000000000000000000000000000000000000000000000"
file = "make-{version}.tar.gz"
mirrors = ["https://ftp.example.org/make/{file}", "https://mirror.example.net/make/{file}"]
`

func TestDir(t *testing.T) {
	root := tree(t, map[string]string{
		"packages/core/busybox/Containerfile": "FROM scratch AS package\n",
		"packages/core/busybox/package.toml":  pkgToml("busybox"),
		"packages/core/gcc/Containerfile":     "FROM scratch AS package\n",
		"packages/core/gcc/package.toml":      pkgToml("gcc"),
		"packages/core/make/Containerfile":    makeContainerfile,
		"packages/core/make/package.toml":     makeToml,
		"packages/core/make/patches/a.patch":  "a",
		"packages/core/make/patches/b.patch":  "b",
	})
	p, err := Dir(DefaultConfig(root), "packages/core/make")
	if err != nil {
		t.Fatal(err)
	}
	if p.Key() != "core/make" || p.Rel != "packages/core/make" {
		t.Errorf("Key, Rel = %q, %q", p.Key(), p.Rel)
	}
	var names []string
	for _, tg := range p.Targets {
		names = append(names, tg.Name)
	}
	wantNames := []string{"stage_build", "stage_install", "make"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("targets = %q, want %q", names, wantNames)
	}
	build, install, pkg := p.Targets[0], p.Targets[1], p.Targets[2]
	if build.Base != "//packages/core/gcc" || build.ImageName != "" {
		t.Errorf("build: base %q image %q", build.Base, build.ImageName)
	}
	if want := map[string]string{"//packages/core/busybox": "stagex/core-busybox"}; !reflect.DeepEqual(build.Images, want) {
		t.Errorf("build images = %v, want %v", build.Images, want)
	}
	if want := map[string]string{"@stagex_sources//packages/core/make:make-4.4.tar.gz": "fetch/make-4.4.tar.gz"}; !reflect.DeepEqual(build.Sources, want) {
		t.Errorf("build sources = %v, want %v", build.Sources, want)
	}
	if want := map[string]string{":patches/a.patch": "", ":patches/b.patch": ""}; !reflect.DeepEqual(build.Context, want) {
		t.Errorf("build context = %v, want %v", build.Context, want)
	}
	if build.BuildArgs["VERSION"] != "4.4" || build.BuildArgs["SOURCE_DATE_EPOCH"] != "1" {
		t.Errorf("build args = %v", build.BuildArgs)
	}
	// install starts from build, which starts from core/gcc: the runner
	// needs gcc's image for the inherited configuration.
	if install.Base != ":stage_build" || install.Images["//packages/core/gcc"] != "stagex/core-gcc" {
		t.Errorf("install: base %q images %v", install.Base, install.Images)
	}
	if pkg.ImageName != "core-make" || pkg.Base != "" || pkg.Images[":stage_install"] != "install" {
		t.Errorf("package: %+v", pkg)
	}
	wantTests := []DigestTest{
		{Name: "make_digest_test", Image: ":make", Pins: "//digests:core.txt"},
	}
	if !reflect.DeepEqual(p.Tests, wantTests) {
		t.Errorf("tests = %+v, want %+v", p.Tests, wantTests)
	}
	wantPushes := []Push{
		{Name: "push", Image: ":make", Tags: []string{"4.4"}},
	}
	if !reflect.DeepEqual(p.Pushes, wantPushes) {
		t.Errorf("pushes = %+v, want %+v", p.Pushes, wantPushes)
	}
	wantDeps := []string{"packages/core/gcc", "packages/core/busybox"}
	var deps []string
	for _, d := range p.Deps {
		deps = append(deps, d.Key)
	}
	if !reflect.DeepEqual(deps, wantDeps) {
		t.Errorf("deps = %q, want %q", deps, wantDeps)
	}
	wantSrc := []Source{{
		File:     "make-4.4.tar.gz",
		SHA256:   strings.Repeat("0", 64),
		URLs:     []string{"https://ftp.example.org/make/make-4.4.tar.gz", "https://mirror.example.net/make/make-4.4.tar.gz"},
		FetchDir: "fetch",
	}}
	if !reflect.DeepEqual(p.Sources, wantSrc) {
		t.Errorf("sources = %+v, want %+v", p.Sources, wantSrc)
	}
}

func TestDirNoContainerfile(t *testing.T) {
	root := tree(t, map[string]string{"packages/core/x/README": "x"})
	p, err := Dir(DefaultConfig(root), "packages/core/x")
	if p != nil || err != nil {
		t.Errorf("Dir = %v, %v; want nil, nil", p, err)
	}
}

func TestDirContextDirective(t *testing.T) {
	root := tree(t, map[string]string{
		"packages/core/box/Containerfile": "FROM scratch AS package\nCOPY stagex-box /bin/stagex-box\n",
		"packages/core/box/package.toml":  pkgToml("box"),
	})
	cfg := DefaultConfig(root)
	cfg.Context = map[string]string{"stagex-box": "//tools/testing/cmd/stagex-box"}
	p, err := Dir(cfg, "packages/core/box")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"//tools/testing/cmd/stagex-box": "stagex-box"}; !reflect.DeepEqual(p.Targets[0].Context, want) {
		t.Errorf("context = %v, want %v", p.Targets[0].Context, want)
	}
}

func TestDirOtherTree(t *testing.T) {
	root := tree(t, map[string]string{
		"fixtures/packages/core/a/Containerfile": "FROM scratch AS package\nADD fetch/a.tar .\n",
		"fixtures/packages/core/a/package.toml":  pkgToml("a") + "[sources.a]\nhash = \"" + strings.Repeat("1", 64) + "\"\nfile = \"a.tar\"\n",
	})
	cfg := DefaultConfig(root)
	cfg.PackagesDir = "fixtures/packages"
	cfg.PinsPackage = "//fixtures/digests"
	p, err := Dir(cfg, "fixtures/packages/core/a")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Sources[0].FetchDir; got != "fixtures/fetch" {
		t.Errorf("FetchDir = %q, want fixtures/fetch", got)
	}
	if got := p.Tests[0].Pins; got != "//fixtures/digests:core.txt" {
		t.Errorf("Pins = %q", got)
	}
}

func TestDirErrors(t *testing.T) {
	withToml := func(cf string) map[string]string {
		return map[string]string{"packages/core/a/Containerfile": cf, "packages/core/a/package.toml": pkgToml("a")}
	}
	tests := []struct {
		name  string
		rel   string
		files map[string]string
		want  string
	}{
		{
			name:  "missing base package",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS x\nFROM stagex/core-nothere AS package\n"),
			want:  "packages/core/a/Containerfile:2: stagex/core-nothere: no package of this tree publishes core-nothere: no directory packages/core/nothere, and no package of stage core lists \"nothere\" among its subpackages",
		},
		{
			name:  "missing copy source package",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS package\nCOPY --from=stagex/user-gone / /\n"),
			want:  "packages/core/a/Containerfile:2: stagex/user-gone: no package of this tree publishes user-gone",
		},
		{
			name:  "no package.toml",
			rel:   "packages/core/a",
			files: map[string]string{"packages/core/a/Containerfile": "FROM scratch AS package\n"},
			want:  "packages/core/a: skipped: it has a Containerfile but no package.toml",
		},
		{
			name:  "unknown tier directory",
			rel:   "packages/extra/a",
			files: map[string]string{"packages/extra/a/Containerfile": "FROM scratch AS package\n", "packages/extra/a/package.toml": pkgToml("a")},
			want:  `unknown tier "extra"`,
		},
		{
			name:  "not under packages",
			rel:   "elsewhere/a",
			files: map[string]string{"elsewhere/a/Containerfile": "FROM scratch AS package\n", "elsewhere/a/package.toml": pkgToml("a")},
			want:  "must sit in packages/<tier>/<name>/",
		},
		{
			name:  "unknown fetch file",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS package\nADD fetch/other.tar.gz .\n"),
			want:  `packages/core/a/Containerfile:2: "fetch/other.tar.gz" is not a source of this package`,
		},
		{
			name:  "missing context file",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS package\nCOPY nothing.txt /\n"),
			want:  `packages/core/a/Containerfile:2: "nothing.txt" matches no file`,
		},
		{
			name:  "context outside the package",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS package\nCOPY ../b/x /\n"),
			want:  `packages/core/a/Containerfile:2: "../b/x" is outside the package directory`,
		},
		{
			name:  "no stage of a subpackage",
			rel:   "packages/core/a",
			files: map[string]string{"packages/core/a/Containerfile": "FROM scratch AS package-x\n", "packages/core/a/package.toml": pkgToml("a") + "subpackages = [\"x\", \"y\"]\n"},
			want:  `packages/core/a/Containerfile: package.toml lists subpackage "y", but this Containerfile has no stage package-y`,
		},
		{
			name:  "a plain path that matches nothing",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS package\nCOPY --from=fetch missing.tar.gz .\n"),
			want:  `packages/core/a/Containerfile:2: "missing.tar.gz" is not in the build context fetch`,
		},
		{
			name:  "two packages publish one image",
			rel:   "packages/core/b",
			files: map[string]string{"packages/core/a/Containerfile": "FROM scratch AS package-b\n", "packages/core/a/package.toml": pkgToml("a") + "subpackages = [\"b\"]\n", "packages/core/b/Containerfile": "FROM scratch\n", "packages/core/b/package.toml": pkgToml("b")},
			want:  "packages/core/b/package.toml: publishes the image core-b, which packages/core/a publishes too",
		},
		{
			name:  "invalid toml",
			rel:   "packages/core/a",
			files: map[string]string{"packages/core/a/Containerfile": "FROM scratch AS package\n", "packages/core/a/package.toml": "[package\nname = 1\n"},
			want:  "invalid TOML",
		},
		{
			name:  "unknown instruction",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS package\nFROB x\n"),
			want:  "packages/core/a/Containerfile:2:",
		},
		{
			name:  "undefined variable",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS package\nCOPY ${NOPE}/x /\n"),
			want:  `packages/core/a/Containerfile:2: "/x" is outside the package directory`,
		},
		{
			name:  "unterminated heredoc",
			rel:   "packages/core/a",
			files: withToml("FROM scratch AS package\nRUN <<EOF\necho hi\n"),
			want:  "packages/core/a/Containerfile:2:",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, tc.files)
			_, err := Dir(DefaultConfig(root), tc.rel)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Dir error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFindCycle(t *testing.T) {
	dep := func(key string, line int) Dep { return Dep{Key: key, File: "x/Containerfile", Line: line} }
	tests := []struct {
		name string
		pkgs map[string]*Package
		want string
	}{
		{
			name: "acyclic",
			pkgs: map[string]*Package{"a": {Deps: []Dep{dep("b", 1)}}, "b": {Deps: []Dep{dep("c", 1)}}, "c": {}},
		},
		{
			name: "edge to a package not translated",
			pkgs: map[string]*Package{"a": {Deps: []Dep{dep("elsewhere", 1)}}},
		},
		{
			name: "three-cycle",
			pkgs: map[string]*Package{"a": {Deps: []Dep{dep("b", 1)}}, "b": {Deps: []Dep{dep("c", 2)}}, "c": {Deps: []Dep{dep("a", 3)}}},
			want: "x/Containerfile:3: packages depend on each other in a cycle: a -> b -> c -> a",
		},
		{
			name: "self",
			pkgs: map[string]*Package{"a": {Deps: []Dep{dep("a", 7)}}},
			want: "x/Containerfile:7: packages depend on each other in a cycle: a -> a",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := FindCycle(tc.pkgs)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("FindCycle = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	old := `{"packages/core/gone": [{"file": "g", "sha256": "1", "urls": []}],
	"packages/core/kept": [{"file": "k", "sha256": "2", "urls": [], "fetch_dir": "fetch"}]}`
	idx, err := ParseIndex("sources.json", []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	idx.Update([]*Package{
		{Rel: "packages/core/new", Sources: []Source{{File: "z", SHA256: "3", FetchDir: "fetch"}, {File: "a", SHA256: "4", FetchDir: "fetch"}}},
	}, func(rel string) bool { return rel != "packages/core/gone" })
	var keys []string
	for k := range idx {
		keys = append(keys, k)
	}
	if len(idx) != 2 || idx["packages/core/kept"] == nil || idx["packages/core/new"] == nil {
		t.Fatalf("index keys = %q, want kept and new", keys)
	}
	if got := idx["packages/core/new"]; got[0].File != "a" || got[1].File != "z" || got[0].URLs == nil {
		t.Errorf("new entries = %+v, want sorted by file with non-nil URLs", got)
	}
	first := idx.Format()
	again, err := ParseIndex("sources.json", first)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Format()) != string(first) {
		t.Errorf("Format does not round-trip:\n%s\n%s", first, again.Format())
	}
	if !strings.HasSuffix(string(first), "]\n}\n") {
		t.Errorf("Format = %q, want newline-terminated JSON", first)
	}
	if _, err := ParseIndex("sources.json", []byte("{")); err == nil || !strings.Contains(err.Error(), "sources.json: not a sources index") {
		t.Errorf("ParseIndex(bad) error = %v", err)
	}
	empty, err := ParseIndex("sources.json", nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("ParseIndex(empty) = %v, %v", empty, err)
	}
}

// A package with subpackages publishes only those, each from its stage
// package-<sub>; other packages name them stagex/<tier>-<sub> and take
// their version with version_from (StageX's core/llvm and its users).
func TestDirSubpackages(t *testing.T) {
	root := tree(t, map[string]string{
		"packages/core/llvm/Containerfile": "FROM scratch AS build\nRUN make\n" +
			"FROM scratch AS package-llvm\nCOPY --from=build /a /\n" +
			"FROM scratch AS package-clang\nCOPY --from=stagex/core-llvm . /\n" +
			"FROM scratch AS package\nCOPY --from=build / /\n",
		"packages/core/llvm/package.toml": "[package]\nname = \"llvm\"\nversion = \"20.1.8\"\nsubpackages = [\"llvm\", \"clang\"]\n",
		"packages/pallet/clang/Containerfile": "FROM scratch\nCOPY --from=stagex/core-clang . /\nCOPY *.patch /p/\n" +
			"COPY --from=fetch . /distfiles/\nCOPY --from=fetch *.zip /zips/\n",
		"packages/pallet/clang/package.toml": "[package]\nname = \"clang\"\nversion_from = \"core-clang\"\n" +
			"[sources.s]\nhash = \"" + strings.Repeat("2", 64) + "\"\nfile = \"s-{version}.tar\"\nmirrors = [\"https://a/{file}\"]\n",
	})
	tr := NewTree(DefaultConfig(root))
	llvm, err := tr.Dir("packages/core/llvm")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range llvm.Targets {
		got = append(got, tg.Name+"="+tg.Stage+":"+tg.ImageName)
	}
	want := []string{"stage_build=build:", "llvm=package-llvm:core-llvm", "clang=package-clang:core-clang", "stage_package=package:"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets (name=stage:image) = %q, want %q", got, want)
	}
	// Its own subpackage is a target of the same package, not an edge.
	if clang := llvm.Targets[2]; clang.Images[":llvm"] != "stagex/core-llvm" || len(llvm.Deps) != 0 {
		t.Errorf("clang images %v, deps %v", clang.Images, llvm.Deps)
	}
	var pushes []string
	for _, ps := range llvm.Pushes {
		pushes = append(pushes, ps.Name)
	}
	if want := []string{"push", "clang.push"}; !reflect.DeepEqual(pushes, want) {
		t.Errorf("pushes = %q, want %q", pushes, want)
	}

	user, err := tr.Dir("packages/pallet/clang")
	if err != nil {
		t.Fatal(err)
	}
	pkg := user.Targets[0]
	if pkg.Name != "clang" || pkg.ImageName != "pallet-clang" || pkg.Images["//packages/core/llvm:clang"] != "stagex/core-clang" {
		t.Errorf("pallet/clang: %+v", pkg)
	}
	if pkg.BuildArgs["VERSION"] != "20.1.8" || user.Sources[0].File != "s-20.1.8.tar" {
		t.Errorf("version_from core-clang: VERSION %q, file %q", pkg.BuildArgs["VERSION"], user.Sources[0].File)
	}
	// COPY *.patch matched nothing (no error, nothing copied); the fetch
	// context is the package's sources.
	wantSrc := map[string]string{"@stagex_sources//packages/pallet/clang:s-20.1.8.tar": "fetch/s-20.1.8.tar"}
	if len(pkg.Context) != 0 || !reflect.DeepEqual(pkg.Sources, wantSrc) {
		t.Errorf("context %v, sources %v; want none and %v", pkg.Context, pkg.Sources, wantSrc)
	}
	if len(user.Deps) != 1 || user.Deps[0].Key != "packages/core/llvm" {
		t.Errorf("deps = %+v, want packages/core/llvm", user.Deps)
	}
}

// A reference to a package that does not translate still translates: the
// label names the package, which fails where it is used.
func TestDirBrokenDependency(t *testing.T) {
	root := tree(t, map[string]string{
		"packages/core/bad/Containerfile": "FROM scratch\n",
		"packages/core/bad/package.toml":  "[package]\nname = \"bad\"\nbogus = 1\n",
		"packages/core/a/Containerfile":   "FROM stagex/core-bad\n",
		"packages/core/a/package.toml":    pkgToml("a"),
	})
	tr := NewTree(DefaultConfig(root))
	p, err := tr.Dir("packages/core/a")
	if err != nil {
		t.Fatal(err)
	}
	if p.Targets[0].Base != "//packages/core/bad" {
		t.Errorf("base = %q, want //packages/core/bad", p.Targets[0].Base)
	}
	if _, err := tr.Dir("packages/core/bad"); err == nil || !strings.Contains(err.Error(), `unknown key "bogus"`) {
		t.Errorf("bad: %v", err)
	}
}

func TestDirContextWildcards(t *testing.T) {
	files := map[string]string{
		"packages/core/a/package.toml":      pkgToml("a"),
		"packages/core/a/conf.d/a.conf":     "a",
		"packages/core/a/conf.d/sub/b.conf": "b",
		"packages/core/a/confx":             "x",
		"packages/core/a/parts/p1/one":      "1",
		"packages/core/a/parts/p2":          "2",
		"packages/core/a/parts/q":           "q",
		"packages/core/a/other.txt":         "o",
	}
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"a wildcard takes the files under a directory it matches", "conf*", []string{"conf.d/a.conf", "conf.d/sub/b.conf", "confx"}},
		{"a wildcard in a subdirectory", "parts/p*", []string{"parts/p1/one", "parts/p2"}},
		{"a wildcard matching only files", "*.txt", []string{"other.txt"}},
		{"a wildcard matches whole components", "con?", nil},
		{"a directory named without a wildcard", "parts", []string{"parts/p1/one", "parts/p2", "parts/q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := maps.Clone(files)
			fs["packages/core/a/Containerfile"] = "FROM scratch AS package\nCOPY " + tc.src + " /x/\n"
			p, err := Dir(DefaultConfig(tree(t, fs)), "packages/core/a")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for label := range p.Targets[0].Context {
				got = append(got, strings.TrimPrefix(label, ":"))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("COPY %s: context %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}

// A published image of a package that lists several platforms is joined
// in an index, and its push and digest test take the index; a package
// pinned to one platform has no index.
func TestDirMultiPlatform(t *testing.T) {
	root := tree(t, map[string]string{
		"packages/user/multi/Containerfile": "FROM scratch AS package\n",
		"packages/user/multi/package.toml":  "[package]\nname = \"multi\"\nversion = \"1.0\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n",
		"packages/user/one/Containerfile":   "FROM scratch AS package\n",
		"packages/user/one/package.toml":    "[package]\nname = \"one\"\nversion = \"1.0\"\nplatforms = [\"linux/386\"]\n",
	})
	tests := []struct {
		dir         string
		wantIndexes []ImageIndex
		wantPushes  []Push
		wantTests   []DigestTest
	}{
		{
			dir:         "packages/user/multi",
			wantIndexes: []ImageIndex{{Name: "multi_index", Image: ":multi", Platforms: []string{"linux/amd64", "linux/arm64"}}},
			wantPushes:  []Push{{Name: "push", Image: ":multi_index", Tags: []string{"1.0"}}},
			wantTests:   []DigestTest{{Name: "multi_digest_test", Image: ":multi_index", Pins: "//digests:user.txt"}},
		},
		{
			dir:        "packages/user/one",
			wantPushes: []Push{{Name: "push", Image: ":one", Tags: []string{"1.0"}}},
			wantTests:  []DigestTest{{Name: "one_digest_test", Image: ":one", Pins: "//digests:user.txt"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			p, err := Dir(DefaultConfig(root), tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Indexes, tc.wantIndexes) {
				t.Errorf("indexes = %+v, want %+v", p.Indexes, tc.wantIndexes)
			}
			if !reflect.DeepEqual(p.Pushes, tc.wantPushes) {
				t.Errorf("pushes = %+v, want %+v", p.Pushes, tc.wantPushes)
			}
			if !reflect.DeepEqual(p.Tests, tc.wantTests) {
				t.Errorf("tests = %+v, want %+v", p.Tests, tc.wantTests)
			}
		})
	}
}
