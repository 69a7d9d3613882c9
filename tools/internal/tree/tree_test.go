package tree

import (
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/testing/testfs"
)

// listFiles returns every file under root, relative and sorted.
func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

const seedToml = `[package]
name = "stage0"
version = "1.0"
platforms = ["linux/i386"]

[sources.seed]
hash = "d54a671f05531f95c98246d473d2a839b67004da73bbe22231bcd58bb2882f0c"
format = "tar.gz"
file = "seed-{version}.{format}"
mirrors = ["https://mirror.example.invalid/seed/{file}"]
`

// goodTree is a tree of two packages: a bootstrap stage with a source
// download, and a package built from it.
func goodTree() map[string]string {
	return map[string]string{
		"packages/bootstrap/stage0/Containerfile": "FROM scratch AS package\nARG VERSION\nADD fetch/seed-${VERSION}.tar.gz /seed/\nCOPY seed.hex0 /src/\n",
		"packages/bootstrap/stage0/package.toml":  seedToml,
		"packages/bootstrap/stage0/seed.hex0":     "00\n",
		"packages/core/hello/Containerfile":       "FROM stagex/bootstrap-stage0 AS build\nRUN [\"/bin/true\"]\n\nFROM scratch AS package\nCOPY --from=build /bin /bin\n",
		"packages/core/hello/package.toml":        "[package]\nname = \"hello\"\nversion = \"2.0\"\n",
		"digests/bootstrap.txt":                   "",
		"digests/core.txt":                        "",
	}
}

func TestTranslateAndWrite(t *testing.T) {
	tests := []struct {
		name         string
		drop         []string // files of goodTree to leave out
		wantUnpinned []string
		wantTests    []string // packages with a digest test
		wantFiles    []string // files written
	}{
		{
			name:      "pinned tree",
			wantTests: []string{"packages/bootstrap/stage0", "packages/core/hello"},
			wantFiles: []string{"digests/BUILD.bazel", "packages/bootstrap/stage0/BUILD.bazel", "packages/core/hello/BUILD.bazel"},
		},
		{
			name:         "no core pins",
			drop:         []string{"digests/core.txt"},
			wantUnpinned: []string{"digests/core.txt"},
			wantTests:    []string{"packages/bootstrap/stage0"},
			wantFiles:    []string{"digests/BUILD.bazel", "packages/bootstrap/stage0/BUILD.bazel", "packages/core/hello/BUILD.bazel"},
		},
		{
			name:         "no digests at all",
			drop:         []string{"digests/core.txt", "digests/bootstrap.txt"},
			wantUnpinned: []string{"digests/bootstrap.txt", "digests/core.txt"},
			wantFiles:    []string{"packages/bootstrap/stage0/BUILD.bazel", "packages/core/hello/BUILD.bazel"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := goodTree()
			for _, d := range tc.drop {
				delete(files, d)
			}
			root := testfs.WriteFiles(t, files)
			before := listFiles(t, root)
			res, err := Translate(Options{Root: root, RulesLabel: "@stagex//rules:defs.bzl", SourcesRepo: "@tree_sources"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Unpinned, tc.wantUnpinned) {
				t.Errorf("Unpinned = %q, want %q", res.Unpinned, tc.wantUnpinned)
			}
			var tested []string
			for _, p := range res.Packages {
				if len(p.Tests) > 0 {
					tested = append(tested, p.Rel)
				}
			}
			if !reflect.DeepEqual(tested, tc.wantTests) {
				t.Errorf("packages with digest tests = %q, want %q", tested, tc.wantTests)
			}
			if got := listFiles(t, root); !reflect.DeepEqual(got, before) {
				t.Fatalf("Translate changed the tree: %q -> %q", before, got)
			}
			if err := res.Write(); err != nil {
				t.Fatal(err)
			}
			var written []string
			seen := map[string]bool{}
			for _, f := range before {
				seen[f] = true
			}
			for _, f := range listFiles(t, root) {
				if !seen[f] {
					written = append(written, f)
				}
			}
			if !reflect.DeepEqual(written, tc.wantFiles) {
				t.Errorf("written = %q, want %q", written, tc.wantFiles)
			}
		})
	}
}

// TestRendered checks what the BUILD files say: the rules' load, the
// tree's own bootstrap package as base, source labels in the given hub,
// and pins in the tree's digests package.
func TestRendered(t *testing.T) {
	root := testfs.WriteFiles(t, goodTree())
	res, err := Translate(Options{Root: root, RulesLabel: "@stagex//rules:defs.bzl", SourcesRepo: "@tree_sources"})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Write(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		want []string
	}{
		{"packages/core/hello/BUILD.bazel", []string{
			Header,
			`load("@stagex//rules:defs.bzl", "stagex_digest_test", "stagex_push", "stagex_stage")`,
			`base = "//packages/bootstrap/stage0"`,
			`pins = "//digests:core.txt"`,
			`image_name = "core-hello"`,
		}},
		{"packages/bootstrap/stage0/BUILD.bazel", []string{
			`"@tree_sources//packages/bootstrap/stage0:seed-1.0.tar.gz": "fetch/seed-1.0.tar.gz"`,
			`platforms = ["linux/386"]`,
			`":seed.hex0": ""`,
		}},
		{"digests/BUILD.bazel", []string{`glob(["*.txt"])`, `visibility = ["//visibility:public"]`}},
	}
	for _, tc := range tests {
		data, err := os.ReadFile(filepath.Join(root, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(data), w) {
				t.Errorf("%s lacks %q:\n%s", tc.file, w, data)
			}
		}
	}
	idx := res.Index()
	srcs := idx["packages/bootstrap/stage0"]
	if len(idx) != 1 || len(srcs) != 1 || srcs[0].File != "seed-1.0.tar.gz" || srcs[0].URLs[0] != "https://mirror.example.invalid/seed/seed-1.0.tar.gz" {
		t.Errorf("index = %s", idx.Format())
	}
}

// TestBadTrees checks that bad input names the file and line, that every
// bad package is reported, that the others are written all the same, and
// that a bad one gets targets that fail with its error where used.
func TestBadTrees(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]string // file -> new content ("" deletes)
		failed []string          // package directories that fail
		want   []string
	}{
		{
			name: "two bad packages",
			change: map[string]string{
				"packages/bootstrap/stage0/Containerfile": "FROM scratch AS package\nFROBNICATE x\n",
				"packages/core/hello/package.toml":        "[package\n",
			},
			failed: []string{"packages/bootstrap/stage0", "packages/core/hello"},
			want:   []string{"packages/bootstrap/stage0/Containerfile:2:", "packages/core/hello/package.toml:2: invalid TOML"},
		},
		{
			name:   "missing package",
			change: map[string]string{"packages/core/hello/Containerfile": "FROM stagex/core-gone AS package\n"},
			failed: []string{"packages/core/hello"},
			want:   []string{"packages/core/hello/Containerfile:1:", "no package of this tree publishes core-gone"},
		},
		{
			name:   "a user of a bad package translates",
			change: map[string]string{"packages/bootstrap/stage0/package.toml": "[package]\nname = \"stage0\"\nbogus = 1\n"},
			failed: []string{"packages/bootstrap/stage0"},
			want:   []string{`packages/bootstrap/stage0/package.toml:3: unknown key "bogus"`},
		},
		{
			name: "cycle",
			change: map[string]string{
				"packages/bootstrap/stage0/Containerfile": "FROM stagex/core-hello AS package\n",
			},
			failed: []string{"packages/bootstrap/stage0", "packages/core/hello"},
			want:   []string{"cycle", "packages/core/hello", "packages/bootstrap/stage0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := goodTree()
			for f, c := range tc.change {
				if c == "" {
					delete(files, f)
				} else {
					files[f] = c
				}
			}
			root := testfs.WriteFiles(t, files)
			res, err := Translate(Options{Root: root, RulesLabel: "@stagex//rules:defs.bzl", SourcesRepo: "@s"})
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for rel := range res.Failed {
				failed = append(failed, rel)
			}
			sort.Strings(failed)
			if !reflect.DeepEqual(failed, tc.failed) {
				t.Errorf("failed = %q, want %q", failed, tc.failed)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Err().Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, res.Err())
				}
			}
			if err := res.Write(); err != nil {
				t.Fatal(err)
			}
			for _, rel := range []string{"packages/bootstrap/stage0", "packages/core/hello"} {
				data, err := os.ReadFile(filepath.Join(root, rel, "BUILD.bazel"))
				if err != nil {
					t.Fatal(err)
				}
				bad := res.Failed[rel] != nil
				if got := strings.Contains(string(data), "stagex_untranslated("); got != bad {
					t.Errorf("%s/BUILD.bazel has stagex_untranslated: %v, want %v:\n%s", rel, got, bad, data)
				}
				if bad && !strings.Contains(string(data), `name = "`+path.Base(rel)+`"`) {
					t.Errorf("%s/BUILD.bazel lacks the target %s:\n%s", rel, path.Base(rel), data)
				}
			}
		})
	}
	root := testfs.WriteFiles(t, map[string]string{"packages/README": "x"})
	if _, err := Translate(Options{Root: root}); err == nil || !strings.Contains(err.Error(), "no packages: expected packages/<tier>/<name>/Containerfile") {
		t.Errorf("not a tree: %v", err)
	}
}
