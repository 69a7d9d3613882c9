package pkgspec

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

// FuzzParse checks that Parse never panics and that what it returns keeps
// the package's promises: a *diag.Error naming the file, or a package
// whose sources are sorted, hashed and expanded.
func FuzzParse(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.text)
	}
	for _, tc := range errorTests {
		f.Add(tc.text)
	}
	f.Add(pendingText)
	const path = "packages/core/demo/package.toml"
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(path, "core", "demo", []byte(text))
		if err != nil {
			var d *diag.Error
			if !errors.As(err, &d) || d.File != path || d.Line < 0 {
				t.Fatalf("error %q (%T) is not a *diag.Error for %s", err, err, path)
			}
			if p != nil {
				t.Fatal("package returned along with an error")
			}
			return
		}
		if p.Tier != "core" || p.Name != "demo" || p.Path != path {
			t.Fatalf("package %s/%s at %s", p.Tier, p.Name, p.Path)
		}
		if p.Version != "" && p.VersionFrom != "" {
			t.Fatal("both Version and VersionFrom set")
		}
		checkSources(t, p)
		_ = p.BuildArgs()

		// Resolving against a package with a version either works, and
		// leaves everything expanded, or fails and changes nothing.
		before := exported(p)
		before.Sources = slices.Clone(p.Sources)
		err = p.ResolveVersion(func(string) (*Package, error) {
			return &Package{Tier: "core", Name: "base", Version: "1.2.3-rc1"}, nil
		})
		if err != nil {
			if !reflect.DeepEqual(exported(p), before) {
				t.Fatalf("failed ResolveVersion (%v) changed the package", err)
			}
			return
		}
		if !p.Resolved() {
			t.Fatal("not Resolved() after ResolveVersion")
		}
		checkSources(t, p)
		for _, s := range p.Sources {
			if s.File == "" {
				t.Fatalf("source %s has no file after ResolveVersion", s.ID)
			}
		}
	})
}

// checkSources fails unless p's sources are sorted by ID with distinct
// build argument prefixes, hashed with lower-case sha256 hex, and, where
// expanded, have a plain file name and absolute mirror URLs.
func checkSources(t *testing.T, p *Package) {
	t.Helper()
	prefixes := map[string]bool{}
	for i, s := range p.Sources {
		if i > 0 && p.Sources[i-1].ID >= s.ID {
			t.Fatalf("sources not sorted: %q before %q", p.Sources[i-1].ID, s.ID)
		}
		if prefixes[argPrefix(s.ID)] {
			t.Fatalf("two sources give prefix %s", argPrefix(s.ID))
		}
		prefixes[argPrefix(s.ID)] = true
		if len(s.Hash) != 64 || strings.Trim(s.Hash, "0123456789abcdef") != "" {
			t.Fatalf("source %s hash %q", s.ID, s.Hash)
		}
		if s.File == "" {
			if p.Resolved() {
				t.Fatalf("source %s of a resolved package has no file", s.ID)
			}
			continue
		}
		if err := checkFileName(s.File); err != nil {
			t.Fatalf("source %s file %q: %v", s.ID, s.File, err)
		}
		for _, m := range s.Mirrors {
			u, err := url.Parse(m)
			if err != nil || u.Scheme == "" || u.Host == "" {
				t.Fatalf("source %s mirror %q is not absolute", s.ID, m)
			}
		}
	}
}
